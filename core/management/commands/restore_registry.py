from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restores a backup made by backup_registry into a database that exists and is empty "
        "(default: the configured one). All or nothing: a failure leaves the target unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--database-name", help="Target database on the same server (default: the configured one)")

    def handle(self, *args, path: Path, database_name=None, **options):
        if not path.exists():
            raise CommandError(f"No backup file at {path}.")
        target = database_name or connection.settings_dict["NAME"]
        try:
            restore(path, database=target)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Restored {path} into database {target}."))

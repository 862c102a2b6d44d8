from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Writes a pg_dump (custom format) of the whole registry database: data, audit trail and sequences."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="File to write, e.g. backups/registry-2026-11-24.dump")

    def handle(self, *args, path: Path, **options):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Backup written to {path} ({path.stat().st_size} bytes)."))

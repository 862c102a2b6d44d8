"""Creates a staff login with its registry role and sites.

    python manage.py registry_user alice --role clinician --site MCW
    echo "$PASSWORD" | python manage.py registry_user ivy --role investigator

The password is read from standard input when it is piped, else asked twice without echo.
"""

import getpass
import sys

import pghistory
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.choices import Role
from registry.models import Site
from registry.services import staff_user_create


class Command(BaseCommand):
    help = "Creates a registry user: clinician (with --site), investigator or admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--site", action="append", default=[], dest="sites", metavar="CODE", help="Site code; repeat for more."
        )

    def handle(self, *args, username, role, sites, **options):
        site_objects = self._sites(sites)
        if role == Role.CLINICIAN and not site_objects:
            raise CommandError("A clinician needs at least one --site CODE.")
        password = self._password()
        try:
            # The account, its role and sites are audited; a command has no logged-in user: the
            # events name the command and the server account that ran it.
            with pghistory.context(command="registry_user", os_user=getpass.getuser()):
                user = staff_user_create(username=username, password=password, role=role, sites=site_objects)
        except ValidationError as error:
            lines = [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
            raise CommandError("The user was not created.\n" + "\n".join(lines)) from None
        where = f" at {', '.join(s.code for s in site_objects)}" if site_objects else ""
        self.stdout.write(self.style.SUCCESS(f"Created {role} {user.get_username()}{where}."))

    def _sites(self, codes: list[str]) -> list[Site]:
        wanted = [code.strip().upper() for code in codes]
        found = {site.code: site for site in Site.objects.filter(code__in=wanted)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise CommandError(f"Unknown site code(s): {', '.join(unknown)}.")
        return [found[code] for code in dict.fromkeys(wanted)]

    def _password(self) -> str:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
            return password
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return password

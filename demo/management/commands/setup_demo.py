import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.clinic import CLINIC_SITE_CODE, demo_clinic_load
from demo.loader import DEMO_SITE_CODE, demo_cohort_load
from registry import services
from registry.choices import Role
from registry.models import Patient, Site

ACCOUNTS_FILE = settings.LOCAL_DIR / "demo-accounts.txt"
DEMO_ACCOUNTS = [
    ("demo-clinician", Role.CLINICIAN),
    ("demo-investigator", Role.INVESTIGATOR),
    ("demo-admin", Role.ADMIN),
]


class Command(BaseCommand):
    help = (
        "On a new, empty registry: loads the demo cohort and the demo clinic and creates one demo account per role, "
        "printing their passwords (also kept in .local/demo-accounts.txt). Does nothing on a registry in use."
    )

    def handle(self, *args, **options):
        if Patient.objects.exists() or get_user_model().objects.exists():
            self.stdout.write("Existing registry: nothing seeded.")
            if ACCOUNTS_FILE.exists():
                self.stdout.write(f"Demo accounts created earlier are listed in {ACCOUNTS_FILE}.")
            return
        demo_cohort_load()
        demo_clinic_load()
        sites = [Site.objects.get(code=DEMO_SITE_CODE), Site.objects.get(code=CLINIC_SITE_CODE)]
        lines = []
        for username, role in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(12)
            services.staff_user_create(
                username=username, password=password, role=role, sites=sites if role == Role.CLINICIAN else []
            )
            lines.append(f"{role:<13} {username:<18} {password}")
        ACCOUNTS_FILE.parent.mkdir(exist_ok=True)
        ACCOUNTS_FILE.write_text("\n".join(lines) + "\n")
        ACCOUNTS_FILE.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                "New registry: loaded the synthetic demo cohort (30 patients at site DEMO, reproducing the "
                "study: see its figures at /dashboard/?site=DEMO) and the demo clinic (8 recent patients at "
                "site DEMO-CLINIC with visits due and overdue today, on the worklist)."
            )
        )
        self.stdout.write("Demo accounts (role, username, password); also in .local/demo-accounts.txt:")
        for line in lines:
            self.stdout.write(f"  {line}")

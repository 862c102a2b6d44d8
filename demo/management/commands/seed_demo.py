from django.core.management.base import BaseCommand, CommandError

from demo.clinic import CLINIC_SITE_CODE, demo_clinic_load
from demo.loader import DEMO_SITE_CODE, RealPatientsPresent, demo_cohort_load


class Command(BaseCommand):
    help = (
        "Loads the synthetic demo cohort of 30 patients (site DEMO) that reproduces the study "
        "of Cox et al. 2025. Idempotent. Refuses a registry with real patients unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even if the registry holds real patients.")
        parser.add_argument(
            "--clinic",
            action="store_true",
            help=f"Also load the demo clinic (site {CLINIC_SITE_CODE}): recent patients with visits due today.",
        )

    def handle(self, *args, force=False, clinic=False, **options):
        try:
            added = demo_cohort_load(force=force)
        except RealPatientsPresent as exc:
            raise CommandError(str(exc)) from None
        if added:
            self.stdout.write(self.style.SUCCESS(f"Loaded {added} synthetic demo patients at site {DEMO_SITE_CODE}."))
        else:
            self.stdout.write(f"The demo cohort is already loaded (site {DEMO_SITE_CODE}); nothing to do.")
        if clinic:
            added = demo_clinic_load()
            self.stdout.write(
                f"Loaded {added} recent synthetic patients at site {CLINIC_SITE_CODE}."
                if added
                else f"The demo clinic is already loaded (site {CLINIC_SITE_CODE})."
            )

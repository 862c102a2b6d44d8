from django.core.management.base import BaseCommand, CommandError

from demo.loader import DEMO_SITE_CODE, RealPatientsPresent, demo_cohort_load


class Command(BaseCommand):
    help = (
        "Loads the synthetic demo cohort of 30 patients (site DEMO) that reproduces the study "
        "of Cox et al. 2025. Idempotent. Refuses a registry with real patients unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even if the registry holds real patients.")

    def handle(self, *args, force=False, **options):
        try:
            added = demo_cohort_load(force=force)
        except RealPatientsPresent as exc:
            raise CommandError(str(exc)) from None
        if added:
            self.stdout.write(self.style.SUCCESS(f"Loaded {added} synthetic demo patients at site {DEMO_SITE_CODE}."))
        else:
            self.stdout.write(f"The demo cohort is already loaded (site {DEMO_SITE_CODE}); nothing to do.")

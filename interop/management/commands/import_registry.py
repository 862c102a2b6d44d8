import os
import sys
import zipfile

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from interop.importer import import_registry
from interop.workbook import SHEETS


class Command(BaseCommand):
    help = (
        "Imports a registry workbook (the file of /api/exports/registry.xlsx) or the identified encounter "
        "layout (the columns of /api/exports/encounters.csv, as .csv or .xlsx), all or nothing, through the "
        "services: records are matched by site + MRN, procedure date + treatment, visit date + kind; "
        "every change is audited with the reason 'import <file name>'. --dry-run reports what would be "
        "created, updated or left unchanged and every bad row, and writes nothing. A file with a bad row "
        "is refused (exit code 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The workbook (.xlsx) or the encounter layout (.csv or .xlsx).")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument("--site", help="Import only rows of this site (rows with an empty site get it).")
        parser.add_argument(
            "--errors-csv",
            metavar="PATH",
            help="Also write the bad rows to this CSV file (line, sheet, field, message); header only when none.",
        )

    def handle(self, *args, file, dry_run=False, site=None, errors_csv=None, **options):
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        bar = None

        def progress_factory(total):
            nonlocal bar
            if not sys.stderr.isatty():
                return None
            bar = tqdm(total=total, unit="rows", file=sys.stderr, desc=os.path.basename(file))
            return bar.update

        try:
            report = import_registry(file, dry_run=dry_run, site_code=site, progress_factory=progress_factory)
        except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file} is not a readable .xlsx or .csv file ({type(exc).__name__}).") from None
        finally:
            if bar is not None:
                bar.close()
        if errors_csv:
            with open(errors_csv, "w", newline="", encoding="utf-8") as csv_file:
                report.write_errors_csv(csv_file)
        verb = "would be" if dry_run or report.errors else "were"
        self.stdout.write(f"{report.file_name}: {'dry run' if dry_run else 'import'}")
        for sheet in SHEETS:
            counts = report.counts[sheet]
            self.stdout.write(
                f"  {sheet}: {counts['created']} {verb} created, {counts['updated']} {verb} updated, "
                f"{counts['unchanged']} unchanged"
            )
        if report.errors:
            self.stdout.write(f"{len(report.errors)} errors:")
            for error in report.errors:
                self.stdout.write(f"  {error}")
            raise CommandError(f"The file has {len(report.errors)} errors; nothing was imported.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))

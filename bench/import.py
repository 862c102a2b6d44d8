"""Times ``import_registry`` on the registry workbook of a benchmark database (never a real one).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import .venv/bin/python bench/generate.py 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import .venv/bin/python bench/import.py

Exports the database's registry workbook (every record, as an admin downloads it), empties the
clinical tables (the sites stay), then imports the file through the importer as the command does:
a dry run, the real run into the empty registry (every new record created through the bulk
services, ``registry.bulk`` and ``outcomes.bulk``, audited), and the same file again (every row
unchanged). Prints each run's wall-clock time, rows per second and the process's peak resident
memory. The imported registry stays in place, so the next run exports it again.

The peak is the whole process's (export and earlier runs included): to measure one run alone, run
it in its own process on a saved file, e.g. ``--file registry.xlsx --runs import`` (empties the
registry first) or ``--file registry.xlsx --runs again`` (the registry as it is). ``--save PATH``
keeps the exported workbook.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", help="Import this workbook instead of exporting the database's.")
    parser.add_argument("--save", help="Keep the exported workbook at this path.")
    parser.add_argument(
        "--runs",
        default="dry,import,again",
        help="Comma-separated runs among dry, import, again (default: all three). The registry is "
        "emptied first unless the runs are only 'again'.",
    )
    args = parser.parse_args()
    runs = [run.strip() for run in args.runs.split(",") if run.strip()]
    if not runs or set(runs) - {"dry", "import", "again"}:
        print("--runs takes dry, import and again.", file=sys.stderr)
        return 2
    if "bench" not in urlparse(os.environ.get("DATABASE_URL", "")).path:
        print("DATABASE_URL must name a benchmark database (its name must contain 'bench').", file=sys.stderr)
        return 2

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from interop.importer import import_registry
    from interop.workbook import workbook_write
    from registry import services
    from registry.choices import Role
    from registry.models import Patient

    admin = get_user_model().objects.filter(username="bench-import-admin").first() or services.staff_user_create(
        username="bench-import-admin", password="bench import only, never a real one", role=Role.ADMIN, sites=[]
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(args.file) if args.file else Path(args.save or Path(directory) / "registry.xlsx")
        if not args.file:
            with connection.cursor() as cursor:  # the generator may date a late visit after today
                cursor.execute("SET session_replication_role = replica")
                cursor.execute("DELETE FROM outcomes_encounter WHERE date > CURRENT_DATE")
                cursor.execute("SET session_replication_role = DEFAULT")
            started = time.perf_counter()
            workbook_write(path, user=admin)
            print(f"exported {Patient.objects.count()} patients in {time.perf_counter() - started:.1f} s")
        if runs != ["again"] * len(runs):
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
                cursor.execute("TRUNCATE registry_patient RESTART IDENTITY CASCADE")
                cursor.execute("SET session_replication_role = DEFAULT")
        labels = {"dry": ("dry run", True), "import": ("import", False), "again": ("again", False)}
        for label, dry_run in (labels[run] for run in runs):
            started = time.perf_counter()
            report = import_registry(path, dry_run=dry_run)
            elapsed = time.perf_counter() - started
            rows = sum(sum(counts.values()) for counts in report.counts.values())
            counts = ", ".join(
                f"{sheet} {'/'.join(str(n) for n in counts.values())}" for sheet, counts in report.counts.items()
            )
            print(
                f"{label}: {rows} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s), "
                f"{len(report.errors)} errors, peak {peak_mb():.0f} MB; created/updated/unchanged: {counts}"
            )
            for error in report.errors[:5]:
                print(f"  {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

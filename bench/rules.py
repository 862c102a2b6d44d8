"""Times the data-quality rules engine on the bench database: a full run, and the run after one change.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_registry .venv/bin/python bench/rules.py --repeat 5

full: ``quality.runs.rules_check_all()``, the nightly task's work: every rule for every patient in one
statement, paired with the rule queries not closed (here all already open: nothing to open or
close, as on most nights). With ``--first-run`` the rule queries are deleted first (triggers off)
and one full run opens them all again, as on the day the engine is deployed.

one change: one follow-up's dose changed through the service (1,400 then 100 MME/day, so every run
opens or closes a query), then ``quality.runs.rules_check_changed()``, the work of one
``check_rules_incrementally`` task: the checkpoint, the changed patients read from the tails of
the audit tables, every rule for that patient, the queries opened or closed. ``check one`` is the
last part alone (``quality.engine.check_rules`` for one patient).

``--fill-audit`` first gives every clinical record the insert event a real registry would hold
(generate.py loads with the audit triggers off), so the audit tables the incremental run reads
are the size they would be.

Wall-clock and CPU time (this process plus its PostgreSQL backend, read from /proc), as in
bench/refresh.py. Refuses a database whose name lacks "bench".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from outcomes import services as outcome_services  # noqa: E402
from outcomes.models import Encounter  # noqa: E402
from quality import engine, runs  # noqa: E402
from quality.models import DataQuery  # noqa: E402
from registry.models import Patient, Procedure  # noqa: E402

AUDITED = (Patient, Procedure, Encounter)


def backend_cpu_seconds() -> float:
    """CPU time used so far by this connection's PostgreSQL backend (server on this machine, Linux)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(work) -> tuple[float, float, object]:
    cpu_before = time.process_time() + backend_cpu_seconds()
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    return wall, time.process_time() + backend_cpu_seconds() - cpu_before, result


def fill_audit() -> None:
    """One insert event per patient, procedure and encounter, for audit tables holding fewer events than
    their table has rows (the bench loads without triggers), then ANALYZE."""
    for model in AUDITED:
        event = model.pgh_event_models["insert"]
        if event.objects.count() >= model.objects.count():
            continue
        tracked = [
            f.column
            for f in event._meta.concrete_fields
            if not f.name.startswith("pgh_") and not getattr(f, "generated", False)
        ]
        columns = ", ".join(tracked)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {event._meta.db_table} ({columns}, pgh_created_at, pgh_label, pgh_obj_id) "  # noqa: S608
                f"SELECT {columns}, created_at, 'insert', id FROM {model._meta.db_table}"
            )
            print(f"audit: {cursor.rowcount} insert events added to {event._meta.db_table}")
            cursor.execute(f"ANALYZE {event._meta.db_table}")


def first_run() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # no audit of the bench's reset
        cursor.execute("DELETE FROM quality_dataquery WHERE rule <> 'manual'")
    wall, cpu, result = timed(runs.rules_check_all)
    print(f"first full run: {wall:.3f} s, CPU {cpu:.3f} s: {result.opened} queries opened")


def summary(label: str, samples: list[tuple[float, float, object]]) -> str:
    walls = [wall for wall, _, _ in samples]
    cpus = [cpu for _, cpu, _ in samples]
    return (
        f"{label:<12} median {statistics.median(walls):.3f} s, min {min(walls):.3f} s, "
        f"CPU {statistics.median(cpus):.3f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--first-run", action="store_true", help="delete the rule queries and time opening them")
    parser.add_argument("--fill-audit", action="store_true", help="give every record its insert event first")
    args = parser.parse_args()
    if "bench" not in urlparse(os.environ.get("DATABASE_URL", "")).path:
        print("DATABASE_URL must name a benchmark database (its name must contain 'bench').", file=sys.stderr)
        return 2
    if args.fill_audit:
        fill_audit()
    if args.first_run:
        first_run()
    runs.rules_check_all()  # warm-up; the checkpoint and marks the incremental runs start from
    encounter = Encounter.objects.filter(kind="followup").order_by("id").first()
    patient_id = encounter.procedure.patient_id
    fulls, changes, ones = [], [], []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits each alike
        fulls.append(timed(runs.rules_check_all))
        encounter = Encounter.objects.get(pk=encounter.pk)
        dose = Decimal("100") if encounter.opioid_mme_per_day == Decimal("1400") else Decimal("1400")
        encounter = outcome_services.encounter_update(
            user=None,
            encounter=encounter,
            data={"opioid_mme_per_day": dose},
            reason="Bench: a dose changed.",
            confirm=True,
        )
        changes.append(timed(runs.rules_check_changed))
        ones.append(timed(lambda: engine.check_rules([patient_id])))
    audit_rows = sum(model.pgh_event_models["insert"].objects.count() for model in AUDITED)
    print(
        f"patients {Patient.objects.count()}, encounters {Encounter.objects.count()}, audit events {audit_rows}, "
        f"rule queries not closed {DataQuery.objects.exclude(rule='manual').exclude(status='closed').count()}, "
        f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}"
    )
    print(summary("full", fulls))
    print(summary("one change", changes) + f" (patients checked: {sorted({r.patients for _, _, r in changes})})")
    print(summary("check one", ones))
    return 0


if __name__ == "__main__":
    sys.exit(main())

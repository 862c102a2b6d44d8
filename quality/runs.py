"""When the rules engine runs: after each change of clinical data, for the patients changed since
the last run (through Celery, coalesced like the statistics refresh), and nightly for everyone.

The changed patients are read from the audit tables (pghistory's event tables, written by database
triggers on every path: services, admin, imports, raw SQL), so no service needs to say which
patients it touched. An event row's ``pgh_created_at`` is the start of the transaction that wrote
it, and that transaction may commit long after: a run therefore records as its checkpoint
(``RuleCheckState.checked_from``) the start of the oldest transaction still open in the database
(or its own), and the next run re-reads every event created from then on; events before it were all
visible to the run. (The application's database role sees the start of its own sessions'
transactions only: a long one of another role, a migration say, is caught up by the nightly run.)
To read only the tail of each audit table, a run also records the highest event id visible in each
(``event_marks``): an event created after a mark was taken has a higher id, so the next run reads
``pgh_id > mark`` for the latest mark taken before its checkpoint.

A window closing at midnight changes no record: the nightly full run (02:30, beat) opens those
``visit_missed`` queries, and catches up anything an incremental run could not see.
"""

from __future__ import annotations

import datetime
import logging

from django.db import connection, transaction
from django.utils import timezone

from quality import engine
from quality.models import RuleCheckState

logger = logging.getLogger(__name__)

# A write after a quiet spell is checked this soon; in a burst, runs start at least this far apart.
CHECK_COUNTDOWN_SECONDS = 1
CHECK_MIN_INTERVAL_SECONDS = 5
# A pending run older than this was lost (broker restart, worker crash): enqueue another.
PENDING_GIVE_UP_SECONDS = 600
# How many runs' event marks are kept (a checkpoint held back by a long transaction needs older ones).
MARKS_KEPT = 20

# The audit tables of the records the rules read, and how an event of each names its patient.
PATIENT_EVENTS = "registry_patientevent"
PROCEDURE_EVENTS = "registry_procedureevent"
PROCEDURE_CHILD_EVENTS = ("outcomes_encounterevent", "outcomes_visitnotdoneevent")
EVENT_TABLES = (PATIENT_EVENTS, PROCEDURE_EVENTS, *PROCEDURE_CHILD_EVENTS)


def _state_row() -> RuleCheckState:
    state, _ = RuleCheckState.objects.get_or_create(pk=RuleCheckState.SINGLETON)
    return state


def _state_update(**fields) -> None:
    _state_row()
    RuleCheckState.objects.filter(pk=RuleCheckState.SINGLETON).update(**fields)


def _checkpoint() -> datetime.datetime:
    """The start of the oldest transaction open in this database, this one included: every event
    created before it is visible now, and those created from it on are read again next time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT LEAST(now(), (SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()))"
        )
        return cursor.fetchone()[0]


def _marks_now() -> dict:
    """The highest event id visible in each audit table, and the time after reading them."""
    selects = ", ".join(f"(SELECT coalesce(max(pgh_id), 0) FROM {table})" for table in EVENT_TABLES)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")
        ids = dict(zip(EVENT_TABLES, cursor.fetchone(), strict=True))
        cursor.execute("SELECT clock_timestamp()")
        return {"at": cursor.fetchone()[0].isoformat(), "ids": ids}


def _floors(marks: list[dict], since: datetime.datetime) -> dict:
    """Event ids below which nothing was created from ``since`` on: the latest mark taken by then."""
    taken = [mark for mark in marks if datetime.datetime.fromisoformat(mark["at"]) <= since]
    latest = max(taken, key=lambda mark: mark["at"], default={"ids": {}})
    return {table: int(latest["ids"].get(table, 0)) for table in EVENT_TABLES}


def changed_patients(since: datetime.datetime, floors: dict) -> list[int]:
    """Ids of the patients whose records the rules read (the patient, its procedures, their
    encounters and visits not done) have an audit event created at or after ``since``, deleted
    records included. One statement; each audit table read from its id floor on."""
    recent = "pgh_id > %({key})s AND pgh_created_at >= %(since)s"
    child_events = "\n        UNION ".join(
        f"SELECT procedure_id FROM {table} WHERE {recent.format(key=table)}"  # noqa: S608
        for table in PROCEDURE_CHILD_EVENTS
    )
    sql = f"""
    WITH procedures AS (
        {child_events}
    )
    SELECT pgh_obj_id FROM {PATIENT_EVENTS} WHERE {recent.format(key=PATIENT_EVENTS)}
    UNION SELECT patient_id FROM {PROCEDURE_EVENTS} WHERE {recent.format(key=PROCEDURE_EVENTS)}
    UNION SELECT patient_id FROM registry_procedure WHERE id IN (SELECT procedure_id FROM procedures)
    UNION SELECT patient_id FROM {PROCEDURE_EVENTS} WHERE pgh_obj_id IN (SELECT procedure_id FROM procedures)
    """  # noqa: S608 (table names of this module; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"since": since, **floors})
        return sorted(row[0] for row in cursor.fetchall() if row[0] is not None)


def _record_run(checkpoint: datetime.datetime, marks: list[dict], **fields) -> None:
    kept = [*marks, _marks_now()][-MARKS_KEPT:]
    _state_update(checked_from=checkpoint, event_marks=kept, **fields)


@transaction.atomic
def rules_check_all(today: datetime.date | None = None) -> engine.CheckResult:
    """Checks every rule for every patient (the nightly run and the operators' command)."""
    engine.lock_runs()
    state = _state_row()
    checkpoint = _checkpoint()
    result = engine.check_rules(None, today, reason="Nightly check of every data-quality rule for every patient.")
    _record_run(checkpoint, state.event_marks, last_full_run_at=timezone.now(), last_duration_ms=result.duration_ms)
    return result


@transaction.atomic
def rules_check_changed(today: datetime.date | None = None) -> engine.CheckResult:
    """Checks every rule for the patients changed since the last run (all of them on the first)."""
    engine.lock_runs()
    state = _state_row()
    if state.checked_from is None:
        return rules_check_all(today)
    checkpoint = _checkpoint()
    patients = changed_patients(state.checked_from, _floors(state.event_marks, state.checked_from))
    result = engine.check_rules(patients, today)
    _record_run(checkpoint, state.event_marks, last_duration_ms=result.duration_ms)
    return result


def rules_check_started() -> None:
    """The pending run has started: writes from now on need another (the task calls it first)."""
    _state_update(started_at=timezone.now(), scheduled_for=None)


def rules_check_schedule() -> None:
    """Asks for an incremental run soon; bursts of calls coalesce into one pending task.

    Enqueues ``check_rules_incrementally`` unless one is pending: CHECK_COUNTDOWN_SECONDS from now,
    or CHECK_MIN_INTERVAL_SECONDS after the last run started if later. Never raises: a clinical write
    must not fail because the broker does; the next change, the minutely beat run or the nightly
    run catches up.
    """
    try:
        _schedule()
    except Exception as exc:
        logger.warning(
            "Could not schedule a data-quality check (%s); the periodic run will catch up.", type(exc).__name__
        )


def _schedule() -> None:
    from quality.tasks import check_rules_incrementally

    now = timezone.now()
    state = _state_row()
    lost = now - datetime.timedelta(seconds=PENDING_GIVE_UP_SECONDS)
    eta = now + datetime.timedelta(seconds=CHECK_COUNTDOWN_SECONDS)
    if state.started_at:
        eta = max(eta, state.started_at + datetime.timedelta(seconds=CHECK_MIN_INTERVAL_SECONDS))
    # One UPDATE claims the right to enqueue, so concurrent writers enqueue at most once.
    claimed = (
        RuleCheckState.objects.filter(pk=RuleCheckState.SINGLETON)
        .exclude(scheduled_for__isnull=False, scheduled_for__gte=lost)
        .update(requested_at=now, scheduled_for=eta)
    )
    if not claimed:
        RuleCheckState.objects.filter(pk=RuleCheckState.SINGLETON).update(requested_at=now)
        return
    try:
        # retry=False: with the broker down, fail at once instead of holding up the request.
        check_rules_incrementally.apply_async(countdown=round((eta - now).total_seconds(), 3), retry=False)
    except Exception:
        RuleCheckState.objects.filter(pk=RuleCheckState.SINGLETON, scheduled_for=eta).update(scheduled_for=None)
        raise

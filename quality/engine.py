"""The rules engine: opens a data query where a rule of quality.rules holds and none is open, and
closes by itself the rule queries whose condition no longer holds, in one statement.

What it decides (contract: "Data queries"):

- A rule opens a query (status open, opened by nobody) on a record and field where its condition
  holds and no query of that rule on that record and field is open or answered.
- It closes (resolution ``fixed``, closed by nobody) every open or answered rule query in the scope
  whose condition no longer holds, also when its record no longer exists (retracted): the data no
  longer meet the rule either way.
- A query a person closed as ``confirmed`` (the value is right) or ``withdrawn`` (the question was
  wrong) is not opened again while the data the rule reads are unchanged: while the closure is at
  or after their last change (``changed_at`` of the rule's row, the records' ``updated_at``). Once
  someone edits them and the rule still holds, a new query opens. ``fixed`` closures block nothing.
- Manual queries (rule ``manual``) are never touched.
- An open query whose message or site changed (a new value, a patient moved) is restated.

Runs of the engine never overlap (a transaction-level advisory lock); the partial unique constraint
``dataquery_one_open_per_rule_record`` and ``ON CONFLICT DO NOTHING`` keep one open query per rule,
record and field whatever else writes queries.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from core.writes import audit_context, quiet_trigger_checks
from quality import rules
from quality.models import MANUAL_RULE, QueryStatus, Resolution

# pg_advisory_xact_lock key of a run of the engine (any fixed number no other lock uses).
RUN_LOCK_KEY = 0x51A17C0DE
AUDIT_ACTION = "quality rules"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    opened: int
    closed: int
    restated: int
    patients: int | None  # how many patients were checked; None: the whole registry
    duration_ms: int


def _holds_sql(scope: rules.Scope) -> str:
    """Every (rule, kind, record, patient, site, field, message, changed_at) where a rule holds."""
    parts = [
        f"SELECT '{rule.code}'::varchar AS rule, '{rule.kind}'::varchar AS kind, r.* FROM ("  # noqa: S608
        f"{rules.rule_sql(rule, scope)}\n) AS r(record, patient_id, site_id, field, message, changed_at)"
        for rule in rules.RULES
    ]
    return "\nUNION ALL\n".join(parts)


def _check_sql(scope: rules.Scope) -> str:
    """One statement: the rows where a rule holds, paired (full join) with the rule queries not closed
    in the scope: a row without a query opens one, a query without a row closes, a pair whose message
    or site differ is restated. One pass over each side, hash-joinable (a null field compares as '')."""
    in_scope = "TRUE" if scope.patient_ids is None else "q.patient_id = ANY(%(patients)s)"
    return f"""
WITH {rules.common_sql(scope)},
holds AS MATERIALIZED (
{_holds_sql(scope)}
),
current AS MATERIALIZED (
    SELECT q.id, q.rule, q.kind, q.record, coalesce(q.field, '') AS field_key, q.message, q.site_id
    FROM quality_dataquery q
    WHERE q.rule <> %(manual)s AND q.status <> %(closed)s AND {in_scope}
),
pairs AS MATERIALIZED (
    SELECT h.*, c.id AS query_id, c.message AS query_message, c.site_id AS query_site_id
    FROM holds h FULL JOIN current c
      ON c.rule = h.rule AND c.kind = h.kind AND c.record = h.record AND c.field_key = coalesce(h.field, '')
),
opened AS (
    INSERT INTO quality_dataquery
        (rule, kind, record, patient_id, site_id, field, message, status, opened_at, answer)
    SELECT p.rule, p.kind, p.record, p.patient_id, p.site_id, p.field, p.message, %(open)s, %(now)s, ''
    FROM pairs p
    WHERE p.query_id IS NULL
      AND NOT EXISTS (
          SELECT 1 FROM quality_dataquery q
          WHERE q.kind = p.kind AND q.record = p.record AND q.rule = p.rule
            AND q.field IS NOT DISTINCT FROM p.field AND q.status = %(closed)s
            AND q.resolution = ANY(%(blocking)s) AND q.closed_at >= p.changed_at
      )
    -- New queries numbered in a stable order (patient, rule, record, visits in the schedule's order),
    -- not in whatever order the hash join happens to produce them.
    ORDER BY p.patient_id, p.rule, p.kind, p.record, array_position(%(visit_keys)s::text[], p.field::text), p.field
    ON CONFLICT DO NOTHING
    RETURNING 1
),
closed AS (
    UPDATE quality_dataquery q
    SET status = %(closed)s, resolution = %(fixed)s, closed_at = %(now)s, closed_by_id = NULL
    FROM pairs p
    WHERE p.rule IS NULL AND q.id = p.query_id
    RETURNING 1
),
restated AS (
    UPDATE quality_dataquery q
    SET message = p.message, site_id = p.site_id
    FROM pairs p
    WHERE p.rule IS NOT NULL AND q.id = p.query_id
      AND (p.message <> p.query_message OR p.site_id <> p.query_site_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM opened), (SELECT count(*) FROM closed), (SELECT count(*) FROM restated)
"""  # noqa: S608 (the code's own SQL; every value is a parameter)


def _check_params(scope: rules.Scope, today: datetime.date) -> dict:
    return {
        **rules.rule_params(scope, today),
        "now": timezone.now(),
        "open": QueryStatus.OPEN,
        "closed": QueryStatus.CLOSED,
        "fixed": Resolution.FIXED,
        "blocking": [Resolution.CONFIRMED, Resolution.WITHDRAWN],
        "manual": MANUAL_RULE,
    }


def lock_runs() -> None:
    """Waits until no other run of the engine is in progress; held until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK_KEY])


def _quiet_trigger_checks() -> None:
    """pgtrigger's ignore list defined for the transaction (``core.writes.quiet_trigger_checks``:
    without it a statement writing n audited rows takes O(n^2) time), and no JIT."""
    quiet_trigger_checks()
    with connection.cursor() as cursor:
        # Compiling the large statement costs more than it saves (at 100k patients: 8.3 s with JIT,
        # 7.9 s without, on a busy machine).
        cursor.execute("SET LOCAL jit = off")


@transaction.atomic
def check_rules(
    patient_ids: Iterable[int] | None = None, today: datetime.date | None = None, *, reason: str = ""
) -> CheckResult:
    """Evaluates every rule for the patients of ``patient_ids`` (every patient when None) on
    ``today`` (the local date by default), and opens and closes their rule queries in one
    transaction (see the module). Returns the counts."""
    started = time.perf_counter()
    scope = rules.Scope(None if patient_ids is None else tuple(sorted(set(patient_ids))))
    if scope.patient_ids == ():
        return CheckResult(0, 0, 0, 0, 0)
    today = today or timezone.localdate()
    what = "every patient" if scope.patient_ids is None else f"{len(scope.patient_ids)} changed patient(s)"
    lock_runs()
    _quiet_trigger_checks()
    reason = reason or f"Data-quality rules checked for {what}."
    with audit_context(user=None, action=AUDIT_ACTION, reason=reason), connection.cursor() as cursor:
        cursor.execute(_check_sql(scope), _check_params(scope, today))
        opened, closed, restated = cursor.fetchone()
    return CheckResult(
        opened=opened,
        closed=closed,
        restated=restated,
        patients=None if scope.patient_ids is None else len(scope.patient_ids),
        duration_ms=int((time.perf_counter() - started) * 1000),
    )


def rule_rows(rule: rules.Rule, patient_ids: Iterable[int] | None = None, today: datetime.date | None = None):
    """The rows where ``rule`` holds (record, patient_id, site_id, field, message, changed_at),
    for the operators' and the tests' eyes; writes nothing."""
    scope = rules.Scope(None if patient_ids is None else tuple(patient_ids))
    sql = f"WITH {rules.common_sql(scope)}\n{rules.rule_sql(rule, scope)}\nORDER BY 1, 4"
    with connection.cursor() as cursor:
        cursor.execute(sql, rules.rule_params(scope, today or timezone.localdate()))
        return cursor.fetchall()

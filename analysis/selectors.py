"""Reads of the analysis app: the cohort the statistics run on, the snapshots and the refresh state."""

from __future__ import annotations

import datetime
import hashlib
import io

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import F, TextField
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast
from django.utils import timezone
from psycopg import sql

from analysis.completeness import (
    decode_not_done,
    decode_statuses,
    not_done_code_sql,
    status_code_sql,
)
from analysis.models import FollowupWindows, RefreshState, Snapshot
from analysis.stats import MEASURES, Cohort
from outcomes.models import (
    Complication,
    ComplicationKind,
    Encounter,
    EncounterKind,
    SecondaryProcedure,
    VisitNotDone,
)
from outcomes.msts import DOMAINS, TOTAL_KEY
from registry.models import Patient, Procedure

# Document key of each measure -> Encounter column.
MEASURE_COLUMNS = {TOTAL_KEY: "msts_total", **{domain.key: domain.field for domain in DOMAINS}}
CODE_COLUMNS = ("treatment", "fracture_status", "sex", "primary_cancer", "ablation", "narcotic_change")
VISIT_COLUMNS = ("visit_days", "visit_totals")
VISITS_READ = "visits_read"
# Every follow-up of every index procedure costs the refresh about 0.4 s at 100,000 patients, for a
# mixed model fitted only in strata of at most 500 patients (analysis.cohort_extras): a registry
# larger than this reads no visits, and its trajectory says why (bench/README.md).
VISITS_MAX_PATIENTS = 20_000
COMPLICATION_KINDS = tuple(ComplicationKind.values)
REFRESH_RUNNING_AT_MOST_SECONDS = 600
ROW_HASH = "row_hash"


def age_years_sql(day: sql.Composable, birth_date: sql.Composable) -> sql.Composed:
    """Full years of age on ``day`` in SQL, so that no birth date leaves the database; it counts as
    registry.vocabulary.age_years does (a test holds them to each other on the edge dates)."""
    return sql.SQL("EXTRACT(YEAR FROM age({}, {}))::int").format(day, birth_date)


_VISITS_CTE = """
        , vis AS (
            -- Aggregated from rows sorted once, in (date, id) order: an ORDER BY inside each aggregate
            -- would sort every procedure's visits again (twice the time at 100,000 patients).
            SELECT procedure_id, string_agg(days::text, ' ') AS visit_days, string_agg(total::text, ' ') AS visit_totals
            FROM (
                SELECT e.procedure_id, e.date - i.date AS days, e.msts_total AS total
                FROM {encounter} e JOIN idx i ON i.id = e.procedure_id
                WHERE e.kind = {followup} AND e.msts_total IS NOT NULL
                ORDER BY e.procedure_id, e.date, e.id
            ) AS visit
            GROUP BY procedure_id
        )"""


# Numbers, not text: which windows of the schedule hold a follow-up of the index procedure (read from
# analysis.models.FollowupWindows, which the database keeps for each procedure: joining every follow-up
# here cost ~0.45 s at 100,000 patients), and its visits not done, as bits (analysis.completeness); one
# aggregate, so that the planner sees the visits not done with the many windows' rows, whatever it
# estimates for their table alone.
_COMPLETENESS_CTE = """
        , win AS (
            SELECT u.procedure_id, bit_or(u.windows) AS windows, bit_or(u.not_done) AS not_done
            FROM (
                SELECT w.procedure_id, w.windows::int AS windows, 0 AS not_done FROM {followup_windows} w
                UNION ALL
                SELECT n.procedure_id, 0, {not_done_code} FROM {visit_not_done} n
            ) AS u
            GROUP BY u.procedure_id
        )"""


def _completeness_cte() -> sql.Composed:
    return sql.SQL(_COMPLETENESS_CTE).format(
        followup_windows=sql.Identifier(FollowupWindows._meta.db_table),
        not_done_code=sql.SQL(not_done_code_sql("n.visit", "n.reason")),
        visit_not_done=sql.Identifier(VisitNotDone._meta.db_table),
    )


def _cohort_query(*, with_visits: bool = True, today: datetime.date | None = None) -> sql.Composed:
    """One row per patient with the index procedure, its baseline and its final follow-up.

    The index procedure is the patient's first by (date, id); the final follow-up is the
    index procedure's last follow-up by (date, id). Only the age in whole years and days from
    the index procedure leave the database, never the birth or death date. The last day known
    alive is the latest of the index procedure, its final follow-up, its secondary procedures
    and its complications. ``visit_days`` and ``visit_totals`` list every follow-up of the
    index procedure with a complete MSTS total, in (date, id) order, as space-separated days
    from the index procedure and totals (for the trajectory's mixed model): numbers only. Without
    ``with_visits`` both are NULL and ``visits_read`` is 0.

    For the follow-up completeness (analysis.completeness), as of ``today`` (default: the local
    date): ``today_days`` (days from the index procedure to today), the patient's ``status`` and
    ``status_days``, ``followup_windows`` (a bit per window of the schedule that holds a follow-up),
    the reasons of its visits not done (``not_done``, analysis.completeness.not_done_code_sql) and
    ``signed_off`` (1 when the index procedure is signed off). Days and codes as numbers, no dates.
    """
    today = today or timezone.localdate()
    pre = [
        sql.SQL("b.{} AS {}").format(sql.Identifier(col), sql.Identifier(f"pre_{m}"))
        for m, col in MEASURE_COLUMNS.items()
    ]
    post = [
        sql.SQL("f.{} AS {}").format(sql.Identifier(col), sql.Identifier(f"post_{m}"))
        for m, col in MEASURE_COLUMNS.items()
    ]
    complication_counts = [
        sql.SQL("count(*) FILTER (WHERE kind = {}) AS {}").format(sql.Literal(kind), sql.Identifier(f"c_{kind}"))
        for kind in COMPLICATION_KINDS
    ]
    complication_columns = [
        sql.SQL("COALESCE(c.{0}, 0) AS {0}").format(sql.Identifier(f"c_{kind}")) for kind in COMPLICATION_KINDS
    ]
    return sql.SQL(
        """
        WITH idx AS (
            SELECT DISTINCT ON (patient_id) id, patient_id, date, treatment, fracture_status, ablation,
                   prior_local_radiation, signed_off_at
            FROM {procedure} ORDER BY patient_id, date, id
        ), fin AS (
            SELECT DISTINCT ON (procedure_id) procedure_id, date, narcotic_change, {measure_columns}
            FROM {encounter} WHERE kind = {followup}
            ORDER BY procedure_id, date DESC, id DESC
        ){visits_cte}{completeness_cte}
        , sec AS (
            SELECT procedure_id, count(*) AS n, min(date) AS first, max(date) AS last_date
            FROM {secondary} GROUP BY procedure_id
        ), c AS (
            SELECT procedure_id, {complication_counts}, max(date) AS last_date
            FROM {complication} GROUP BY procedure_id
        )
        SELECT p.site_id, p.is_demo::int AS is_demo, p.sex, p.primary_cancer,
               {age} AS age,
               idx.treatment, idx.fracture_status, idx.ablation,
               COALESCE(idx.prior_local_radiation::int, 0) AS prior_local_radiation,
               (EXTRACT(YEAR FROM idx.date) * 12 + EXTRACT(MONTH FROM idx.date) - 1)::int AS index_month,
               (b.id IS NOT NULL)::int AS has_baseline,
               {pre}, {post},
               f.narcotic_change, f.date - idx.date AS followup_days,
               COALESCE(sec.n, 0) AS secondary_count, sec.first - idx.date AS secondary_first_days,
               p.death_date - idx.date AS death_days,
               GREATEST(idx.date, f.date, sec.last_date, c.last_date) - idx.date AS last_alive_days,
               {complication_columns},
               {today} - idx.date AS today_days, {status_code} AS status_code,
               p.status_date - idx.date AS status_days,
               COALESCE(win.windows, 0) AS followup_windows, COALESCE(win.not_done, 0) AS not_done,
               (idx.signed_off_at IS NOT NULL)::int AS signed_off,
               {visits_columns}
        FROM {patient} p
        LEFT JOIN idx ON idx.patient_id = p.id
        LEFT JOIN {encounter} b ON b.procedure_id = idx.id AND b.kind = {baseline}
        LEFT JOIN fin f ON f.procedure_id = idx.id
        {visits_join}
        LEFT JOIN sec ON sec.procedure_id = idx.id
        LEFT JOIN c ON c.procedure_id = idx.id
        LEFT JOIN win ON win.procedure_id = idx.id
        ORDER BY p.id
        """
    ).format(
        visits_cte=sql.SQL(_VISITS_CTE).format(
            encounter=sql.Identifier(Encounter._meta.db_table), followup=sql.Literal(EncounterKind.FOLLOWUP.value)
        )
        if with_visits
        else sql.SQL(""),
        visits_columns=sql.SQL(
            "vis.visit_days, vis.visit_totals, 1 AS visits_read"
            if with_visits
            else "NULL::text AS visit_days, NULL::text AS visit_totals, 0 AS visits_read"
        ),
        completeness_cte=_completeness_cte(),
        today=sql.SQL("{}::date").format(sql.Literal(today.isoformat())),
        status_code=sql.SQL(status_code_sql("p.status")),
        visits_join=sql.SQL("LEFT JOIN vis ON vis.procedure_id = idx.id" if with_visits else ""),
        procedure=sql.Identifier(Procedure._meta.db_table),
        encounter=sql.Identifier(Encounter._meta.db_table),
        secondary=sql.Identifier(SecondaryProcedure._meta.db_table),
        complication=sql.Identifier(Complication._meta.db_table),
        patient=sql.Identifier(Patient._meta.db_table),
        age=age_years_sql(sql.SQL("idx.date"), sql.SQL("p.birth_date")),
        followup=sql.Literal(EncounterKind.FOLLOWUP.value),
        baseline=sql.Literal(EncounterKind.BASELINE.value),
        complication_counts=sql.SQL(", ").join(complication_counts),
        complication_columns=sql.SQL(", ").join(complication_columns),
        pre=sql.SQL(", ").join(pre),
        measure_columns=sql.SQL(", ").join(sql.Identifier(col) for col in MEASURE_COLUMNS.values()),
        post=sql.SQL(", ").join(post),
    )


def cohort_csv(*, today: datetime.date | None = None) -> bytes:
    """The cohort query's rows as CSV with a header, streamed by COPY (the fastest way out of PostgreSQL).

    The visits of the trajectory are read only for a registry of at most VISITS_MAX_PATIENTS patients.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(Patient._meta.db_table)))
        with_visits = cursor.fetchone()[0] <= VISITS_MAX_PATIENTS
        query = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(
            _cohort_query(with_visits=with_visits, today=today)
        )
        # The planner overestimates the joins' rows and would spend seconds JIT-compiling the query.
        cursor.execute("SET LOCAL jit = off")
        # Lets the sorts of a large registry (final follow-ups, patient order) stay in memory.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # Parallel workers each rebuild the same hash tables: no faster on two cores, and busier.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        with cursor.cursor.copy(query) as copy:
            return b"".join(bytes(block) for block in copy)


TRAJECTORY_COLUMNS = ("site_id", "fracture_status", "treatment", "pre_total", *VISIT_COLUMNS)


def trajectory_csv() -> bytes:
    """What the trajectory's mixed model needs of every patient, whatever the registry's size, as CSV
    streamed by COPY: the site, stratum and treatment of the index procedure, the baseline total and the
    visits as days from it (no dates). For the trajectory's own schedule (analysis.services)."""
    inner = _cohort_query(with_visits=True)
    query = sql.SQL("COPY (SELECT {} FROM ({}) AS cohort) TO STDOUT (FORMAT csv, HEADER)").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in TRAJECTORY_COLUMNS), inner
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        with cursor.cursor.copy(query) as copy:
            return b"".join(bytes(block) for block in copy)


def trajectory_cohort_from_csv(data: bytes) -> Cohort:
    """Parses trajectory_csv() into a Cohort of its columns."""
    frame = pd.read_csv(
        io.BytesIO(data),
        dtype=dict.fromkeys(("fracture_status", "treatment", *VISIT_COLUMNS), str),
        keep_default_na=False,
        na_values=[""],
    )
    columns = {"site_id": frame["site_id"].to_numpy(dtype=np.int64), "pre_total": frame["pre_total"].to_numpy(float)}
    for name in ("fracture_status", "treatment"):
        columns[name] = frame[name].fillna("").to_numpy(dtype=str)
    for name in VISIT_COLUMNS:
        columns[name] = frame[name].fillna("").to_numpy(dtype=object)
    return Cohort(columns)


def cohort_from_csv(data: bytes) -> Cohort:
    """Parses cohort_csv() into a Cohort: codes as str arrays ('' if missing), numbers as floats (NaN)."""
    # Codes as categories: a few distinct values each, turned into str arrays by one take (~0.1 s less
    # at 100,000 patients than strings); a category column hashes as its strings would.
    frame = pd.read_csv(
        io.BytesIO(data),
        dtype={**dict.fromkeys(CODE_COLUMNS, "category"), **dict.fromkeys(VISIT_COLUMNS, str)},
        keep_default_na=False,
        na_values=[""],
    )
    columns = {}
    for name in CODE_COLUMNS:
        codes = frame[name].cat
        labels = np.append(codes.categories.to_numpy(dtype=str), "")  # code -1 (missing) takes the last: ''
        columns[name] = labels[codes.codes.to_numpy()]
    columns["status"] = decode_statuses(frame["status_code"].to_numpy(dtype=np.int64))
    for key, reasons in decode_not_done(frame["not_done"].to_numpy(dtype=np.int64)).items():
        columns[f"not_done_{key}"] = reasons
    columns["followup_windows"] = frame["followup_windows"].to_numpy(dtype=np.int64)
    columns["signed_off"] = frame["signed_off"].to_numpy(dtype=bool)
    columns["is_demo"] = frame["is_demo"].to_numpy(dtype=bool)
    columns[VISITS_READ] = frame[VISITS_READ].to_numpy(dtype=bool)
    for name in ("site_id", "secondary_count", "has_baseline"):
        columns[name] = frame[name].to_numpy(dtype=np.int64)
    columns["prior_local_radiation"] = frame["prior_local_radiation"].to_numpy(dtype=bool)
    numeric = ["age", "index_month", "followup_days", "secondary_first_days", "death_days", "last_alive_days"]
    numeric += ["today_days", "status_days"]
    numeric += [f"{when}_{measure}" for when in ("pre", "post") for measure in MEASURES]
    for name in numeric:
        columns[name] = frame[name].to_numpy(dtype=float)
    complication_names = [f"c_{kind}" for kind in COMPLICATION_KINDS]
    columns["complications"] = (
        frame[complication_names].to_numpy(dtype=np.int64).reshape(len(frame), len(COMPLICATION_KINDS))
    )
    for name in VISIT_COLUMNS:
        # Kept as text: analysis.cohort_extras parses only the few scopes it fits a mixed model for.
        columns[name] = frame[name].fillna("").to_numpy(dtype=object)
    # One 64-bit hash of each row's values (the visits' text included), so that fingerprints of any subset are cheap.
    columns[ROW_HASH] = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return Cohort(columns, COMPLICATION_KINDS)


def cohort_fetch(*, today: datetime.date | None = None) -> Cohort:
    """The whole registry as a Cohort, one row per patient in id order (one query), its follow-up
    completeness as of ``today`` (default: the local date)."""
    return cohort_from_csv(cohort_csv(today=today))


def cohort_fingerprint(cohort: Cohort) -> str:
    """BLAKE2b-256 of the rows' hashes: equal fingerprints mean the statistics' input did not change."""
    return hashlib.blake2b(np.ascontiguousarray(cohort[ROW_HASH]).tobytes(), digest_size=32).hexdigest()


def cohort_source_counts(cohort: Cohort) -> dict[str, int]:
    """Rows of each kind the statistics were computed from."""
    return {
        "patients": len(cohort),
        "index_procedures": int(np.count_nonzero(cohort["treatment"] != "")),
        "baselines": int(cohort["has_baseline"].sum()),
        "final_followups": int(np.count_nonzero(~np.isnan(cohort["followup_days"]))),
        "secondary_procedures": int(cohort["secondary_count"].sum()),
        "complications": int(cohort["complications"].sum()),
    }


# --- Snapshots and refresh state ---------------------------------------------------------


def snapshot_latest(*, site_id: int | None, with_document: bool = True, include_demo: bool = True) -> Snapshot | None:
    """The newest snapshot of one site, or of the whole registry when ``site_id`` is None.

    For the whole registry, ``include_demo=False`` picks the document computed without the demo
    patients where there is one (a registry holding real and demo patients). The snapshot returned
    tells with ``has_real_only`` whether there is such a document, read in the same query.
    ``with_document=False`` leaves the (large) stats document unread, for callers that need
    only when and from what it was computed.
    """
    snapshots = (
        Snapshot.objects.filter(site__isnull=True)
        if site_id is None
        else Snapshot.objects.filter(site_id=site_id, real_only=False)
    )
    if not with_document:
        snapshots = snapshots.defer("document", "source_counts")
    rows = {row.real_only: row for row in snapshots}  # at most two rows
    chosen = rows.get(True) if not include_demo and True in rows else rows.get(False)
    if chosen is not None:
        chosen.has_real_only = True in rows
    return chosen


def snapshot_document_text(snapshot_id: int) -> str:
    """A snapshot's stats document as JSON text, as PostgreSQL writes it out: no parse in Python."""
    return (
        Snapshot.objects.filter(pk=snapshot_id)
        .annotate(text=Cast("document", output_field=TextField()))
        .values_list("text", flat=True)
        .get()
    )


def site_snapshot_summaries(site_ids) -> list[dict]:
    """Each site's newest snapshot's ``completeness`` and ``followup_flow`` (counts only), with the
    site's ``code`` and ``name``, for the sites of ``site_ids`` that have one, by code: one query,
    reading only those two keys of the documents."""
    return list(
        Snapshot.objects.filter(site_id__in=site_ids)
        .order_by("site__code", "-computed_at", "-id")
        .distinct("site__code")
        .values(
            code=F("site__code"),
            name=F("site__name"),
            completeness=KeyTransform("completeness", "document"),
            followup_flow=KeyTransform("followup_flow", "document"),
        )
    )


_UNREAD = object()


def refresh_state(*, latest=_UNREAD) -> dict:
    """Where the refresh stands, for a dashboard: a ``status`` and the times behind it.

    ``latest``: the whole registry's newest snapshot when the caller has already read it.

    status: ``never`` (no snapshot yet), ``refreshing`` (a refresh started and has not
    ended), ``failed`` (the last refresh failed), ``stale`` (data changed after the last
    snapshot was computed) or ``fresh``.
    """
    now = timezone.now()
    state = RefreshState.objects.filter(pk=RefreshState.SINGLETON).first() or RefreshState()
    if latest is _UNREAD:
        latest = snapshot_latest(site_id=None, with_document=False)
    ended = max((t for t in (state.succeeded_at, state.failed_at) if t), default=None)
    # A refresh that never ended (its worker was killed) stops counting as running after a while.
    running = state.started_at and (ended is None or state.started_at > ended)
    if running and state.started_at > now - datetime.timedelta(seconds=REFRESH_RUNNING_AT_MOST_SECONDS):
        status = "refreshing"
    elif state.failed_at and (state.succeeded_at is None or state.failed_at > state.succeeded_at):
        status = "failed"
    elif latest is None:
        status = "never"
    elif state.requested_at and state.requested_at > latest.computed_at:
        status = "stale"
    else:
        status = "fresh"
    return {
        "status": status,
        "computed_at": latest.computed_at if latest else None,
        "requested_at": state.requested_at,
        "scheduled_for": state.scheduled_for,
        "started_at": state.started_at,
        "succeeded_at": state.succeeded_at,
        "failed_at": state.failed_at,
        "last_error": state.last_error,
        "last_duration_ms": state.last_duration_ms,
        "checked_at": now,
    }

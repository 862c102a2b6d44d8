"""The data-quality rules (contract: "Data queries"): each a condition on one kind of record, written
as one SQL query that finds, in bulk, every record where it holds.

A rule's query returns one row per record (and field) it raises a question about:
``(record, patient_id, site_id, field, message, changed_at)``. ``changed_at`` is the last change of
the rows the condition reads (their ``updated_at``): a query a person closed as confirmed after
that time is not opened again (quality.engine). Every query reads the patient as ``pa`` and keeps
to the patients of ``{in_scope}`` (all of them, or a list), so one changed patient is checked with
index lookups alone; ``index_procedure`` (each patient's first procedure by date, then id) is a
common table expression the engine puts in front of the rules.

The definitions of the index procedure, the visit windows (outcomes.schedule.SCHEDULE) and of a
missed visit are those of the follow-up completeness statistic (analysis.completeness) and of the
worklist: a missed visit is one the statistic counts as ``missed``. The soft limits are the ones the
data-entry pages ask to confirm (contract: "Plausibility limits"). Messages name the field and its
value but no identifier or calendar date.
"""

from __future__ import annotations

import dataclasses
import datetime

from outcomes import msts
from outcomes import plausibility as encounter_limits
from outcomes.schedule import LAST_WINDOW_DAY, SCHEDULE
from registry import plausibility as procedure_limits

# Soft limits (contract: "Plausibility limits"): the pages ask to confirm them, then a query opens.
MME_UNUSUAL_ABOVE = int(encounter_limits.MME_WARNING)
CEMENT_UNUSUAL_ABOVE_ML = int(procedure_limits.CEMENT_VOLUME_WARNING_ML)
# A date plus whole years in SQL (``+ interval``) lands on 28 February for a 29 February, as
# outcomes.plausibility.years_after does.
FOLLOWUP_LATE_AFTER_YEARS = encounter_limits.FOLLOWUP_WARNING_YEARS
ADULT_AGE = procedure_limits.ADULT_AGE

INDEX_PROCEDURE_SQL = """
index_procedure AS (
    SELECT DISTINCT ON (pr.patient_id) pr.id, pr.patient_id, pr.date, pr.updated_at
    FROM registry_procedure pr JOIN registry_patient pa ON pa.id = pr.patient_id
    WHERE {in_scope}
    ORDER BY pr.patient_id, pr.date, pr.id
)"""

# The schedule's windows as a table of the query (from parameters, so SCHEDULE stays the one source).
_VISITS_SQL = (
    "unnest(%(visit_keys)s::text[], %(visit_labels)s::text[], %(visit_first_days)s::int[], "
    "%(visit_last_days)s::int[]) AS v(key, label, first_day, last_day)"
)
_WINDOWS_TEXT = ", ".join(f"{visit.first_day}-{visit.last_day}" for visit in SCHEDULE[:-1])
_WINDOWS_TEXT += f" or {SCHEDULE[-1].first_day}-{SCHEDULE[-1].last_day}"
_IN_A_WINDOW = " OR ".join(f"e.date - pr.date BETWEEN {visit.first_day:d} AND {visit.last_day:d}" for visit in SCHEDULE)
_MISSING_DOMAINS = ", ".join(f"CASE WHEN e.{domain.field} IS NULL THEN '{domain.label}' END" for domain in msts.DOMAINS)
_DOMAINS = ", ".join(f"e.{domain.field}" for domain in msts.DOMAINS)

_ENCOUNTERS = """
    FROM outcomes_encounter e
    JOIN registry_procedure pr ON pr.id = e.procedure_id
    JOIN registry_patient pa ON pa.id = pr.patient_id
    WHERE {in_scope}"""


@dataclasses.dataclass(frozen=True)
class Rule:
    code: str
    kind: str  # quality.models.QueryKind of the records it asks about
    description: str
    sql: str  # SELECT record, patient_id, site_id, field, message, changed_at ... (see the module)


RULES: tuple[Rule, ...] = (
    Rule(
        "baseline_missing",
        "procedure",
        "An index procedure with no baseline encounter.",
        """
        SELECT ip.id, pa.id, pa.site_id, NULL,
               'The index procedure has no baseline (pre-operative) encounter.',
               ip.updated_at
        FROM index_procedure ip JOIN registry_patient pa ON pa.id = ip.patient_id
        WHERE NOT EXISTS (
            SELECT 1 FROM outcomes_encounter e WHERE e.procedure_id = ip.id AND e.kind = 'baseline'
        )""",
    ),
    Rule(
        "msts_incomplete",
        "encounter",
        "An encounter with some but not all six MSTS domains scored.",
        f"""
        SELECT e.id, pa.id, pa.site_id, NULL,
               'MSTS incomplete: ' || num_nonnulls({_DOMAINS}) || ' of {len(msts.DOMAINS)} domains scored; '
               || 'not scored: ' || concat_ws(', ', {_MISSING_DOMAINS}) || '.',
               e.updated_at
        {_ENCOUNTERS}
          AND num_nonnulls({_DOMAINS}) BETWEEN 1 AND {len(msts.DOMAINS) - 1:d}""",
    ),
    Rule(
        "narcotic_change_missing",
        "encounter",
        "A follow-up without the change in narcotic use.",
        f"""
        SELECT e.id, pa.id, pa.site_id, 'narcotic_change',
               'Follow-up without the change in narcotic use since the procedure '
               || '(decreased, stable or increased).',
               e.updated_at
        {_ENCOUNTERS}
          AND e.kind = 'followup' AND e.narcotic_change IS NULL""",
    ),
    Rule(
        "visit_missed",
        "procedure",
        "A window of the index procedure closed with no follow-up in it, no visit not done, and the "
        "patient still followed (not dead, withdrawn or lost on or before its last day).",
        f"""
        SELECT ip.id, pa.id, pa.site_id, v.key,
               'The ' || v.label || ' visit (days ' || v.first_day || '-' || v.last_day
               || ' after the index procedure) was missed: its window has closed with no follow-up '
               || 'in it, and it is not recorded as not done.',
               GREATEST(ip.updated_at, pa.updated_at)
        FROM index_procedure ip
        JOIN registry_patient pa ON pa.id = ip.patient_id
        CROSS JOIN {_VISITS_SQL}
        WHERE ip.date + v.last_day < %(today)s
          AND NOT EXISTS (
              SELECT 1 FROM outcomes_encounter e
              WHERE e.procedure_id = ip.id AND e.kind = 'followup'
                AND e.date BETWEEN ip.date + v.first_day AND ip.date + v.last_day
          )
          AND NOT EXISTS (
              SELECT 1 FROM outcomes_visitnotdone n WHERE n.procedure_id = ip.id AND n.visit = v.key
          )
          AND (pa.death_date IS NULL OR pa.death_date > ip.date + v.last_day)
          AND (pa.status = 'active' OR pa.status_date > ip.date + v.last_day)""",  # noqa: S608
    ),
    Rule(
        "mme_unusual",
        "encounter",
        f"An opioid dose above {MME_UNUSUAL_ABOVE:,} MME/day.",
        f"""
        SELECT e.id, pa.id, pa.site_id, 'opioid_mme_per_day',
               'Opioid dose of ' || trim_scale(e.opioid_mme_per_day) || ' MME/day is above '
               || '{MME_UNUSUAL_ABOVE:,} MME/day: check it, or confirm it is right.',
               e.updated_at
        {_ENCOUNTERS}
          AND e.opioid_mme_per_day > {MME_UNUSUAL_ABOVE:d}""",
    ),
    Rule(
        "followup_outside_window",
        "encounter",
        f"A follow-up in no visit window, before the end of the last one (day {LAST_WINDOW_DAY}).",
        f"""
        SELECT e.id, pa.id, pa.site_id, 'date',
               'Follow-up on day ' || (e.date - pr.date) || ' after its procedure, in no visit window '
               || '(days {_WINDOWS_TEXT}).',
               GREATEST(e.updated_at, pr.updated_at)
        {_ENCOUNTERS}
          AND e.kind = 'followup' AND e.date - pr.date <= {LAST_WINDOW_DAY:d} AND NOT ({_IN_A_WINDOW})""",
    ),
    Rule(
        "cement_unusual",
        "procedure",
        f"A cement volume above {CEMENT_UNUSUAL_ABOVE_ML} ml.",
        f"""
        SELECT pr.id, pa.id, pa.site_id, 'cement_volume_ml',
               'Cement volume of ' || trim_scale(pr.cement_volume_ml) || ' ml is above '
               || '{CEMENT_UNUSUAL_ABOVE_ML:d} ml: check it, or confirm it is right.',
               pr.updated_at
        FROM registry_procedure pr JOIN registry_patient pa ON pa.id = pr.patient_id
        WHERE {{in_scope}} AND pr.cement_volume_ml > {CEMENT_UNUSUAL_ABOVE_ML:d}""",  # noqa: S608
    ),
    Rule(
        "followup_late",
        "encounter",
        f"A follow-up more than {FOLLOWUP_LATE_AFTER_YEARS} years after its procedure.",
        f"""
        SELECT e.id, pa.id, pa.site_id, 'date',
               'Follow-up ' || (e.date - pr.date) || ' days after its procedure, more than '
               || '{FOLLOWUP_LATE_AFTER_YEARS:d} years later: check the date, or confirm it is right.',
               GREATEST(e.updated_at, pr.updated_at)
        {_ENCOUNTERS}
          AND e.kind = 'followup' AND e.date > pr.date + interval '{FOLLOWUP_LATE_AFTER_YEARS:d} years'""",
    ),
    Rule(
        "age_under_18",
        "procedure",
        f"A patient under {ADULT_AGE} at a procedure.",
        # age() counts full years as registry.vocabulary.age_years does (a 29 February birthday
        # falls on 1 March in other years).
        f"""
        SELECT pr.id, pa.id, pa.site_id, 'date',
               'The patient was ' || extract(year FROM age(pr.date, pa.birth_date))::int
               || ' at this procedure, under {ADULT_AGE:d}: check the procedure date and the date of '
               || 'birth, or confirm them.',
               GREATEST(pr.updated_at, pa.updated_at)
        FROM registry_procedure pr JOIN registry_patient pa ON pa.id = pr.patient_id
        WHERE {{in_scope}} AND extract(year FROM age(pr.date, pa.birth_date)) < {ADULT_AGE:d}""",  # noqa: S608
    ),
)
RULE_CODES = tuple(rule.code for rule in RULES)


@dataclasses.dataclass(frozen=True)
class Scope:
    """The patients a check covers: every one (``patient_ids`` None) or those listed."""

    patient_ids: tuple[int, ...] | None = None

    @property
    def patients_sql(self) -> str:
        """The condition on the patient ``pa`` of a rule's query."""
        return "TRUE" if self.patient_ids is None else "pa.id = ANY(%(patients)s)"


def rule_params(scope: Scope, today: datetime.date) -> dict:
    """The parameters every rule's query may use."""
    return {
        "today": today,
        "patients": list(scope.patient_ids or ()),
        "visit_keys": [visit.key for visit in SCHEDULE],
        "visit_labels": [visit.label for visit in SCHEDULE],
        "visit_first_days": [visit.first_day for visit in SCHEDULE],
        "visit_last_days": [visit.last_day for visit in SCHEDULE],
    }


def rule_sql(rule: Rule, scope: Scope) -> str:
    """``rule``'s query for ``scope``, without the common table expressions."""
    return rule.sql.format(in_scope=scope.patients_sql)


def common_sql(scope: Scope) -> str:
    """The common table expressions the rules read (``WITH`` not included)."""
    return INDEX_PROCEDURE_SQL.format(in_scope=scope.patients_sql)

"""Follow-up completeness: what became of each visit of outcomes.schedule.SCHEDULE after the index
procedures (docs/contract.md, "Follow-up completeness"). Pure functions over plain arrays, no Django.

One row per patient, each array in the same order:

- ``today_days``: days from the index procedure to the day of the computation (NaN: no index procedure);
- ``death_days``: days from the index procedure to death (NaN: alive);
- ``status``: the patient's follow-up status code (``active``, ``withdrawn``, ``lost_to_follow_up``);
- ``status_days``: days from the index procedure to the status date (NaN for an active patient);
- ``followup_windows``: a bit mask, bit ``i`` set when a follow-up of the index procedure falls in
  the window of ``SCHEDULE[i]`` (read from analysis.models.FollowupWindows, which the database
  keeps with the bounds of SCHEDULE: analysis/migrations/0004_followup_windows.py);
- ``not_done``: visit key -> the reason code of the index procedure's visit not done ('' for none).

Every visit has one outcome per index procedure (:func:`visit_outcomes`): not yet open, left before
it (died, withdrawn, lost: not expected), or expected and then done, not done, missed or pending.
A patient leaves the visit's count when their follow-up ended (death, or withdrawal or loss on the
status date, whichever came first; a death on the same day counts as the death) on or before the
window's last day, or on or before today while the window is open, unless a follow-up falls in the
window: the rule of outcomes.schedule.visit_status, which lists the visits due.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from outcomes.schedule import SCHEDULE

VISITS = tuple(visit.key for visit in SCHEDULE)
COUNTS = ("expected", "done", "not_done", "missed", "pending")
# The causes a patient leaves a window's count for, in the order they are attributed on the same day.
LEFT = ("died", "withdrawn", "lost")
# Patient status codes (registry.choices.PatientStatus; a test holds them to it) -> cause of leaving.
STATUSES = ("active", "withdrawn", "lost_to_follow_up")
STATUS_LEFT = {"withdrawn": "withdrawn", "lost_to_follow_up": "lost"}
# Reason codes of a visit not done (outcomes.models.NotDoneReason; a test holds them to it).
NOT_DONE_REASONS = ("declined", "too_ill", "deceased", "lost_to_follow_up", "withdrawn", "other")

# One outcome code per index procedure and visit.
NOT_OPEN, DONE, NOT_DONE, MISSED, PENDING, DIED, WITHDRAWN, LOST = range(8)
OUTCOME_NAMES = ("not_yet_open", "done", "not_done", "missed", "pending", "died", "withdrawn", "lost")
NO_INDEX = -1


def _case_sql(column: str, codes) -> str:
    return f"CASE {column} " + " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(codes)) + " END"


def status_code_sql(status: str) -> str:
    """SQL of the patient's status as its position in STATUSES: a number reads and hashes faster."""
    return f"COALESCE({_case_sql(status, STATUSES)}, 0)"


def not_done_code_sql(visit: str, reason: str) -> str:
    """SQL of one visit not done as a number: the reason's position in NOT_DONE_REASONS plus one,
    shifted 4 bits per visit of the schedule, so that a procedure's bit_or holds every visit's."""
    reasons = _case_sql(reason, ("", *NOT_DONE_REASONS))
    return f"({reasons}) << (4 * ({_case_sql(visit, VISITS)}))"


def decode_statuses(codes) -> np.ndarray:
    """status_code_sql's numbers back to the status codes."""
    return np.asarray(STATUSES)[np.asarray(codes, dtype=np.int64)]


def decode_not_done(codes) -> dict[str, np.ndarray]:
    """A procedure's bit_or of not_done_code_sql back to visit key -> reason code ('' for none)."""
    codes = np.asarray(codes, dtype=np.int64)
    reasons = np.asarray(("", *NOT_DONE_REASONS))
    return {key: reasons[(codes >> (4 * i)) & 15] for i, key in enumerate(VISITS)}


def _left_on(death_days, status, status_days) -> tuple[np.ndarray, np.ndarray]:
    """The day follow-up ended (NaN: still followed) and its cause (index into LEFT)."""
    death_days = np.asarray(death_days, dtype=float)
    status_days = np.asarray(status_days, dtype=float)
    status = np.asarray(status, dtype=str)
    left = np.isin(status, tuple(STATUS_LEFT))
    status_end = np.where(left, status_days, np.nan)
    # NaN compares False: a death-free row takes the status date, a status-free one the death.
    by_death = ~np.isnan(death_days) & ~(status_end < death_days)
    ended = np.where(by_death, death_days, status_end)
    cause = np.where(by_death, LEFT.index("died"), np.where(status == "withdrawn", 1, 2))
    return ended, cause


def visit_outcomes(
    today_days,
    death_days,
    status,
    status_days,
    followup_windows,
    not_done: Mapping[str, np.ndarray],
) -> np.ndarray:
    """An (n patients, len(SCHEDULE)) matrix of outcome codes (NOT_OPEN ... LOST; NO_INDEX for a
    patient without an index procedure), as the contract counts them."""
    today_days = np.asarray(today_days, dtype=float)
    windows = np.asarray(followup_windows, dtype=np.int64)
    ended, cause = _left_on(death_days, status, status_days)
    outcomes = np.full((today_days.size, len(SCHEDULE)), NO_INDEX, dtype=np.int8)
    indexed = ~np.isnan(today_days)
    for column, visit in enumerate(SCHEDULE):
        opened = indexed & (today_days >= visit.first_day)
        is_open = today_days <= visit.last_day
        done = (windows & (1 << column)) != 0
        gone = ended <= np.minimum(visit.last_day, today_days)  # False while followed (NaN)
        reason = np.asarray(not_done.get(visit.key, np.full(today_days.size, "")), dtype=str)
        expected = opened & (done | ~gone)
        outcome = np.select(
            [
                ~opened,
                ~expected,
                done,
                reason != "",
                is_open,
            ],
            [NOT_OPEN, DIED + cause, DONE, NOT_DONE, PENDING],
            default=MISSED,
        )
        outcomes[:, column] = np.where(indexed, outcome, NO_INDEX)
    return outcomes


def completeness(outcomes: np.ndarray) -> dict:
    """The contract's ``completeness`` from :func:`visit_outcomes`: per visit ``expected``, ``done``,
    ``not_done``, ``missed`` and ``pending`` (done + not_done + missed + pending = expected)."""
    result = {}
    for column, key in enumerate(VISITS):
        found = np.bincount(outcomes[:, column][outcomes[:, column] >= 0], minlength=len(OUTCOME_NAMES))
        counts = {name: int(found[code]) for name, code in (("done", DONE), ("not_done", NOT_DONE))}
        counts |= {"missed": int(found[MISSED]), "pending": int(found[PENDING])}
        result[key] = {"expected": sum(counts.values()), **counts}
    return result


def followup_flow(outcomes: np.ndarray, not_done: Mapping[str, np.ndarray]) -> dict:
    """What the flow diagram adds to ``completeness``: the index procedures, and per visit those whose
    window has not opened yet, the patients who left before it (``died``, ``withdrawn``, ``lost``) and
    the visits not done by reason (``not_done_reasons``, every reason listed)."""
    indexed = outcomes[:, 0] >= 0 if outcomes.shape[1] else np.zeros(len(outcomes), dtype=bool)
    visits = {}
    for column, key in enumerate(VISITS):
        found = np.bincount(outcomes[:, column][indexed], minlength=len(OUTCOME_NAMES))
        reasons = np.asarray(not_done.get(key, np.full(len(outcomes), "")), dtype=str)
        chosen = reasons[outcomes[:, column] == NOT_DONE]
        visits[key] = {
            "not_yet_open": int(found[NOT_OPEN]),
            **{name: int(found[DIED + i]) for i, name in enumerate(LEFT)},
            "not_done_reasons": {reason: int(np.count_nonzero(chosen == reason)) for reason in NOT_DONE_REASONS},
        }
    return {"index_procedures": int(np.count_nonzero(indexed)), "visits": visits}


COLUMNS = ("today_days", "death_days", "status", "status_days", "followup_windows")


def _column(cohort, name: str) -> np.ndarray | None:
    try:
        return cohort[name]
    except KeyError:
        return None


def _not_done(cohort) -> dict[str, np.ndarray]:
    columns = {key: _column(cohort, f"not_done_{key}") for key in VISITS}
    return {key: np.full(len(cohort), "") if values is None else values for key, values in columns.items()}


def cohort_outcomes(cohort) -> np.ndarray | None:
    """:func:`visit_outcomes` of a Cohort (analysis.stats) carrying COLUMNS and ``not_done_<visit>``;
    None for a cohort built without them (the statistics tests' own)."""
    columns = [_column(cohort, name) for name in COLUMNS]
    if any(values is None for values in columns):
        return None
    return visit_outcomes(*columns, _not_done(cohort))


def completeness_add(document: dict, cohort, strata, treatments) -> dict:
    """Adds ``completeness`` (the whole ``cohort``) and ``followup_flow`` (with ``signed_off``, the
    patients whose index procedure is signed off) to ``document``, and ``completeness`` to each of
    its ``strata.<stratum>.groups.<treatment>``; nothing for a cohort without the columns."""
    outcomes = cohort_outcomes(cohort)
    if outcomes is None:
        return document
    document["completeness"] = completeness(outcomes)
    flow = followup_flow(outcomes, _not_done(cohort))
    signed_off = _column(cohort, "signed_off")
    flow["signed_off"] = int(np.count_nonzero(signed_off)) if signed_off is not None else None
    document["followup_flow"] = flow
    for stratum in strata:
        for treatment in treatments:
            group = document["strata"][stratum]["groups"][treatment]
            chosen = (cohort["fracture_status"] == stratum) & (cohort["treatment"] == treatment)
            group["completeness"] = completeness(outcomes[chosen])
    return document

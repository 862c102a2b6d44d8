"""Follow-up completeness as pure functions (analysis.completeness), against hand-computed counts: no database."""

import numpy as np

from analysis import completeness as c
from analysis.stats import Cohort, cohort_document
from analysis.tests.cohorts import cohort, row
from outcomes.models import NotDoneReason, ScheduledVisit
from registry.choices import PatientStatus

NAN = np.nan

# Windows: week2 days 7-21 (bit 1), month1 22-45 (bit 2), month3 75-120 (bit 4).
# (today_days, death_days, status, status_days, followup_windows, {visit: not-done reason})
ROWS = {
    "A": (
        100,
        NAN,
        "active",
        NAN,
        1,
        {"week2": "other"},
    ),  # week2 done (its not-done ignored), month1 missed, month3 pending
    "B": (5, NAN, "active", NAN, 0, {}),  # nothing open yet
    "C": (200, 30, "active", NAN, 0, {}),  # week2 missed, died before month1's and month3's last days
    "D": (200, 30, "active", NAN, 2, {}),  # as C but a follow-up in month1: done although dead by its end
    "E": (50, NAN, "withdrawn", 10, 0, {}),  # withdrew on day 10: week2 and month1 not expected
    "F": (80, NAN, "lost_to_follow_up", 78, 0, {"week2": "too_ill"}),  # lost on day 78, inside the open month3
    "G": (30, NAN, "active", NAN, 0, {"month1": "declined"}),  # month1 not done while still open
    "H": (NAN, NAN, "active", NAN, 0, {}),  # no index procedure: counted nowhere
    "I": (21, 21, "active", NAN, 0, {}),  # died on week2's last day: not expected
    "J": (45, 45, "withdrawn", 45, 0, {}),  # died and withdrew on month1's last day: counted as died
    "K": (7, NAN, "active", NAN, 0, {}),  # week2 opened today
}


def _arrays(rows):
    columns = list(zip(*rows.values(), strict=True))
    not_done = {key: np.array([r.get(key, "") for r in columns[5]]) for key in c.VISITS}
    return [np.array(values) for values in columns[:5]], not_done


def _outcomes(rows=ROWS):
    arrays, not_done = _arrays(rows)
    return c.visit_outcomes(*arrays, not_done), not_done


def test_it_gives_each_visit_its_outcome_as_the_contract_defines():
    outcomes, _ = _outcomes()
    names = {key: [c.OUTCOME_NAMES[code] if code >= 0 else "-" for code in row] for key, row in zip(ROWS, outcomes)}

    assert names == {
        "A": ["done", "missed", "pending"],
        "B": ["not_yet_open", "not_yet_open", "not_yet_open"],
        "C": ["missed", "died", "died"],
        "D": ["missed", "done", "died"],
        "E": ["withdrawn", "withdrawn", "not_yet_open"],
        "F": ["not_done", "missed", "lost"],
        "G": ["missed", "not_done", "not_yet_open"],
        "H": ["-", "-", "-"],
        "I": ["died", "not_yet_open", "not_yet_open"],
        "J": ["missed", "died", "not_yet_open"],
        "K": ["pending", "not_yet_open", "not_yet_open"],
    }


def test_it_counts_expected_done_not_done_missed_and_pending_per_visit():
    outcomes, _ = _outcomes()

    assert c.completeness(outcomes) == {
        "week2": {"expected": 7, "done": 1, "not_done": 1, "missed": 4, "pending": 1},
        "month1": {"expected": 4, "done": 1, "not_done": 1, "missed": 2, "pending": 0},
        "month3": {"expected": 1, "done": 0, "not_done": 0, "missed": 0, "pending": 1},
    }


def test_the_flow_counts_the_windows_not_open_the_patients_who_left_and_the_reasons():
    outcomes, not_done = _outcomes()

    flow = c.followup_flow(outcomes, not_done)

    assert flow["index_procedures"] == 10
    reasons = dict.fromkeys(c.NOT_DONE_REASONS, 0)
    assert flow["visits"] == {
        "week2": {
            "not_yet_open": 1,
            "died": 1,
            "withdrawn": 1,
            "lost": 0,
            "not_done_reasons": reasons | {"too_ill": 1},
        },
        "month1": {
            "not_yet_open": 3,
            "died": 2,
            "withdrawn": 1,
            "lost": 0,
            "not_done_reasons": reasons | {"declined": 1},
        },
        "month3": {"not_yet_open": 6, "died": 2, "withdrawn": 0, "lost": 1, "not_done_reasons": reasons},
    }
    # Every index procedure is in exactly one box of each window.
    counts = c.completeness(outcomes)
    for key, visit in flow["visits"].items():
        left = visit["not_yet_open"] + visit["died"] + visit["withdrawn"] + visit["lost"]
        assert left + counts[key]["expected"] == flow["index_procedures"]


def test_an_empty_scope_counts_zeros():
    outcomes = c.visit_outcomes(*(np.array([]) for _ in range(5)), {})

    assert c.completeness(outcomes) == {key: dict.fromkeys(c.COUNTS, 0) for key in c.VISITS}
    assert c.followup_flow(outcomes, {})["index_procedures"] == 0


def test_the_codes_are_those_of_the_models():
    assert tuple(ScheduledVisit.values) == c.VISITS
    assert tuple(NotDoneReason.values) == c.NOT_DONE_REASONS
    assert set(c.STATUS_LEFT) == set(PatientStatus.values) - {PatientStatus.ACTIVE}


def _with_completeness(base: Cohort, rows) -> Cohort:
    arrays, not_done = _arrays(rows)
    columns = dict(base.columns)
    for name, values in zip(c.COLUMNS, arrays, strict=True):
        columns[name] = values
    for key, values in not_done.items():
        columns[f"not_done_{key}"] = values
    columns["signed_off"] = np.array([i % 2 == 0 for i in range(len(base))])
    return Cohort(columns, base.complication_kinds)


def test_the_document_holds_completeness_for_the_scope_and_each_group():
    people = {
        "A": row(treatment="psfs", fracture_status="pathological"),
        "C": row(treatment="psfs", fracture_status="pathological"),
        "F": row(treatment="sacroplasty", fracture_status="pathological"),
        "G": row(treatment="psfs", fracture_status="impending"),
        "K": row(treatment="sacroplasty", fracture_status="impending"),
    }
    data = _with_completeness(cohort(list(people.values())), {key: ROWS[key] for key in people})

    document = cohort_document(data, computed_at="2026-11-27T00:00:00+00:00")

    assert document["completeness"] == {
        "week2": {"expected": 5, "done": 1, "not_done": 1, "missed": 2, "pending": 1},
        "month1": {"expected": 3, "done": 0, "not_done": 1, "missed": 2, "pending": 0},
        "month3": {"expected": 1, "done": 0, "not_done": 0, "missed": 0, "pending": 1},
    }
    groups = {(s, t): g["completeness"] for s, d in document["strata"].items() for t, g in d["groups"].items()}
    assert groups[("pathological", "psfs")]["month1"] == {
        "expected": 1,
        "done": 0,
        "not_done": 0,
        "missed": 1,
        "pending": 0,
    }
    assert groups[("pathological", "sacroplasty")]["week2"]["not_done"] == 1
    assert groups[("impending", "psfs")]["month1"]["not_done"] == 1
    assert groups[("impending", "sacroplasty")]["week2"] == {
        "expected": 1,
        "done": 0,
        "not_done": 0,
        "missed": 0,
        "pending": 1,
    }
    assert document["followup_flow"]["index_procedures"] == 5
    assert document["followup_flow"]["signed_off"] == 3


def test_a_cohort_without_the_columns_has_no_completeness():
    document = cohort_document(cohort([row()]), computed_at="2026-11-27T00:00:00+00:00")

    assert "completeness" not in document
    assert "completeness" not in document["strata"]["pathological"]["groups"]["psfs"]


def test_the_numbers_the_query_sends_decode_to_the_codes():
    statuses = c.decode_statuses(np.array([0, 1, 2]))
    # The visits not done of one procedure: month1 too ill (2nd reason), month3 other (6th), as bit_or gives them.
    not_done = c.decode_not_done(np.array([0, (2 << 4) | (6 << 8), 1]))

    assert tuple(statuses) == ("active", "withdrawn", "lost_to_follow_up")
    assert tuple(PatientStatus.values) == c.STATUSES
    assert {key: list(values) for key, values in not_done.items()} == {
        "week2": ["", "", "declined"],
        "month1": ["", "too_ill", ""],
        "month3": ["", "other", ""],
    }
    assert c.not_done_code_sql("v", "r").startswith("(CASE r WHEN '' THEN 0 WHEN 'declined' THEN 1 ")

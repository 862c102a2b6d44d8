"""The stats document's keys beyond the study's tables: the MSTS trajectory, the responders and the
test of the improvement, built from a Cohort by the pure functions of analysis.trajectory and
analysis.responders (docs/contract.md, "Survival, incidence, trajectory, responders").

The Cohort's ``visit_days`` and ``visit_totals`` hold, per patient, every follow-up of the index
procedure with a complete MSTS total, as space-separated days from the index procedure and totals
('' for none): text, parsed only for the strata the mixed model is fitted for (parsing 100,000
patients' visits would cost the refresh 0.2 s for a model it does not fit at that size).
"""

from __future__ import annotations

import warnings

import numpy as np

from analysis.responders import improvement_test, responders_by_stratum
from analysis.trajectory import trajectory_model
from outcomes.schedule import SCHEDULE
from registry.vocabulary import PSFS, SACROPLASTY, STRATA

# The mixed model costs about 0.5 s of CPU per 1,000 patients (statsmodels MixedLM, REML): the
# refresh fits it for a stratum of at most this many patients, so that it stays within its time
# budget (bench/README.md); a larger stratum reports why it has no estimate.
MIXED_MODEL_MAX_PATIENTS = 500
IMPROVEMENT_TEST_NOTE = (
    "Welch's t-test (unequal variances, two-sided) of the improvement percentages, PSFS against sacroplasty"
)


def visit_matrix(texts) -> np.ndarray:
    """Space-separated numbers per row ('' for none) as an (n, most numbers in a row) float matrix,
    NaN-padded on the right; at least one column."""
    texts = np.asarray(texts, dtype=object)
    per_row = np.array([text.count(" ") + 1 if text else 0 for text in texts], dtype=np.int64)
    matrix = np.full((texts.size, max(1, int(per_row.max(initial=0)))), np.nan)
    if per_row.any():
        values = np.array(" ".join(text for text in texts if text).split(), dtype=float)
        starts = np.cumsum(per_row) - per_row
        rows = np.repeat(np.arange(texts.size), per_row)
        matrix[rows, np.arange(values.size) - starts[rows]] = values
    return matrix


def mixed_model_patients(cohort) -> np.ndarray:
    """Which patients the mixed model would use: a baseline total and at least one complete follow-up."""
    return (cohort["visit_totals"] != "") & ~np.isnan(cohort["pre_total"])


def trajectory_visits(cohort) -> dict[str, np.ndarray]:
    """One entry per visit that the mixed model can use (a baseline total and a complete follow-up total).

    Returns ``post``, ``pre``, ``days``, ``is_psfs`` and ``patient`` (the row of the patient in ``cohort``).
    """
    days, totals = visit_matrix(cohort["visit_days"]), visit_matrix(cohort["visit_totals"])
    pre = cohort["pre_total"]
    usable = ~np.isnan(totals) & ~np.isnan(days) & ~np.isnan(pre)[:, None]
    rows, _ = np.nonzero(usable)
    return {
        "post": totals[usable],
        "pre": pre[rows],
        "days": days[usable],
        "is_psfs": cohort["treatment"][rows] == PSFS,
        "patient": rows,
    }


# The nominal month of each follow-up window of outcomes.schedule (a test holds it to SCHEDULE).
VISIT_MONTHS = {"week2": 0.5, "month1": 1, "month3": 3}


def visit_means(visits: dict[str, np.ndarray]) -> dict[str, list[list]]:
    """Each treatment's mean complete MSTS total by visit, from :func:`trajectory_visits`:
    ``{"psfs": [[month, mean, n], ...], "sacroplasty": [...]}``. Month 0 is the baseline of the
    patients the model uses (one per patient); then, per window of outcomes.schedule at its nominal
    month, the mean of every follow-up that falls in it (a visit outside every window is left out;
    a window without a visit has no row)."""
    result = {}
    for treatment, chosen in ((PSFS, visits["is_psfs"]), (SACROPLASTY, ~visits["is_psfs"])):
        rows = []
        patients, first = np.unique(visits["patient"][chosen], return_index=True)
        if patients.size:
            rows.append([0, float(np.mean(visits["pre"][chosen][first])), int(patients.size)])
        days, post = visits["days"][chosen], visits["post"][chosen]
        for window in SCHEDULE:
            inside = (days >= window.first_day) & (days <= window.last_day)
            if inside.any():
                rows.append([VISIT_MONTHS[window.key], float(np.mean(post[inside])), int(np.count_nonzero(inside))])
        result[treatment] = rows
    return result


def _too_large(n_patients: int, n_visits: int) -> dict:
    return {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": n_patients,
        "n_visits": n_visits,
        "note": (
            f"not computed: {n_patients} patients in this stratum; the refresh fits the mixed model "
            f"for at most {MIXED_MODEL_MAX_PATIENTS} (about 0.5 s of computing per 1,000 patients)"
        ),
    }


def _visits_not_read() -> dict:
    return {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": None,
        "n_visits": None,
        "note": (
            "not computed: the registry holds more patients than the refresh reads visits for; it fits the "
            f"mixed model only for strata of at most {MIXED_MODEL_MAX_PATIENTS} patients"
        ),
    }


def trajectory_key(cohort) -> dict:
    """The ``trajectory`` key: the mixed model of each stratum (analysis.trajectory)."""
    # A cohort built without the column (the tests' own) holds its visits.
    read = cohort["visits_read"] if "visits_read" in cohort.columns else np.ones(len(cohort), dtype=bool)
    if len(cohort) and not read.all():
        return {stratum: _visits_not_read() for stratum in STRATA}
    result = {}
    for stratum in STRATA:
        inside = cohort.subset(cohort["fracture_status"] == stratum)
        used = mixed_model_patients(inside)
        n_patients = int(np.count_nonzero(used))
        if n_patients > MIXED_MODEL_MAX_PATIENTS:
            n_visits = sum(text.count(" ") + 1 for text in inside["visit_totals"][used])
            result[stratum] = _too_large(n_patients, n_visits)
            result[stratum]["visits"] = visit_means(trajectory_visits(inside))
            continue
        visits = trajectory_visits(inside)
        result[stratum] = trajectory_model(
            visits["post"], visits["is_psfs"], visits["pre"], visits["days"], visits["patient"]
        )
        result[stratum]["visits"] = visit_means(visits)
    return result


def improvement_key(cohort) -> dict:
    """The test of the improvement within one stratum: :func:`analysis.responders.improvement_test`,
    its note naming the test (and, when it cannot be computed, why)."""
    pre, post = cohort["pre_total"], cohort["post_total"]
    is_psfs = cohort["treatment"] == PSFS
    change = (post - pre)[~np.isnan(pre) & ~np.isnan(post)]
    paired_psfs = is_psfs[~np.isnan(pre) & ~np.isnan(post)]
    constant = [np.ptp(change[group]) == 0 for group in (paired_psfs, ~paired_psfs) if group.any()]
    with warnings.catch_warnings():
        if any(constant):
            # scipy warns of the precision lost on the constant group's variance (zero up to rounding).
            warnings.simplefilter("ignore", RuntimeWarning)
        result = improvement_test(pre, post, is_psfs)
    if constant and all(constant) and result["p_value"] is not None:
        # Equal changes within each treatment: the t-test would read the rounding as a certain
        # difference (p near 0) where there is no variation to test.
        result.update(statistic=None, df=None, p_value=None)
        result["note"] = "not computable: the improvement does not vary within either treatment"
    reason = result.get("note")
    result["note"] = f"{IMPROVEMENT_TEST_NOTE}; {reason}" if reason else IMPROVEMENT_TEST_NOTE
    return result


def cohort_extras_add(document: dict, cohort) -> dict:
    """Adds ``trajectory``, ``responders`` and, in each stratum, ``improvement_p_value`` with its
    ``improvement_test`` to ``document`` (built from the same ``cohort`` of treated patients)."""
    for stratum in STRATA:
        test = improvement_key(cohort.subset(cohort["fracture_status"] == stratum))
        document["strata"][stratum]["improvement_p_value"] = test["p_value"]
        document["strata"][stratum]["improvement_test"] = test
    document["trajectory"] = trajectory_key(cohort)
    document["responders"] = responders_by_stratum(
        cohort["pre_total"], cohort["post_total"], cohort["treatment"], cohort["fracture_status"], STRATA
    )
    return document


SCHEDULED_NOTE = "fitted on its own schedule (age shown)"


def trajectory_scheduled_fits(cohort, *, every_stratum: bool) -> dict:
    """The mixed models the refresh leaves unfitted because of their size, for the trajectory's own
    schedule: each stratum of ``cohort`` (one scope) of more than MIXED_MODEL_MAX_PATIENTS patients, or
    every stratum when ``every_stratum`` (the refresh read no visits). Stratum -> trajectory entry."""
    result = {}
    for stratum in STRATA:
        inside = cohort.subset(cohort["fracture_status"] == stratum)
        if not every_stratum and np.count_nonzero(mixed_model_patients(inside)) <= MIXED_MODEL_MAX_PATIENTS:
            continue
        visits = trajectory_visits(inside)
        result[stratum] = trajectory_model(
            visits["post"], visits["is_psfs"], visits["pre"], visits["days"], visits["patient"]
        )
        result[stratum]["visits"] = visit_means(visits)
    return result


def trajectory_stored_apply(document: dict, stored: dict, *, computed_at: str) -> dict:
    """Puts into ``document`` the estimates fitted on the trajectory's own schedule (``stored``, stratum ->
    entry, fitted from visits read at ``computed_at``) for each stratum the refresh left without one
    because of its size; the entry carries ``computed_at`` and says so in its note."""
    for stratum, entry in stored.items():
        current = document.get("trajectory", {}).get(stratum)
        if (
            not current
            or current.get("difference") is not None
            or not str(current.get("note", "")).startswith("not computed:")
        ):
            continue
        reason = entry.get("note")
        document["trajectory"][stratum] = {
            **entry,
            "computed_at": computed_at,
            "note": f"{SCHEDULED_NOTE}; {reason}" if reason else SCHEDULED_NOTE,
        }
    return document

"""The study's statistics as pure functions over plain arrays (numpy, scipy, statsmodels; no Django).

Input is a :class:`Cohort`: one row per patient, columns as numpy arrays, built by
``analysis.selectors.cohort_fetch``. A missing number is NaN, a missing code ''.
Output is the stats document of docs/contract.md: plain dicts, lists, str, int,
float and None, so it serialises to JSON as it is (never NaN).

Nothing is rounded here: the document carries full precision and the pages round
for display. A value that cannot be computed is None with a ``"note"`` beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from analysis.completeness import completeness_add
from analysis.curves import add_curves
from analysis.survival import competing_status, incidence_by_treatment, survival_by_treatment
from outcomes.msts import DOMAIN_KEYS as DOMAINS
from outcomes.msts import TOTAL_KEY, msts_percent_exact
from registry.vocabulary import PSFS, SACROPLASTY, STRATA, TREATMENTS

# Stats-document keys of the total and the MSTS domains (outcomes.msts), in order.
MEASURES = (TOTAL_KEY, *DOMAINS)
NARCOTIC_CHANGES = ("decreased", "stable", "increased")
NAMED_CANCERS = ("multiple_myeloma", "liver", "renal")  # Table 1 rows; every other primary is "other"
ABLATIONS = ("rfa", "cryo", "microwave")
ALPHA = 0.05
# y = b0 + b1 * psfs + b2 * pre needs one residual degree of freedom at least.
ANCOVA_MIN_N = 4


class Cohort:
    """One row per patient, the index procedure's data in each column.

    Columns: ``site_id``; codes ``treatment``, ``fracture_status``, ``sex``,
    ``primary_cancer``, ``ablation``, ``narcotic_change`` (of the final follow-up);
    ``prior_local_radiation`` (bool); ``index_month`` (year * 12 + month - 1 of the
    index procedure, a number for speed: sorting strings is slow); numbers ``age``
    (years at the index procedure), ``pre_<measure>`` and ``post_<measure>`` for each
    of MEASURES, ``followup_days`` (index procedure to final follow-up),
    ``secondary_count``, ``secondary_first_days``, ``death_days`` (NaN while alive),
    ``last_alive_days`` (the last day known alive), and ``complications``, an
    (n, len(complication_kinds)) count matrix.

    A subset keeps the row numbers only and copies a column when it is first read:
    the statistics read few columns of each of their many subsets.
    """

    def __init__(self, columns: Mapping[str, np.ndarray], complication_kinds=(), *, rows: np.ndarray | None = None):
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"Cohort columns differ in length: {sorted(lengths)}.")
        self._source = columns
        self._rows = rows
        self._read: dict[str, np.ndarray] = {}
        self.complication_kinds = tuple(complication_kinds)
        self._n = len(rows) if rows is not None else (lengths.pop() if lengths else 0)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, name: str) -> np.ndarray:
        if self._rows is None:
            return self._source[name]
        if name not in self._read:
            self._read[name] = self._source[name][self._rows]
        return self._read[name]

    def has_column(self, name: str) -> bool:
        return name in self._source

    @property
    def columns(self) -> dict[str, np.ndarray]:
        return {name: self[name] for name in self._source}

    def subset(self, mask: np.ndarray) -> Cohort:
        """The rows where ``mask`` is True."""
        if mask.all():
            return self
        rows = np.flatnonzero(mask)
        if self._rows is None and (rows.size == 0 or rows[-1] - rows[0] + 1 == rows.size):
            # Contiguous rows (a cohort sorted by site, stratum and treatment): views, no copies.
            part = slice(rows[0], rows[-1] + 1) if rows.size else slice(0, 0)
            return Cohort({name: values[part] for name, values in self._source.items()}, self.complication_kinds)
        return Cohort(self._source, self.complication_kinds, rows=rows if self._rows is None else self._rows[rows])

    def sorted_by(self, *names: str) -> Cohort:
        """The same rows ordered by ``names`` (first name first), so that their subsets are contiguous."""
        order = np.lexsort([self[name] for name in reversed(names)])
        return Cohort({name: self[name][order] for name in self._source}, self.complication_kinds)


# --- JSON-safe numbers --------------------------------------------------------------


def number(value) -> float | None:
    """A float for JSON: None for NaN, infinity or None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _with_note(values: dict, reasons: Iterable[str]) -> dict:
    reasons = [reason for reason in reasons if reason]
    if reasons:
        values["note"] = "; ".join(dict.fromkeys(reasons))
    return values


# --- Descriptive statistics --------------------------------------------------------


def describe(values: np.ndarray) -> dict:
    """Mean, median, min and max of the non-missing values, with their count n."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return {"mean": None, "median": None, "min": None, "max": None, "n": 0, "note": "not enough data: no values"}
    return {
        "mean": number(values.mean()),
        "median": number(np.median(values)),
        "min": number(values.min()),
        "max": number(values.max()),
        "n": int(values.size),
    }


def mean_sd(values: np.ndarray) -> dict:
    """Mean and sample standard deviation (ddof=1) of the non-missing values."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = int(values.size)
    if n == 0:
        return {"mean": None, "sd": None, "n": 0, "note": "not enough data: no patient with both scores"}
    if n == 1:
        return {"mean": number(values[0]), "sd": None, "n": 1, "note": "not enough data: SD needs 2 patients"}
    return {"mean": number(values.mean()), "sd": number(values.std(ddof=1)), "n": n}


def counts(values: np.ndarray, categories: Iterable[str]) -> dict[str, int]:
    """How many values equal each category (every category is listed, zeros included)."""
    return {category: int(np.count_nonzero(values == category)) for category in categories}


def _unique_counts(values: np.ndarray) -> list[tuple[str, int]]:
    codes, found = np.unique(values, return_counts=True)
    return [(str(code), int(count)) for code, count in zip(codes, found, strict=True)]


def msts_means(pre: Mapping[str, np.ndarray], post: Mapping[str, np.ndarray]) -> dict:
    """Mean pre- and post-operative score per measure, over the patients with both scores.

    Returns ``msts_pre``, ``msts_post`` and ``msts_n`` (the patients each measure's
    means and comparisons are based on).
    """
    result = {"msts_pre": {}, "msts_post": {}, "msts_n": {}}
    reasons = []
    for measure in MEASURES:
        paired = ~np.isnan(pre[measure]) & ~np.isnan(post[measure])
        n = int(np.count_nonzero(paired))
        result["msts_n"][measure] = n
        result["msts_pre"][measure] = number(pre[measure][paired].mean()) if n else None
        result["msts_post"][measure] = number(post[measure][paired].mean()) if n else None
        if not n:
            reasons.append(f"{measure}: no patient with both a baseline and a scored final follow-up")
    _with_note(result["msts_pre"], reasons)
    _with_note(result["msts_post"], reasons)
    return result


def improvement_pct(pre_total: np.ndarray, post_total: np.ndarray) -> dict:
    """Mean and SD (ddof=1) of (post - pre) as a percentage of MSTS_MAX, over the patients with both totals."""
    return mean_sd(msts_percent_exact(np.asarray(post_total, float) - np.asarray(pre_total, float)))


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> list[dict]:
    """Product-limit estimate: one point at t=0, then one at each distinct event time.

    ``time`` in days (NaN rows are left out), ``event`` True where the time is an
    event and False where it is censored. ``at_risk`` counts the patients still
    followed just before t; a censored time equal to an event time is still at risk.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    keep = ~np.isnan(time)
    time, event = time[keep], event[keep]
    curve = [{"t": 0.0, "survival": 1.0, "at_risk": int(time.size)}]
    if not time.size:
        return curve
    event_times, deaths = np.unique(time[event], return_counts=True)
    if not event_times.size:
        return curve
    ordered = np.sort(time)
    at_risk = ordered.size - np.searchsorted(ordered, event_times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    curve.extend(
        {"t": float(t), "survival": float(s), "at_risk": int(r)}
        for t, s, r in zip(event_times, survival, at_risk, strict=True)
    )
    return curve


# --- ANCOVA ----------------------------------------------------------------------


def _ancova_null(n: int, note: str) -> dict:
    return {"difference": None, "ci_low": None, "ci_high": None, "p_value": None, "n": n, "note": note}


def ancova(post: np.ndarray, pre: np.ndarray, is_psfs: np.ndarray) -> dict:
    """Adjusted PSFS minus sacroplasty difference of ``post``, with ``pre`` as covariate.

    OLS of post = b0 + b1 * psfs + b2 * pre over the rows with both scores; returns b1,
    its 95% confidence interval, its two-sided t-test p-value and n.
    """
    post = np.asarray(post, dtype=float)
    pre = np.asarray(pre, dtype=float)
    is_psfs = np.asarray(is_psfs, dtype=bool)
    keep = ~np.isnan(post) & ~np.isnan(pre)
    y, x_pre, psfs = post[keep], pre[keep], is_psfs[keep]
    n = int(y.size)
    n_psfs = int(np.count_nonzero(psfs))
    if n_psfs == 0 or n_psfs == n:
        return _ancova_null(
            n, f"not enough data: needs patients of both treatments ({PSFS} {n_psfs}, {SACROPLASTY} {n - n_psfs})"
        )
    if n < ANCOVA_MIN_N:
        return _ancova_null(n, f"not enough data: {n} patients with both scores, {ANCOVA_MIN_N} needed")
    # The design [1, psfs, pre] is singular exactly when pre is constant within each treatment group.
    if np.ptp(x_pre[psfs]) == 0 and np.ptp(x_pre[~psfs]) == 0:
        return _ancova_null(n, "singular model: the pre-operative score is constant or confounded with the treatment")
    # Column-major: statsmodels reduces and factorises by column, twice as fast as on a row-major copy.
    design = np.empty((n, 3), order="F")
    design[:, 0] = 1.0
    design[:, 1] = psfs
    design[:, 2] = x_pre
    # Imported here: statsmodels takes seconds to import, and web processes that only read snapshots never fit.
    from statsmodels.regression.linear_model import OLS

    fit = OLS(y, design, hasconst=True).fit()
    if fit.ssr <= 1e-12 * max(1.0, fit.centered_tss):
        return _ancova_null(n, "not computable: the model fits the data exactly (no residual variance)")
    low, high = fit.conf_int(alpha=ALPHA)[1]
    result = {
        "difference": number(fit.params[1]),
        "ci_low": number(low),
        "ci_high": number(high),
        "p_value": number(fit.pvalues[1]),
        "n": n,
    }
    if None in (result["difference"], result["ci_low"], result["ci_high"], result["p_value"]):
        result["note"] = "not computable: the fit gave no finite estimate"
    return result


def stratum_ancova(cohort: Cohort) -> dict:
    """ANCOVA of each measure within one stratum."""
    is_psfs = cohort["treatment"] == PSFS
    return {measure: ancova(cohort[f"post_{measure}"], cohort[f"pre_{measure}"], is_psfs) for measure in MEASURES}


# --- Groups, strata, demographics --------------------------------------------------------


def _secondary_free_curve(cohort: Cohort) -> dict:
    """Kaplan-Meier of secondary-procedure-free time, censored at the final follow-up."""
    had = cohort["secondary_count"] > 0
    time = np.where(had, cohort["secondary_first_days"], cohort["followup_days"])
    curve = kaplan_meier(time, had)
    left_out = int(np.count_nonzero(np.isnan(time)))
    result = {"curve": curve, "n": len(cohort) - left_out, "events": int(np.count_nonzero(had))}
    if left_out:
        result["note"] = f"{left_out} patients without any follow-up or secondary procedure are left out"
    return result


PAIRS_SHOWN = 300


def total_pairs(pre_total: np.ndarray, post_total: np.ndarray) -> dict:
    """The (pre, post) totals of the patients with both, for the dashboard's per-patient lines.

    Returns ``msts_total_sd`` (sample SD of each side, for the means' confidence intervals)
    and ``msts_total_pairs``: every pair up to PAIRS_SHOWN, beyond that an evenly spaced
    sample of them (more lines than that only blacken the picture). Pairs carry no identifier.
    """
    paired = ~np.isnan(pre_total) & ~np.isnan(post_total)
    pre, post = pre_total[paired], post_total[paired]
    n = int(pre.size)
    sd = {
        "pre": number(pre.std(ddof=1)) if n > 1 else None,
        "post": number(post.std(ddof=1)) if n > 1 else None,
    }
    shown = np.linspace(0, n - 1, num=min(n, PAIRS_SHOWN)).round().astype(int) if n else np.array([], dtype=int)
    return {
        "msts_total_sd": sd,
        "msts_total_pairs": [[number(pre[i]), number(post[i])] for i in shown],
    }


def group_summary(cohort: Cohort) -> dict:
    """The statistics of one treatment group within one stratum."""
    n = len(cohort)
    pre = {measure: cohort[f"pre_{measure}"] for measure in MEASURES}
    post = {measure: cohort[f"post_{measure}"] for measure in MEASURES}
    msts = msts_means(pre, post)
    had_secondary = int(np.count_nonzero(cohort["secondary_count"] > 0))
    narcotics = counts(cohort["narcotic_change"], NARCOTIC_CHANGES)
    narcotics["not_recorded"] = n - sum(narcotics.values())
    complications = cohort["complications"]
    summary = {
        "n": n,
        "msts_pre": msts["msts_pre"],
        "msts_post": msts["msts_post"],
        "msts_n": msts["msts_n"],
        "msts_excluded": {measure: n - count for measure, count in msts["msts_n"].items()},
        "improvement_pct": improvement_pct(pre["total"], post["total"]),
        **total_pairs(pre["total"], post["total"]),
        "narcotic_change": narcotics,
        "secondary_procedures": {"patients": had_secondary, "rate": had_secondary / n if n else None},
        "time_to_secondary_days": describe(cohort["secondary_first_days"][cohort["secondary_count"] > 0]),
        "kaplan_meier": _secondary_free_curve(cohort),
        "followup_days": describe(cohort["followup_days"]),
        "complications": {
            kind: int(complications[:, column].sum()) for column, kind in enumerate(cohort.complication_kinds)
        },
    }
    if not n:
        summary["secondary_procedures"]["note"] = "not enough data: no patient in this group"
    return summary


def stratum_summary(cohort: Cohort) -> dict:
    """Both treatment groups of one fracture stratum and their ANCOVA."""
    return {
        "n": len(cohort),
        "groups": {
            treatment: group_summary(cohort.subset(cohort["treatment"] == treatment)) for treatment in TREATMENTS
        },
        "ancova": stratum_ancova(cohort),
    }


def demographics(cohort: Cohort) -> dict:
    """Table 1 of the study for one treatment group (all strata)."""
    cancer = cohort["primary_cancer"]
    ablation = cohort["ablation"]
    age = cohort["age"]
    named = counts(cancer, NAMED_CANCERS)
    ablations = counts(ablation, ABLATIONS)
    result = {
        "n": len(cohort),
        "age_mean": number(np.nanmean(age)) if np.count_nonzero(~np.isnan(age)) else None,
        "sex": counts(cohort["sex"], ("male", "female")),
        "primary_cancer": {**named, "other": len(cohort) - sum(named.values())},
        "primary_cancer_codes": dict(_unique_counts(cancer)),
        "prior_local_radiation": int(np.count_nonzero(cohort["prior_local_radiation"])),
        "ablation": {"any": sum(ablations.values()), **ablations},
    }
    if result["age_mean"] is None:
        result["note"] = "age_mean: not enough data: no patient in this group"
    return result


def enrolment_by_month(cohort: Cohort) -> list[dict]:
    """Index procedures per month (YYYY-MM) and treatment, months in order."""
    dated = ~np.isnan(cohort["index_month"])
    months, position = np.unique(cohort["index_month"][dated].astype(np.int64), return_inverse=True)
    per_treatment = {
        treatment: np.bincount(position, weights=cohort["treatment"][dated] == treatment, minlength=months.size)
        for treatment in TREATMENTS
    }
    return [
        {
            "month": f"{month // 12:04d}-{month % 12 + 1:02d}",
            **{treatment: int(per_treatment[treatment][i]) for treatment in TREATMENTS},
        }
        for i, month in enumerate(months)
    ]


def survival_keys(cohort: Cohort) -> dict:
    """``survival`` and ``secondary_procedure_incidence`` by treatment (analysis.survival).

    A living patient is censored at the last day known alive; the incidence counts a first
    secondary procedure, death competing.
    """
    death, alive = cohort["death_days"], cohort["last_alive_days"]
    died = ~np.isnan(death)
    secondary = np.where(cohort["secondary_count"] > 0, cohort["secondary_first_days"], np.nan)
    time, status = competing_status(secondary, death, alive)
    keys = {
        "survival": survival_by_treatment(np.where(died, death, alive), died, cohort["treatment"]),
        "secondary_procedure_incidence": incidence_by_treatment(time, status, cohort["treatment"]),
    }
    # The dashboard's curves: each treatment's steps and numbers at risk (analysis.curves).
    return add_curves(keys, np.where(died, death, alive), died, time, status, cohort["treatment"])


def cohort_document(cohort: Cohort, *, computed_at: str) -> dict:
    """The whole stats document for ``cohort``; patients without a procedure count only in n_patients."""
    treated = cohort.subset(np.isin(cohort["treatment"], TREATMENTS) & np.isin(cohort["fracture_status"], STRATA))
    # Imported here: scipy.stats and the mixed model load slowly, and web processes only read snapshots.
    from analysis.cohort_extras import cohort_extras_add

    document = {
        "computed_at": computed_at,
        "n_patients": len(cohort),
        "n_patients_analysed": len(treated),
        "strata": {
            stratum: stratum_summary(treated.subset(treated["fracture_status"] == stratum)) for stratum in STRATA
        },
        "demographics": {
            treatment: demographics(treated.subset(treated["treatment"] == treatment)) for treatment in TREATMENTS
        },
        "enrolment": enrolment_by_month(treated),
        **survival_keys(treated),
    }
    cohort_extras_add(document, treated)
    return completeness_add(document, treated, STRATA, TREATMENTS)

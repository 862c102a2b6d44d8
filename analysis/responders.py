"""Responders by the distribution-based MCID, and the test of the improvement, as pure functions on arrays.

- The MCID is half the sample standard deviation (ddof=1) of every baseline MSTS total in the
  scope, one value shared by the strata and treatments of the scope.
- A responder's final follow-up total exceeds their baseline by at least the MCID; counted among
  the patients with both totals. The rates of the two treatments are compared with Fisher's exact
  test, two-sided (scipy.stats.fisher_exact).
- The improvement comparison printed beside the groups' mean improvements (the study's "51% ± 19
  vs 25% ± 13, p = 0.005"): Welch's t-test (unequal variances, scipy.stats.ttest_ind with
  equal_var=False) of the improvement percentages, PSFS against sacroplasty. Of the tests that
  read the published summaries, Welch's reproduces them (p = 0.004 and 0.71 from the rounded
  means and SDs, against 0.005 and 0.72 printed; Student's t gives 0.001 and 0.58).

Shapes as docs/contract.md's ``responders``; a value that cannot be computed is None with a note.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from outcomes.msts import msts_percent_exact
from registry.vocabulary import PSFS, SACROPLASTY, TREATMENTS


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def distribution_mcid(baseline_totals) -> dict:
    """``{"mcid": x}``: half the SD (ddof=1) of the non-missing baseline totals; None with a note below 2."""
    values = np.asarray(baseline_totals, dtype=float)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return {"mcid": None, "note": f"not enough data: the MCID needs 2 baseline totals ({values.size} in scope)"}
    return {"mcid": float(values.std(ddof=1) / 2)}


def responder_counts(pre, post, mcid: float | None) -> dict:
    """``{"responders", "n", "rate"}`` of one group: n counts the patients with both totals."""
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    paired = ~np.isnan(pre) & ~np.isnan(post)
    n = int(np.count_nonzero(paired))
    if mcid is None:
        return {"responders": None, "n": n, "rate": None, "note": "no MCID in this scope"}
    responders = int(np.count_nonzero(post[paired] - pre[paired] >= mcid))
    if not n:
        return {"responders": 0, "n": 0, "rate": None, "note": "not enough data: no patient with both totals"}
    return {"responders": responders, "n": n, "rate": responders / n}


def responders_stratum(pre, post, treatment, mcid: float | None) -> dict:
    """One stratum of the ``responders`` key: the MCID, each treatment's counts and Fisher's p-value."""
    treatment = np.asarray(treatment)
    pre, post = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    groups = {code: responder_counts(pre[treatment == code], post[treatment == code], mcid) for code in TREATMENTS}
    result = {"mcid": mcid, "p_value": None, **groups}
    psfs, sacro = groups[PSFS], groups[SACROPLASTY]
    if mcid is None:
        result["note"] = "no MCID in this scope"
    elif psfs["n"] == 0 or sacro["n"] == 0:
        result["note"] = (
            f"not enough data: Fisher's test needs patients of both treatments "
            f"({PSFS} {psfs['n']}, {SACROPLASTY} {sacro['n']})"
        )
    else:
        table = [
            [psfs["responders"], psfs["n"] - psfs["responders"]],
            [sacro["responders"], sacro["n"] - sacro["responders"]],
        ]
        result["p_value"] = _finite(scipy_stats.fisher_exact(table, alternative="two-sided").pvalue)
    return result


def responders_by_stratum(pre, post, treatment, stratum, strata) -> dict:
    """The ``responders`` key: one MCID from every baseline of the scope, then each stratum."""
    pre, post = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    treatment, stratum = np.asarray(treatment), np.asarray(stratum)
    mcid = distribution_mcid(pre)
    result = {}
    for code in strata:
        inside = stratum == code
        result[code] = responders_stratum(pre[inside], post[inside], treatment[inside], mcid["mcid"])
        if mcid["mcid"] is None:
            result[code]["note"] = mcid["note"]
    return result


def improvement_test(pre, post, is_psfs) -> dict:
    """Welch's t-test of the improvement percentages, PSFS against sacroplasty, over the patients with both totals.

    Returns ``{"test": "welch_t", "statistic", "df", "p_value", "n_psfs", "n_sacroplasty"}``.
    """
    pre, post = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    is_psfs = np.asarray(is_psfs, dtype=bool)
    paired = ~np.isnan(pre) & ~np.isnan(post)
    improvement = msts_percent_exact(post - pre)
    first, second = improvement[paired & is_psfs], improvement[paired & ~is_psfs]
    result = {
        "test": "welch_t",
        "statistic": None,
        "df": None,
        "p_value": None,
        "n_psfs": int(first.size),
        "n_sacroplasty": int(second.size),
    }
    if first.size < 2 or second.size < 2:
        result["note"] = "not enough data: Welch's t-test needs 2 patients with both totals in each treatment"
        return result
    if first.var(ddof=1) + second.var(ddof=1) == 0:
        result["note"] = "not computable: the improvement does not vary within either treatment"
        return result
    test = scipy_stats.ttest_ind(first, second, equal_var=False)
    result.update(statistic=_finite(test.statistic), df=_finite(test.df), p_value=_finite(test.pvalue))
    if result["p_value"] is None:
        result["note"] = "not computable: the test gave no finite value"
    return result

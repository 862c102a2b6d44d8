"""The MSTS trajectory: a linear mixed model of every post-operative total, as a pure function on arrays.

``post ~ psfs + pre + months`` with a random intercept per patient, fitted by REML
(statsmodels MixedLM on arrays; no Django, no formula). One row per post-operative visit
with a complete total: ``months`` is days from the index procedure / 30.4375, ``pre`` the
patient's baseline total, ``psfs`` 1 for PSFS. Reported for the ``psfs`` coefficient, the
adjusted difference PSFS minus sacroplasty, with its Wald 95% interval and p-value (normal
reference distribution, as MixedLM gives them), as docs/contract.md's ``trajectory`` shape.
"""

from __future__ import annotations

import warnings

import numpy as np

DAYS_PER_MONTH = 30.4375
ALPHA = 0.05
# Four fixed effects and a patient variance: fewer patients than this leave nothing to estimate them from.
MIN_PATIENTS = 5


def _null(n_patients: int, n_visits: int, note: str) -> dict:
    return {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": n_patients,
        "n_visits": n_visits,
        "note": note,
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def trajectory_model(post, is_psfs, pre, days, patient) -> dict:
    """The psfs coefficient of the mixed model; every argument one entry per visit.

    ``patient`` identifies the patient of each visit (any hashable codes); rows with a
    missing ``post``, ``pre`` or ``days`` are left out.
    """
    post = np.asarray(post, dtype=float)
    pre = np.asarray(pre, dtype=float)
    days = np.asarray(days, dtype=float)
    is_psfs = np.asarray(is_psfs, dtype=bool)
    patient = np.asarray(patient)
    keep = ~np.isnan(post) & ~np.isnan(pre) & ~np.isnan(days)
    post, pre, months, is_psfs, patient = (
        post[keep],
        pre[keep],
        days[keep] / DAYS_PER_MONTH,
        is_psfs[keep],
        patient[keep],
    )
    n_visits = int(post.size)
    patients, first = np.unique(patient, return_index=True)
    n_patients = int(patients.size)
    psfs_patients = int(np.count_nonzero(is_psfs[first]))
    if psfs_patients == 0 or psfs_patients == n_patients:
        return _null(
            n_patients,
            n_visits,
            f"not enough data: needs patients of both treatments (psfs {psfs_patients}, "
            f"sacroplasty {n_patients - psfs_patients})",
        )
    if n_patients < MIN_PATIENTS:
        return _null(n_patients, n_visits, f"not enough data: {n_patients} patients, {MIN_PATIENTS} needed")
    design = np.column_stack([np.ones(n_visits), is_psfs.astype(float), pre, months])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return _null(n_patients, n_visits, "singular model: the baseline or the visit times are constant or confounded")
    if n_visits <= design.shape[1]:
        return _null(n_patients, n_visits, f"not enough data: {n_visits} visits for 4 fixed effects")
    # Imported here: statsmodels takes seconds to import, and web processes that only read snapshots never fit.
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = MixedLM(post, design, groups=patient).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as error:
            return _null(n_patients, n_visits, f"not computable: the mixed model failed ({error})")
    low, high = np.asarray(fit.conf_int(alpha=ALPHA))[1]
    result = {
        "difference": _finite(fit.fe_params[1]),
        "ci_low": _finite(low),
        "ci_high": _finite(high),
        "p_value": _finite(fit.pvalues[1]),
        "n_patients": n_patients,
        "n_visits": n_visits,
    }
    if None in (result["difference"], result["ci_low"], result["ci_high"], result["p_value"]):
        return _null(n_patients, n_visits, "not computable: the mixed model gave no finite estimate")
    if not fit.converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
        result["note"] = "the mixed model did not converge cleanly (e.g. a patient variance at zero): read with care"
    return result


def trajectory_by_stratum(post, is_psfs, pre, days, patient, stratum, strata) -> dict:
    """The ``trajectory`` key: :func:`trajectory_model` within each stratum (``stratum`` one code per visit)."""
    stratum = np.asarray(stratum)
    arrays = [np.asarray(values) for values in (post, is_psfs, pre, days, patient)]
    return {code: trajectory_model(*(values[stratum == code] for values in arrays)) for code in strata}

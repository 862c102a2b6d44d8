"""The MSTS trajectory's mixed model against statsmodels' formula API and degenerate inputs (no database)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis import trajectory

approx = pytest.approx


def random_visits(seed=16, patients=60):
    """Patients with 1 to 5 post-operative visits, a patient effect, PSFS about 4 points better."""
    rng = np.random.default_rng(seed)
    rows = []
    for patient in range(patients):
        psfs = patient % 2
        pre = float(rng.integers(0, 20))
        effect = rng.normal(0, 3)
        for _ in range(rng.integers(1, 6)):
            days = float(rng.integers(14, 730))
            post = 8 + 4 * psfs + 0.5 * pre + 0.1 * days / 30.4375 + effect + rng.normal(0, 2)
            rows.append({"patient": f"P{patient}", "psfs": psfs, "pre": pre, "days": days, "post": post})
    return pd.DataFrame(rows)


def test_trajectory_matches_the_formula_api():
    data = random_visits()
    result = trajectory.trajectory_model(
        data["post"].to_numpy(),
        data["psfs"].to_numpy(),
        data["pre"].to_numpy(),
        data["days"].to_numpy(),
        data["patient"].to_numpy(),
    )
    data["months"] = data["days"] / 30.4375
    fit = smf.mixedlm("post ~ psfs + pre + months", data, groups=data["patient"]).fit(reml=True)
    low, high = fit.conf_int().loc["psfs"]
    # Same likelihood and optimiser from the same start: agreement to well within 1e-6.
    assert result["difference"] == approx(fit.fe_params["psfs"], rel=1e-6)
    assert result["ci_low"] == approx(low, rel=1e-6)
    assert result["ci_high"] == approx(high, rel=1e-6)
    assert result["p_value"] == approx(fit.pvalues["psfs"], rel=1e-6)
    assert result["n_patients"] == 60
    assert result["n_visits"] == len(data)
    assert "note" not in result
    # And the model finds the built-in advantage.
    assert 2 < result["difference"] < 6 and result["p_value"] < 0.01


def test_trajectory_leaves_out_incomplete_visits():
    data = random_visits(seed=3, patients=20)
    post = data["post"].to_numpy().copy()
    post[:3] = np.nan
    result = trajectory.trajectory_model(post, data["psfs"], data["pre"], data["days"], data["patient"])
    complete = data.iloc[3:]
    expected = trajectory.trajectory_model(
        complete["post"], complete["psfs"], complete["pre"], complete["days"], complete["patient"]
    )
    assert result == expected
    assert result["n_visits"] == len(data) - 3


def null(n_patients, n_visits, note):
    return {
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n_patients": n_patients,
        "n_visits": n_visits,
        "note": note,
    }


def test_trajectory_degenerate_inputs_give_notes():
    assert trajectory.trajectory_model([], [], [], [], []) == null(
        0, 0, "not enough data: needs patients of both treatments (psfs 0, sacroplasty 0)"
    )
    one = trajectory.trajectory_model([20, 22, 25], [1, 1, 1], [5, 5, 8], [30, 90, 60], ["a", "a", "b"])
    assert one == null(2, 3, "not enough data: needs patients of both treatments (psfs 2, sacroplasty 0)")
    few = trajectory.trajectory_model([20, 22, 15, 16], [1, 1, 0, 0], [5, 5, 8, 8], [30, 90, 30, 90], list("aabb"))
    assert few == null(2, 4, "not enough data: 2 patients, 5 needed")
    # Every patient with the same baseline: pre is confounded with the intercept.
    same_pre = trajectory.trajectory_model(
        [20, 22, 15, 16, 18, 19], [1, 1, 0, 0, 1, 0], [5] * 6, [30, 90, 30, 90, 60, 45], list("abcdef")
    )
    assert same_pre == null(6, 6, "singular model: the baseline or the visit times are constant or confounded")


def test_trajectory_by_stratum():
    data = random_visits(seed=5, patients=30)
    stratum = np.where(data["patient"].str[1:].astype(int) < 20, "pathological", "impending")
    result = trajectory.trajectory_by_stratum(
        data["post"], data["psfs"], data["pre"], data["days"], data["patient"], stratum, ("pathological", "impending")
    )
    assert result["pathological"]["n_patients"] == 20
    assert result["impending"]["n_patients"] == 10
    inside = stratum == "impending"
    assert result["impending"] == trajectory.trajectory_model(
        data["post"][inside], data["psfs"][inside], data["pre"][inside], data["days"][inside], data["patient"][inside]
    )


def test_trajectory_with_one_visit_per_patient_reports_the_boundary_fit():
    # With one visit each, the patient variance cannot be told from the residual: REML puts it at zero.
    data = random_visits(seed=1, patients=30).groupby("patient").head(1)
    result = trajectory.trajectory_model(data["post"], data["psfs"], data["pre"], data["days"], data["patient"])
    assert result["n_visits"] == result["n_patients"] == 30
    assert result["difference"] == approx(3.99, abs=0.01)
    assert (
        result["note"] == "the mixed model did not converge cleanly (e.g. a patient variance at zero): read with care"
    )

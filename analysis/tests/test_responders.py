"""MCID responders, Fisher's exact test and the improvement's Welch t-test by hand (no database)."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis import responders

approx = pytest.approx
nan = np.nan
STRATA = ("pathological", "impending")


def test_mcid_is_half_the_baseline_sd():
    # Baselines 2, 2, 4, 6, 6: mean 4, squared deviations 4 + 4 + 0 + 4 + 4 = 16, / (5 - 1) = 4, SD 2.
    assert responders.distribution_mcid([2, 2, 4, nan, 6, 6]) == {"mcid": 1.0}
    assert responders.distribution_mcid([7, nan]) == {
        "mcid": None,
        "note": "not enough data: the MCID needs 2 baseline totals (1 in scope)",
    }


def test_responders_by_stratum_by_hand():
    # MCID 1 (baselines 2, 4, 6, 6, 2 as above; E has a baseline but no follow-up total).
    #   pathological PSFS: A 2 -> 5 (+3, responder), B 4 -> 5 (+1 = MCID, responder)
    #   pathological sacroplasty: C 6 -> 6 (0, not), D 6 -> 10 (+4, responder)
    #   impending PSFS: E 2 -> no total (not counted)
    pre = [2, 4, 6, 6, 2]
    post = [5, 5, 6, 10, nan]
    treatment = ["psfs", "psfs", "sacroplasty", "sacroplasty", "psfs"]
    stratum = ["pathological"] * 4 + ["impending"]
    result = responders.responders_by_stratum(pre, post, treatment, stratum, STRATA)
    # Fisher, table [[2, 0], [1, 1]]: 3 responders among 4, 2 of them PSFS. P(2 PSFS responders) =
    # C(3,2) C(1,0) / C(4,2) = 3/6; P(1) = C(3,1) C(1,1) / 6 = 3/6. Both are <= 3/6: p = 1.
    assert result["pathological"] == {
        "mcid": 1.0,
        "p_value": approx(1.0),
        "psfs": {"responders": 2, "n": 2, "rate": 1.0},
        "sacroplasty": {"responders": 1, "n": 2, "rate": 0.5},
    }
    assert result["impending"] == {
        "mcid": 1.0,
        "p_value": None,
        "psfs": {"responders": 0, "n": 0, "rate": None, "note": "not enough data: no patient with both totals"},
        "sacroplasty": {"responders": 0, "n": 0, "rate": None, "note": "not enough data: no patient with both totals"},
        "note": "not enough data: Fisher's test needs patients of both treatments (psfs 0, sacroplasty 0)",
    }


def test_responders_without_an_mcid():
    result = responders.responders_by_stratum([3], [9], ["psfs"], ["pathological"], STRATA)
    assert result["pathological"]["mcid"] is None
    assert result["pathological"]["p_value"] is None
    assert result["pathological"]["psfs"] == {"responders": None, "n": 1, "rate": None, "note": "no MCID in this scope"}
    assert result["pathological"]["note"] == "not enough data: the MCID needs 2 baseline totals (1 in scope)"


def test_fisher_p_is_the_hypergeometric_sum():
    # PSFS 8 of 9 responders, sacroplasty 3 of 12: 11 responders among 21.
    pre = [0] * 21
    post = [5] * 8 + [0] + [5] * 3 + [0] * 9
    treatment = ["psfs"] * 9 + ["sacroplasty"] * 12
    result = responders.responders_stratum(pre, post, treatment, mcid=1.0)
    assert result["psfs"] == {"responders": 8, "n": 9, "rate": approx(8 / 9)}
    assert result["sacroplasty"] == {"responders": 3, "n": 12, "rate": 0.25}

    def probability(a):  # a PSFS responders of the 11, 9 PSFS of 21
        return math.comb(11, a) * math.comb(10, 9 - a) / math.comb(21, 9)

    observed = probability(8)
    expected = sum(probability(a) for a in range(0, 10) if probability(a) <= observed * (1 + 1e-7))
    assert result["p_value"] == approx(expected, rel=1e-9)
    assert result["p_value"] == approx(0.0075188, abs=1e-7)


def test_improvement_test_is_welch_by_hand():
    # Improvement in percent of 30: PSFS +9, +15, +12 points -> 30, 50, 40;
    # sacroplasty +3, +6, +9, +6 -> 10, 20, 30, 20 (the last patient has no follow-up total).
    pre = [5, 5, 5, 10, 10, 10, 10, 7]
    post = [14, 20, 17, 13, 16, 19, 16, nan]
    is_psfs = [True, True, True, False, False, False, False, False]
    result = responders.improvement_test(pre, post, is_psfs)
    # Means 40 and 20; variances (ddof=1) 100 and 200/3; se^2 = 100/3 + (200/3)/4 = 50; t = 20 / sqrt(50).
    v1, v2 = 100 / 3, 200 / 3 / 4
    t = 20 / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / 2 + v2**2 / 3)
    assert result["test"] == "welch_t"
    assert result["statistic"] == approx(t)
    assert result["df"] == approx(df)
    assert result["p_value"] == approx(2 * scipy_stats.t.sf(t, df))
    assert (result["n_psfs"], result["n_sacroplasty"]) == (3, 4)
    assert "note" not in result


def test_welch_reproduces_the_published_improvement_p_values():
    # The study's summaries (docs/reference.md): 51 +- 19 (9) vs 25 +- 13 (12), p = 0.005;
    # 38 +- 17 (2) vs 32 +- 12 (7), p = 0.72. Welch's test reproduces them to the rounding of the summaries.
    pathological = scipy_stats.ttest_ind_from_stats(51, 19, 9, 25, 13, 12, equal_var=False).pvalue
    impending = scipy_stats.ttest_ind_from_stats(38, 17, 2, 32, 12, 7, equal_var=False).pvalue
    assert round(pathological, 3) == 0.004 and round(impending, 2) == 0.71


def test_improvement_test_degenerate_inputs_give_notes():
    one_each = responders.improvement_test([5, 5], [10, 12], [True, False])
    assert one_each["p_value"] is None
    assert one_each["note"] == "not enough data: Welch's t-test needs 2 patients with both totals in each treatment"
    flat = responders.improvement_test([5, 5, 5, 5], [10, 10, 8, 8], [True, True, False, False])
    assert flat["p_value"] is None
    assert flat["note"] == "not computable: the improvement does not vary within either treatment"

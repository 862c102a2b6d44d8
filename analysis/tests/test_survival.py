"""Kaplan-Meier and Aalen-Johansen against hand-computed cases and statsmodels (no database)."""

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight

from analysis import survival

approx = pytest.approx
Z = 1.959963984540054  # the normal 97.5% quantile


def loglog(s, greenwood):
    """The log(-log) interval written out: S ** exp(-+ z sqrt(gw) / |log S|)."""
    spread = Z * math.sqrt(greenwood) / abs(math.log(s))
    return [s ** math.exp(spread), s ** math.exp(-spread)]


# --- Kaplan-Meier by hand -----------------------------------------------------------------------

# Five patients: deaths at days 2, 3 and 5; censored at day 3 (tied with a death) and day 8.
TIMES = [2, 3, 3, 5, 8]
DIED = [1, 1, 0, 1, 0]


def test_kaplan_meier_steps_by_hand():
    steps = survival.kaplan_meier_steps(TIMES, DIED)
    # Day 2: 5 at risk, 1 dies: S = 4/5. Day 3: 4 at risk (the censored 3 still is), 1 dies: S = 4/5 * 3/4.
    # Day 5: 2 at risk (5 and 8), 1 dies: S = 0.6 * 1/2. Day 8 is censored: no step.
    assert steps["times"].tolist() == [2, 3, 5]
    assert steps["at_risk"].tolist() == [5, 4, 2]
    assert steps["deaths"].tolist() == [1, 1, 1]
    assert steps["survival"].tolist() == approx([0.8, 0.6, 0.3])
    # Greenwood: sum of d / (n (n - d)) = 1/20, + 1/12, + 1/2.
    assert steps["greenwood"].tolist() == approx([1 / 20, 1 / 20 + 1 / 12, 1 / 20 + 1 / 12 + 1 / 2])
    # Var S(3) = S**2 * sum = 0.36 * 2/15 = 0.048.
    assert steps["survival"][1] ** 2 * steps["greenwood"][1] == approx(0.048)


def test_survival_summary_by_hand():
    result = survival.survival_summary(TIMES, DIED, at_days=(1, 3, 4, 8, 9))
    assert result["n"] == 5
    assert result["events"] == 3
    assert result["median_days"] == 5.0  # first time S <= 0.5: S(5) = 0.3 (S(3) = 0.6)
    # At the end of each day: 1 before any death, 0.6 from day 3 on, 0.3 from day 5 to the last time (8).
    assert result["at_days"] == {"1": 1.0, "3": approx(0.6), "4": approx(0.6), "8": approx(0.3), "9": None}
    gw3 = 1 / 20 + 1 / 12
    assert result["ci_at_days"]["3"] == approx(loglog(0.6, gw3))
    assert result["ci_at_days"]["3"] == approx([0.12573018, 0.88175641])
    assert result["ci_at_days"]["4"] == result["ci_at_days"]["3"]
    assert result["ci_at_days"]["8"] == approx(loglog(0.3, gw3 + 1 / 2))
    assert result["ci_at_days"]["1"] is None  # S = 1: no log(-log) interval
    assert result["ci_at_days"]["9"] is None
    assert result["note"] == (
        "ci_at_days 1: no interval where the survival is 1; 9 days: no patient followed that long (last time 8 days)"
    )


def test_survival_after_everyone_died_is_zero_beyond_the_last_time():
    result = survival.survival_summary([10, 20], [1, 1], at_days=(15, 400))
    assert result["at_days"] == {"15": 0.5, "400": 0.0}
    assert result["median_days"] == 10.0  # S(10) = 0.5 exactly: "0.5 or below"
    assert result["ci_at_days"]["400"] is None


def test_survival_degenerate_inputs_give_notes():
    empty = survival.survival_summary([], [])
    assert empty == {
        "n": 0,
        "events": 0,
        "median_days": None,
        "at_days": {"90": None, "180": None, "365": None},
        "ci_at_days": {"90": None, "180": None, "365": None},
        "note": "not enough data: no patient",
    }
    no_death = survival.survival_summary([100, 200, 400], [0, 0, 0])
    assert no_death["events"] == 0
    assert no_death["median_days"] is None
    assert no_death["at_days"] == {"90": 1.0, "180": 1.0, "365": 1.0}
    assert no_death["note"].startswith("median_days: not reached (no death)")
    early = survival.survival_summary([30, 60, 80], [1, 0, 0])
    assert early["at_days"] == {"90": None, "180": None, "365": None}
    assert "90 days: no patient followed that long (last time 80 days)" in early["note"]
    assert "median_days: not reached (survival stays above 0.5)" in early["note"]
    # NaN times (no date to count from) are left out.
    assert survival.survival_summary([np.nan, 100], [1, 0], at_days=(90,))["n"] == 1


def test_survival_by_treatment_splits_and_reports_an_empty_treatment():
    result = survival.survival_by_treatment([10, 20, 30], [1, 0, 1], ["psfs", "psfs", "psfs"])
    assert result["psfs"]["n"] == 3 and result["psfs"]["events"] == 2
    assert result["sacroplasty"]["n"] == 0
    assert result["sacroplasty"]["note"] == "not enough data: no patient"


# --- Aalen-Johansen by hand ---------------------------------------------------------------------


def test_aalen_johansen_by_hand_with_one_competing_death():
    # Secondary procedures at days 1 and 4, a death at day 2, censored at days 3 and 6.
    time, status = [1, 2, 3, 4, 6], [1, 2, 0, 1, 0]
    # Day 1: 5 at risk, 1 event: CIF = 1 * 1/5 = 0.2; free of both = 4/5.
    # Day 2: 4 at risk, the death: CIF stays 0.2; free = 0.8 * 3/4 = 0.6. Day 3: censored.
    # Day 4: 2 at risk, 1 event: CIF = 0.2 + 0.6 * 1/2 = 0.5 (1 - Kaplan-Meier, death censored, would say 0.6).
    steps = survival.aalen_johansen_steps(time, status)
    assert steps["times"].tolist() == [1, 2, 4]
    assert steps["incidence"].tolist() == approx([0.2, 0.2, 0.5])
    assert steps["free"].tolist() == approx([0.8, 0.6, 0.3])
    result = survival.incidence_summary(time, status, at_days=(0, 1, 3, 4, 6, 7))
    assert result == {
        "n": 5,
        "events": 2,
        "competing": 1,
        "at_days": {"0": 0.0, "1": approx(0.2), "3": approx(0.2), "4": approx(0.5), "6": approx(0.5), "7": None},
        "note": "7 days: no patient followed that long (last time 6 days)",
    }


def test_incidence_degenerate_inputs_give_notes():
    assert survival.incidence_summary([], []) == {
        "n": 0,
        "events": 0,
        "competing": 0,
        "at_days": {"90": None, "180": None, "365": None},
        "note": "not enough data: no patient",
    }
    none = survival.incidence_summary([100, 200, 400], [0, 0, 0])
    assert none["at_days"] == {"90": 0.0, "180": 0.0, "365": 0.0} and "note" not in none
    # Everyone died by day 50: nothing can happen later, the incidence stays where it ended.
    ended = survival.incidence_summary([10, 50], [1, 2], at_days=(90,))
    assert ended["at_days"] == {"90": 0.5}


def test_competing_status_orders_secondary_death_and_censoring():
    nan = np.nan
    time, status = survival.competing_status(
        secondary_days=[30, nan, 80, nan, 40],
        death_days=[100, 50, 60, nan, 40],
        last_alive_days=[120, 45, 70, 200, 40],
    )
    # A secondary procedure before death is the event; a death first competes; the alive are censored;
    # a secondary procedure on the day of death counts as the event.
    assert time.tolist() == [30, 50, 60, 200, 40]
    assert status.tolist() == [1, 2, 2, 0, 1]


# --- Against statsmodels on a random cohort --------------------------------------------------------


def random_cohort(seed=20261127, n=300):
    rng = np.random.default_rng(seed)
    death = rng.exponential(400, n)
    secondary = rng.exponential(900, n)
    censor = rng.uniform(20, 800, n)
    # Whole days, so that ties (censoring on an event day included) occur as in the registry.
    death, secondary, censor = np.ceil(death), np.ceil(secondary), np.ceil(censor)
    return death, secondary, censor


def value_at(times, values, day):
    upto = np.searchsorted(times, day, side="right")
    return values[upto - 1] if upto else None


def test_kaplan_meier_matches_statsmodels_on_a_random_cohort():
    death, _, censor = random_cohort()
    time = np.minimum(death, censor)
    died = death <= censor
    assert len(np.unique(time)) < len(time)  # there are ties
    reference = SurvfuncRight(time, died.astype(float))
    ours = survival.kaplan_meier_steps(time, died)
    # statsmodels keeps only event times, as we do.
    np.testing.assert_allclose(ours["times"], reference.surv_times, rtol=0)
    np.testing.assert_allclose(ours["survival"], reference.surv_prob, rtol=1e-12)
    # Its standard error is Greenwood's: se = S sqrt(sum).
    np.testing.assert_allclose(ours["survival"] * np.sqrt(ours["greenwood"]), reference.surv_prob_se, rtol=1e-10)
    result = survival.survival_summary(time, died)
    for day in (90, 180, 365):
        s = value_at(reference.surv_times, reference.surv_prob, day)
        se = value_at(reference.surv_times, reference.surv_prob_se, day)
        assert result["at_days"][str(day)] == approx(s, rel=1e-12)
        assert result["ci_at_days"][str(day)] == approx(loglog(s, (se / s) ** 2), rel=1e-10)
    # statsmodels' median is the first time with S < 0.5 strictly; here no step lands on 0.5 exactly.
    assert not np.any(np.isclose(reference.surv_prob, 0.5))
    assert result["median_days"] == reference.quantile(0.5)
    assert result["events"] == int(died.sum()) and result["n"] == 300


def test_aalen_johansen_matches_statsmodels_on_a_random_cohort():
    death, secondary, censor = random_cohort(seed=7)
    time, status = survival.competing_status(
        secondary_days=np.where(secondary <= censor, secondary, np.nan),
        death_days=np.where(death <= censor, death, np.nan),
        last_alive_days=censor,
    )
    assert (status == 1).sum() > 20 and (status == 2).sum() > 20
    reference = CumIncidenceRight(time, status.astype(float))
    ours = survival.aalen_johansen_steps(time, status)
    result = survival.incidence_summary(time, status)
    for day in (90, 180, 365, 500):
        expected = value_at(reference.times, reference.cinc[0], day)
        assert value_at(ours["times"], ours["incidence"], day) == approx(expected, rel=1e-12)
        if str(day) in result["at_days"]:
            assert result["at_days"][str(day)] == approx(expected, rel=1e-12)
    # At every time statsmodels reports, the event's incidence agrees.
    ours_everywhere = [value_at(ours["times"], ours["incidence"], t) or 0.0 for t in reference.times]
    np.testing.assert_allclose(ours_everywhere, reference.cinc[0], rtol=1e-12, atol=1e-15)
    assert result["events"] == int((status == 1).sum())
    assert result["competing"] == int((status == 2).sum())

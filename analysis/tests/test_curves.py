import math

import numpy as np
from pytest import approx

from analysis.curves import at_risk_counts, incidence_curve, risk_days, survival_curve


def _loglog(s, greenwood):
    spread = 1.959964 * math.sqrt(greenwood) / math.log(s)
    return s ** math.exp(-spread), s ** math.exp(spread)


def test_the_survival_curve_holds_one_step_per_event_day_with_its_interval_and_numbers_at_risk():
    result = survival_curve(np.array([10, 20, 20, 30, 40, np.nan]), np.array([1, 0, 1, 1, 0, 1]))

    low, high = _loglog(0.8, 1 / (5 * 4))
    assert result["curve"][0] == [10.0, 0.8, approx(low, abs=1e-4), approx(high, abs=1e-4), 5]
    assert [step[0] for step in result["curve"]] == [10.0, 20.0, 30.0]
    assert [step[1] for step in result["curve"]] == [0.8, 0.6, 0.3]
    assert [step[4] for step in result["curve"]] == [5, 4, 2]
    assert result["at_risk"] == {"0": 5, "90": 0, "180": 0, "365": 0}


def test_a_curve_falling_to_zero_has_no_interval_there():
    result = survival_curve(np.array([5, 8]), np.array([1, 1]))

    assert result["curve"][-1] == [8.0, 0.0, None, None, 1]


def test_the_incidence_curve_steps_only_on_the_event_days():
    result = incidence_curve(np.array([10, 20, 30, 40]), np.array([1, 2, 1, 0]))

    assert result["curve"] == [[10.0, 0.25, 4], [30.0, 0.5, 2]]
    assert result["at_risk"] == {"0": 4, "90": 0, "180": 0, "365": 0}


def test_numbers_at_risk_go_on_by_whole_years_to_the_last_follow_up():
    assert risk_days(800) == [0, 90, 180, 365, 730]
    assert at_risk_counts(np.array([0, 100, 400, 800, np.nan])) == {"0": 4, "90": 3, "180": 2, "365": 2, "730": 1}


def test_at_100k_patients_the_curve_stays_one_step_per_event_day():
    rng = np.random.default_rng(1)
    time = rng.integers(0, 1500, 100_000).astype(float)

    result = survival_curve(time, rng.random(100_000) < 0.5)

    assert len(result["curve"]) <= 1500

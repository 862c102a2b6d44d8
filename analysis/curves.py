"""The steps of the survival and incidence curves the dashboard draws, as pure functions on arrays.

A Kaplan-Meier (or Aalen-Johansen) curve changes only at a distinct event day, so its steps are at
most one a day of follow-up whatever the number of patients: a few hundred rows even at 100k
patients. Values are rounded to 4 decimals (the drawing needs no more) to keep the document small.

- ``curve``: ``[day, survival, ci_low, ci_high, at_risk]`` per event day (survival curves; the
  interval is the log(-log) one of analysis.survival, null where undefined) or
  ``[day, incidence, at_risk]`` (incidence curves); ``at_risk`` is the number at risk just before
  that day.
- ``at_risk``: the number of patients still followed at the start of day 0, 90, 180, 365 and every
  further whole year up to the last follow-up (time >= day), for the table under a chart's axis.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from analysis.survival import ALPHA, EVENT, aalen_johansen_steps, kaplan_meier_steps
from registry.vocabulary import TREATMENTS

RISK_DAYS = (0, 90, 180, 365)
DIGITS = 4
Z = NormalDist().inv_cdf(1 - ALPHA / 2)


def _r(value) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def risk_days(last: float) -> list[int]:
    """0, 90, 180, 365, then each whole year up to ``last`` day."""
    days = list(RISK_DAYS)
    while days[-1] + 365 <= last:
        days.append(days[-1] + 365)
    return days


def at_risk_counts(time) -> dict[str, int]:
    time = np.asarray(time, dtype=float)
    time = np.sort(time[~np.isnan(time)])
    last = float(time[-1]) if time.size else 0.0
    return {str(day): int(time.size - np.searchsorted(time, day, side="left")) for day in risk_days(last)}


def survival_curve(time, died) -> dict:
    """``curve`` (Kaplan-Meier steps with their 95% interval) and ``at_risk`` of one group.

    The interval is analysis.survival.loglog_interval, vectorised (a few thousand steps at 100k).
    """
    time = np.asarray(time, dtype=float)
    steps = kaplan_meier_steps(time, np.asarray(died, dtype=bool))
    survival, greenwood = steps["survival"], steps["greenwood"]
    defined = (survival > 0) & (survival < 1) & np.isfinite(greenwood)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = Z * np.sqrt(greenwood) / np.log(survival)
        low, high = survival ** np.exp(-spread), survival ** np.exp(spread)
    curve = [
        [_r(day), _r(s), _r(lo) if ok else None, _r(hi) if ok else None, int(n)]
        for day, s, lo, hi, ok, n in zip(steps["times"], survival, low, high, defined, steps["at_risk"], strict=True)
    ]
    return {"curve": curve, "at_risk": at_risk_counts(time)}


def incidence_curve(time, status) -> dict:
    """``curve`` (Aalen-Johansen steps of the event, the competing event ending follow-up) and ``at_risk``."""
    time, status = np.asarray(time, dtype=float), np.asarray(status)
    steps = aalen_johansen_steps(time, status)
    keep = ~np.isnan(time)
    ordered = np.sort(time[keep])
    at_risk = ordered.size - np.searchsorted(ordered, steps["times"], side="left")
    event_days = set(np.unique(time[keep & (status == EVENT)]).tolist())
    curve = [
        [_r(day), _r(incidence), int(n)]
        for day, incidence, n in zip(steps["times"], steps["incidence"], at_risk, strict=True)
        if float(day) in event_days  # a competing death alone does not move the incidence
    ]
    return {"curve": curve, "at_risk": at_risk_counts(time)}


def add_curves(keys: dict, time, died, inc_time, inc_status, treatment) -> dict:
    """``keys`` (the survival_keys output) with each treatment's curve and numbers at risk added."""
    treatment = np.asarray(treatment)
    time, died = np.asarray(time, dtype=float), np.asarray(died, dtype=bool)
    inc_time, inc_status = np.asarray(inc_time, dtype=float), np.asarray(inc_status)
    for code in TREATMENTS:
        mine = treatment == code
        keys["survival"][code].update(survival_curve(time[mine], died[mine]))
        keys["secondary_procedure_incidence"][code].update(incidence_curve(inc_time[mine], inc_status[mine]))
    return keys

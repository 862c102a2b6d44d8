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


def _column(values, defined=None, *, days: bool = False) -> list:
    """An array as plain JSON numbers rounded to DIGITS (``days``: ints when all whole), None where not ``defined``."""
    values = np.asarray(values, dtype=float)
    if days and np.all(values == np.round(values)):
        out = values.astype(np.int64).tolist()
    else:
        out = np.round(values, DIGITS).tolist()
    if defined is not None:
        out = [value if ok else None for value, ok in zip(out, defined.tolist(), strict=True)]
    return out


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
        list(step)
        for step in zip(
            _column(steps["times"], days=True),
            np.round(survival, DIGITS).tolist(),
            _column(low, defined),
            _column(high, defined),
            steps["at_risk"].astype(np.int64).tolist(),
            strict=True,
        )
    ]
    return {"curve": curve, "at_risk": at_risk_counts(time)}


def incidence_curve(time, status) -> dict:
    """``curve`` (Aalen-Johansen steps of the event, the competing event ending follow-up) and ``at_risk``."""
    time, status = np.asarray(time, dtype=float), np.asarray(status)
    steps = aalen_johansen_steps(time, status)
    keep = ~np.isnan(time)
    ordered = np.sort(time[keep])
    at_risk = ordered.size - np.searchsorted(ordered, steps["times"], side="left")
    # A competing death alone does not move the incidence: only the event days are steps.
    moved = np.isin(steps["times"], time[keep & (status == EVENT)])
    curve = [
        list(step)
        for step in zip(
            _column(steps["times"][moved], days=True),
            np.round(steps["incidence"][moved], DIGITS).tolist(),
            at_risk[moved].astype(np.int64).tolist(),
            strict=True,
        )
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

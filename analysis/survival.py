"""Overall survival and the cumulative incidence of a secondary procedure, as pure functions on arrays.

No Django: times are days from the index procedure (numpy arrays, NaN rows left out), the
output is the ``survival`` and ``secondary_procedure_incidence`` shapes of docs/contract.md
("Survival, incidence, trajectory, responders"): plain dicts of int, float and None.

- Kaplan-Meier with Greenwood's variance; the 95% confidence interval at a day uses the
  log(-log) transform (Kalbfleisch and Prentice; the default of lifelines, R's
  ``conf.type="log-log"`` and Stata), which stays inside [0, 1]:
  ``S ** exp(+-z * sqrt(sum d / (n (n - d))) / log S)``.
- The median is the first event time at which the survival falls to 0.5 or below (as in
  lifelines and Stata; statsmodels takes "below" only); null when it is not reached.
- Aalen-Johansen: CIF(t) = sum over event times u <= t of S(u-) * d_event(u) / n(u), where S
  is the Kaplan-Meier of being free of either the event or the competing death.
- A value "at day X" is the estimate at the end of day X (every event on or before it counts).
  It is null, with a note, when nobody is followed to day X and the estimate has not reached
  its end state (nobody left alive, or no one left free of both outcomes).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from registry.vocabulary import TREATMENTS

AT_DAYS = (90, 180, 365)
ALPHA = 0.05
CENSORED, EVENT, COMPETING = 0, 1, 2


def _clean(time, status) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(time, dtype=float)
    status = np.asarray(status)
    keep = ~np.isnan(time)
    return time[keep], status[keep]


def _steps(time: np.ndarray, ended: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times with at least one ended row: (times, number at risk just before, number ended)."""
    times, ended_count = np.unique(time[ended], return_counts=True)
    ordered = np.sort(time)
    at_risk = ordered.size - np.searchsorted(ordered, times, side="left")
    return times, at_risk.astype(float), ended_count.astype(float)


def kaplan_meier_steps(time, event) -> dict:
    """The Kaplan-Meier curve at each distinct event time, with Greenwood's sum.

    Returns ``times``, ``at_risk``, ``deaths``, ``survival`` (just after each time) and
    ``greenwood`` (the cumulative sum of d / (n (n - d)), so Var S = S**2 * greenwood).
    A censored time equal to an event time is still at risk at it.
    """
    time, event = _clean(time, event)
    event = event.astype(bool)
    times, at_risk, deaths = _steps(time, event)
    survival = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), np.inf)
    return {
        "times": times,
        "at_risk": at_risk,
        "deaths": deaths,
        "survival": survival,
        "greenwood": np.cumsum(terms),
    }


def loglog_interval(survival: float, greenwood: float, alpha: float = ALPHA) -> list[float] | None:
    """The log(-log) (1 - alpha) interval of a survival probability, or None where it is undefined (S is 0 or 1)."""
    if not 0.0 < survival < 1.0 or not np.isfinite(greenwood):
        return None
    z = NormalDist().inv_cdf(1 - alpha / 2)
    spread = z * np.sqrt(greenwood) / np.log(survival)  # negative: log S < 0
    return [float(survival ** np.exp(-spread)), float(survival ** np.exp(spread))]


def _unfollowed(day: int, last_time: float, finished: bool) -> str | None:
    if day > last_time and not finished:
        return f"{day} days: no patient followed that long (last time {last_time:g} days)"
    return None


def _empty(n: int) -> str | None:
    return "not enough data: no patient" if n == 0 else None


def _note(result: dict, reasons: list[str | None]) -> dict:
    reasons = [reason for reason in reasons if reason]
    if reasons:
        result["note"] = "; ".join(dict.fromkeys(reasons))
    return result


def survival_summary(time, died, at_days=AT_DAYS) -> dict:
    """Kaplan-Meier overall survival of one group: n, events, median_days, at_days and ci_at_days."""
    time, died = _clean(time, died)
    died = died.astype(bool)
    n, events = int(time.size), int(np.count_nonzero(died))
    steps = kaplan_meier_steps(time, died)
    reasons = [_empty(n)]
    median = None
    if n:
        reached = np.flatnonzero(steps["survival"] <= 0.5)
        if reached.size:
            median = float(steps["times"][reached[0]])
        elif events:
            reasons.append("median_days: not reached (survival stays above 0.5)")
        else:
            reasons.append("median_days: not reached (no death)")
    at, ci = {}, {}
    last = float(time.max()) if n else 0.0
    for day in at_days:
        key = str(day)
        if not n:
            at[key], ci[key] = None, None
            continue
        upto = np.searchsorted(steps["times"], day, side="right")
        survival = float(steps["survival"][upto - 1]) if upto else 1.0
        missing = _unfollowed(day, last, finished=survival == 0.0)
        if missing:
            at[key], ci[key] = None, None
            reasons.append(missing)
            continue
        at[key] = survival
        ci[key] = loglog_interval(survival, float(steps["greenwood"][upto - 1])) if upto else None
        if ci[key] is None:
            reasons.append(f"ci_at_days {key}: no interval where the survival is {survival:g}")
    result = {"n": n, "events": events, "median_days": median, "at_days": at, "ci_at_days": ci}
    return _note(result, reasons)


def aalen_johansen_steps(time, status) -> dict:
    """Cumulative incidence of ``EVENT`` with ``COMPETING`` as a competing risk, at each distinct ended time.

    ``status``: 0 censored, 1 the event, 2 the competing event. Returns ``times``,
    ``incidence`` (just after each time) and ``free`` (the Kaplan-Meier of being free of both).
    """
    time, status = _clean(time, status)
    status = status.astype(int)
    times, at_risk, ended = _steps(time, status != CENSORED)
    position = np.searchsorted(times, time[status == EVENT])
    events = np.bincount(position, minlength=times.size).astype(float)
    free = np.cumprod(1.0 - ended / at_risk)
    free_before = np.concatenate(([1.0], free[:-1]))
    return {"times": times, "incidence": np.cumsum(free_before * events / at_risk), "free": free}


def incidence_summary(time, status, at_days=AT_DAYS) -> dict:
    """Aalen-Johansen cumulative incidence of one group: n, events, competing and at_days."""
    time, status = _clean(time, status)
    status = status.astype(int)
    n = int(time.size)
    steps = aalen_johansen_steps(time, status)
    reasons = [_empty(n)]
    at = {}
    last = float(time.max()) if n else 0.0
    for day in at_days:
        key = str(day)
        if not n:
            at[key] = None
            continue
        upto = np.searchsorted(steps["times"], day, side="right")
        finished = bool(upto) and float(steps["free"][upto - 1]) == 0.0
        missing = _unfollowed(day, last, finished)
        if missing:
            at[key] = None
            reasons.append(missing)
            continue
        at[key] = float(steps["incidence"][upto - 1]) if upto else 0.0
    result = {
        "n": n,
        "events": int(np.count_nonzero(status == EVENT)),
        "competing": int(np.count_nonzero(status == COMPETING)),
        "at_days": at,
    }
    return _note(result, reasons)


def survival_by_treatment(time, died, treatment) -> dict:
    """The ``survival`` key: one :func:`survival_summary` per treatment."""
    time, died, treatment = np.asarray(time, dtype=float), np.asarray(died, dtype=bool), np.asarray(treatment)
    return {code: survival_summary(time[treatment == code], died[treatment == code]) for code in TREATMENTS}


def incidence_by_treatment(time, status, treatment) -> dict:
    """The ``secondary_procedure_incidence`` key: one :func:`incidence_summary` per treatment."""
    time, status, treatment = np.asarray(time, dtype=float), np.asarray(status), np.asarray(treatment)
    return {code: incidence_summary(time[treatment == code], status[treatment == code]) for code in TREATMENTS}


def competing_status(secondary_days, death_days, last_alive_days) -> tuple[np.ndarray, np.ndarray]:
    """Time and status for the incidence of a first secondary procedure, death competing.

    Each argument is days from the index procedure, NaN where there is none. A secondary
    procedure on or before death is the event; a death before it competes; otherwise the
    patient is censored at the last day known alive.
    """
    secondary = np.asarray(secondary_days, dtype=float)
    death = np.asarray(death_days, dtype=float)
    alive = np.asarray(last_alive_days, dtype=float)
    had = ~np.isnan(secondary) & (np.isnan(death) | (secondary <= death))
    died = ~had & ~np.isnan(death)
    time = np.where(had, secondary, np.where(died, death, alive))
    status = np.where(had, EVENT, np.where(died, COMPETING, CENSORED))
    return time, status

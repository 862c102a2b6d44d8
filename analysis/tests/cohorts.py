"""Plain cohorts for the statistics tests: rows of dicts in, a stats.Cohort out (no database)."""

import numpy as np

from analysis.stats import DOMAINS, MEASURES, Cohort

KINDS = ("screw_backout", "cement_extravasation", "radiculopathy", "infection", "other")


def row(
    *,
    treatment="psfs",
    fracture_status="pathological",
    pre=(1, 1, 1, 1, 1, 1),
    post=(3, 3, 3, 3, 3, 3),
    site_id=1,
    sex="female",
    primary_cancer="breast",
    ablation="none",
    prior_local_radiation=False,
    age=60,
    index_month="2023-03",
    narcotic_change="stable",
    followup_days=90,
    secondary_first_days=None,
    secondary_count=None,
    complications=None,
    death_days=None,
    last_alive_days=None,
    visits=None,
) -> dict:
    """One patient. ``pre``/``post``: six domain scores (None for unscored) or None (no encounter).

    ``visits``: (days, total) of every follow-up with a complete total; by default the final
    follow-up alone, when its total is complete.
    """
    if visits is None:
        complete = post is not None and None not in post and followup_days is not None
        visits = [(followup_days, sum(post))] if complete else []
    return {
        "treatment": treatment,
        "fracture_status": fracture_status,
        "pre": pre,
        "post": post,
        "site_id": site_id,
        "sex": sex,
        "primary_cancer": primary_cancer,
        "ablation": ablation,
        "prior_local_radiation": prior_local_radiation,
        "age": age,
        "index_month": index_month,
        "narcotic_change": narcotic_change,
        "followup_days": followup_days,
        "secondary_first_days": secondary_first_days,
        "secondary_count": secondary_count if secondary_count is not None else int(secondary_first_days is not None),
        "complications": complications or {},
        "death_days": death_days,
        # As the selector: the latest of the index procedure (day 0), the final follow-up and a secondary procedure.
        "last_alive_days": last_alive_days
        if last_alive_days is not None
        else max(day for day in (0, followup_days, secondary_first_days) if day is not None),
        "visits": list(visits),
    }


def _scores(scores) -> dict:
    if scores is None:
        return dict.fromkeys(MEASURES, np.nan)
    values = {
        domain: (np.nan if score is None else float(score)) for domain, score in zip(DOMAINS, scores, strict=True)
    }
    values["total"] = np.nan if any(score is None for score in scores) else float(sum(scores))
    return values


def _month_number(month: str) -> float:
    """'2023-03' -> 2023 * 12 + 2, as the selector gives it; '' -> NaN."""
    if not month:
        return np.nan
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


def cohort(rows: list[dict]) -> Cohort:
    def nan(value):
        return np.nan if value is None else float(value)

    columns = {
        "site_id": np.array([r["site_id"] for r in rows], dtype=np.int64),
        "prior_local_radiation": np.array([r["prior_local_radiation"] for r in rows], dtype=bool),
        "has_baseline": np.array([int(r["pre"] is not None) for r in rows], dtype=np.int64),
        "age": np.array([nan(r["age"]) for r in rows], dtype=float),
        "followup_days": np.array([nan(r["followup_days"]) for r in rows], dtype=float),
        "secondary_first_days": np.array([nan(r["secondary_first_days"]) for r in rows], dtype=float),
        "secondary_count": np.array([r["secondary_count"] for r in rows], dtype=np.int64),
        "death_days": np.array([nan(r["death_days"]) for r in rows], dtype=float),
        "last_alive_days": np.array([nan(r["last_alive_days"]) for r in rows], dtype=float),
        "complications": np.array(
            [[r["complications"].get(kind, 0) for kind in KINDS] for r in rows], dtype=np.int64
        ).reshape(len(rows), len(KINDS)),
    }
    columns["index_month"] = np.array([_month_number(r["index_month"]) for r in rows], dtype=float)
    for name in ("treatment", "fracture_status", "sex", "primary_cancer", "ablation"):
        columns[name] = np.array([r[name] for r in rows], dtype=str)
    columns["narcotic_change"] = np.array([r["narcotic_change"] or "" for r in rows], dtype=str)
    for when in ("pre", "post"):
        scored = [_scores(r[when]) for r in rows]
        for measure in MEASURES:
            columns[f"{when}_{measure}"] = np.array([s[measure] for s in scored], dtype=float)
    # As the selector: space-separated days and totals ('' for none).
    for position, name in enumerate(("visit_days", "visit_totals")):
        columns[name] = np.array(
            [" ".join(f"{visit[position]:g}" for visit in r["visits"]) for r in rows], dtype=object
        ).reshape(len(rows))
    return Cohort(columns, KINDS)

"""What the dashboard shows, built from one stats document (no database, no request).

``dashboard_tables`` gives every table twice: as the page shows it (``header``, ``rows``: display
strings) and as its CSV download holds it (``csv_header``, ``csv_rows``: the same numbers, each in
a column of its own, unrounded, None for a missing one), so a spreadsheet or a statistics package
reads numbers, not "38.3 ± 16.5".
"""

import datetime

from django.utils import timezone
from django.utils.timesince import timesince

from analysis import charts
from analysis.dashboard_completeness import completeness_table, completeness_view_model
from analysis.dashboard_followup import followup_tables, followup_view_model
from analysis.tables import Table, fmt, fmt_p
from analysis.tables import lookup as _get
from analysis.tables import notes as _notes
from outcomes.msts import DOMAINS, TOTAL_KEY, TOTAL_LABEL
from registry.vocabulary import PSFS, SACROPLASTY, STRATA, STRATUM_LABELS, TREATMENTS
from registry.vocabulary import TREATMENT_SHORT_LABELS as TREATMENT_LABELS

# (stats-document key, label) of the total and each MSTS domain, in order.
MEASURES = [(TOTAL_KEY, TOTAL_LABEL), *((domain.key, domain.label) for domain in DOMAINS)]
# Axis labels of the domain profile, short enough to sit side by side.
SHORT_DOMAIN_LABELS = [(domain.key, domain.short_label) for domain in DOMAINS]
NARCOTICS = ("decreased", "stable", "increased", "not_recorded")
CANCERS = [("multiple_myeloma", "Multiple myeloma"), ("liver", "Liver"), ("renal", "Renal"), ("other", "Other primary")]


def headline(document: dict) -> list[tuple[str, str]]:
    strata = document.get("strata", {})
    groups = [(s, t, _get(strata, s, "groups", t, default={})) for s in STRATA for t in TREATMENTS]
    with_secondary = sum(_get(g, "secondary_procedures", "patients", default=0) for _, _, g in groups)
    complications = sum(sum((_get(g, "complications", default={}) or {}).values()) for _, _, g in groups)
    return [
        ("Patients", fmt(document.get("n_patients"))),
        ("Analysed (index procedure)", fmt(document.get("n_patients_analysed", document.get("n_patients")))),
        *[
            (f"{TREATMENT_LABELS[t]}", fmt(sum(_get(g, "n", default=0) for _, tt, g in groups if tt == t)))
            for t in TREATMENTS
        ],
        *[(STRATUM_LABELS[s], fmt(_get(strata, s, "n", default=0))) for s in STRATA],
        ("With a secondary procedure", fmt(with_secondary)),
        ("Complications", fmt(complications)),
    ]


def demographics_table(document: dict) -> Table:
    demo = document.get("demographics", {})
    table = Table("demographics", "Table 1: demographics", ["", *(TREATMENT_LABELS[t] for t in TREATMENTS)])

    def row(label, *keys, digits=0):
        table.rows.append([label, *(fmt(_get(demo, t, *keys), digits) for t in TREATMENTS)])

    row("Patients (n)", "n")
    row("Mean age at index procedure, years", "age_mean", digits=1)
    table.rows.append(
        [
            "Male / female",
            *(f"{fmt(_get(demo, t, 'sex', 'male'))} / {fmt(_get(demo, t, 'sex', 'female'))}" for t in TREATMENTS),
        ]
    )
    for code, label in CANCERS:
        row(label, "primary_cancer", code)
    row("Prior local radiotherapy", "prior_local_radiation")
    table.rows.append(
        [
            "Ablation: any (RFA / cryo / MWA)",
            *(
                f"{fmt(_get(demo, t, 'ablation', 'any'))} ({fmt(_get(demo, t, 'ablation', 'rfa'))} / "
                f"{fmt(_get(demo, t, 'ablation', 'cryo'))} / {fmt(_get(demo, t, 'ablation', 'microwave'))})"
                for t in TREATMENTS
            ),
        ]
    )
    table.notes += _notes([(TREATMENT_LABELS[t], _get(demo, t, "note")) for t in TREATMENTS])
    table.csv_header = [
        "treatment",
        "n",
        "age_mean",
        "male",
        "female",
        *(code for code, _ in CANCERS),
        "prior_local_radiation",
        *(f"ablation_{kind}" for kind in ("any", "rfa", "cryo", "microwave")),
    ]
    table.csv_rows = [
        [
            TREATMENT_LABELS[t],
            _get(demo, t, "n"),
            _get(demo, t, "age_mean"),
            _get(demo, t, "sex", "male"),
            _get(demo, t, "sex", "female"),
            *(_get(demo, t, "primary_cancer", code) for code, _ in CANCERS),
            _get(demo, t, "prior_local_radiation"),
            *(_get(demo, t, "ablation", kind) for kind in ("any", "rfa", "cryo", "microwave")),
        ]
        for t in TREATMENTS
    ]
    return table


def msts_table(document: dict, stratum: str) -> Table:
    data = _get(document, "strata", stratum, default={})
    groups = _get(data, "groups", default={})
    table = Table(
        f"msts-{stratum}",
        f"{STRATUM_LABELS[stratum]}: MSTS before and after, ANCOVA",
        [
            "Measure",
            *(f"{TREATMENT_LABELS[t]} {phase}" for t in TREATMENTS for phase in ("pre", "post")),
            f"Adjusted difference ({TREATMENT_LABELS[PSFS]} - {TREATMENT_LABELS[SACROPLASTY].lower()})",
            "95% CI",
            "p",
            "n",
        ],
    )
    table.csv_header = [
        "measure",
        *(f"{t}_{phase}_mean" for t in TREATMENTS for phase in ("pre", "post")),
        "difference",
        "ci_low",
        "ci_high",
        "p_value",
        "n",
    ]
    notes = []
    for key, label in MEASURES:
        result = _get(data, "ancova", key, default={}) or {}
        table.csv_rows.append(
            [
                label,
                *(_get(groups, t, phase, key) for t in TREATMENTS for phase in ("msts_pre", "msts_post")),
                *(result.get(name) for name in ("difference", "ci_low", "ci_high", "p_value", "n")),
            ]
        )
        ci = f"{fmt(result.get('ci_low'))} to {fmt(result.get('ci_high'))}" if result.get("ci_low") is not None else "—"
        table.rows.append(
            [
                label,
                *(fmt(_get(groups, t, phase, key)) for t in TREATMENTS for phase in ("msts_pre", "msts_post")),
                fmt(result.get("difference")),
                ci,
                fmt_p(result.get("p_value")),
                fmt(result.get("n")),
            ]
        )
        notes.append((label, result.get("note")))
    table.notes += _notes(notes)
    return table


def outcomes_table(document: dict, stratum: str) -> Table:
    groups = _get(document, "strata", stratum, "groups", default={})
    table = Table(
        f"outcomes-{stratum}",
        f"{STRATUM_LABELS[stratum]}: improvement, narcotics, secondary procedures, follow-up",
        ["", *(TREATMENT_LABELS[t] for t in TREATMENTS)],
    )

    def cell(t, fn):
        group = groups.get(t) or {}
        return fn(group)

    def add(label, fn):
        table.rows.append([label, *(cell(t, fn) for t in TREATMENTS)])

    add("Patients (n)", lambda g: fmt(g.get("n")))
    add(
        "Improvement, % (mean ± SD)",
        lambda g: f"{fmt(_get(g, 'improvement_pct', 'mean'))} ± {fmt(_get(g, 'improvement_pct', 'sd'))}",
    )
    for change in NARCOTICS:
        add(f"Narcotics {change.replace('_', ' ')}", lambda g, c=change: fmt(_get(g, "narcotic_change", c)))
    add(
        "Secondary procedure: patients (rate)",
        lambda g: (
            f"{fmt(_get(g, 'secondary_procedures', 'patients'))} "
            f"({fmt(_pct(_get(g, 'secondary_procedures', 'rate')), 0)}%)"
        ),
    )
    add(
        "Days to first secondary procedure: mean / median (range)",
        lambda g: _describe(g.get("time_to_secondary_days")),
    )
    add("Follow-up, days: mean / median (range)", lambda g: _describe(g.get("followup_days")))
    add("Complications", lambda g: fmt(sum((g.get("complications") or {}).values())))
    table.notes += _notes(
        [(f"{TREATMENT_LABELS[t]} improvement", _get(groups, t, "improvement_pct", "note")) for t in TREATMENTS]
    )
    spans = ("mean", "median", "min", "max")
    table.csv_header = [
        "treatment",
        "n",
        "improvement_pct_mean",
        "improvement_pct_sd",
        *(f"narcotics_{change}" for change in NARCOTICS),
        "secondary_procedure_patients",
        "secondary_procedure_rate",
        *(f"days_to_secondary_{stat}" for stat in spans),
        *(f"followup_days_{stat}" for stat in spans),
        "complications",
    ]
    for t in TREATMENTS:
        g = groups.get(t) or {}
        table.csv_rows.append(
            [
                TREATMENT_LABELS[t],
                g.get("n"),
                _get(g, "improvement_pct", "mean"),
                _get(g, "improvement_pct", "sd"),
                *(_get(g, "narcotic_change", change) for change in NARCOTICS),
                _get(g, "secondary_procedures", "patients"),
                _get(g, "secondary_procedures", "rate"),
                *(_get(g, "time_to_secondary_days", stat) for stat in spans),
                *(_get(g, "followup_days", stat) for stat in spans),
                sum((g.get("complications") or {}).values()) if g else None,
            ]
        )
    return table


def _pct(rate):
    return None if rate is None else rate * 100


def _describe(summary) -> str:
    if not summary or summary.get("mean") is None:
        return "—"
    return (
        f"{fmt(summary['mean'], 0)} / {fmt(summary['median'], 0)} ({fmt(summary['min'], 0)}-{fmt(summary['max'], 0)})"
    )


def complications_table(document: dict) -> Table:
    kinds: dict[str, dict[str, int]] = {}
    for stratum in STRATA:
        for t in TREATMENTS:
            for kind, count in (
                _get(document, "strata", stratum, "groups", t, "complications", default={}) or {}
            ).items():
                kinds.setdefault(kind, dict.fromkeys(TREATMENTS, 0))[t] += count
    table = Table("complications", "Complications by kind", ["Kind", *(TREATMENT_LABELS[t] for t in TREATMENTS)])
    table.csv_header = ["kind", *TREATMENTS]
    for kind, per in sorted(kinds.items()):
        table.rows.append([kind.replace("_", " "), *(fmt(per[t]) for t in TREATMENTS)])
        table.csv_rows.append([kind, *(per[t] for t in TREATMENTS)])
    return table


def dashboard_tables(document: dict) -> dict[str, Table]:

    tables = [demographics_table(document)]
    for stratum in STRATA:
        tables += [msts_table(document, stratum), outcomes_table(document, stratum)]
    tables.append(complications_table(document))
    tables += followup_tables(document)
    tables += [table for table in (completeness_table(document),) if table is not None]
    return {table.name: table for table in tables}


def stratum_charts(document: dict, stratum: str) -> dict:
    groups = _get(document, "strata", stratum, "groups", default={})
    label = STRATUM_LABELS[stratum]
    slope_groups = {
        t: {
            "pairs": _get(groups, t, "msts_total_pairs", default=[]) or [],
            "pre": {
                "mean": _get(groups, t, "msts_pre", "total"),
                "sd": _get(groups, t, "msts_total_sd", "pre"),
                "n": _get(groups, t, "msts_n", "total", default=0),
            },
            "post": {
                "mean": _get(groups, t, "msts_post", "total"),
                "sd": _get(groups, t, "msts_total_sd", "post"),
                "n": _get(groups, t, "msts_n", "total", default=0),
            },
        }
        for t in TREATMENTS
    }
    return {
        "slope": charts.slope_chart(slope_groups, title=f"{label}: MSTS total before and after"),
        "profile": charts.domain_profile(
            {t: groups.get(t) or {} for t in TREATMENTS}, SHORT_DOMAIN_LABELS, title=f"{label}: MSTS domain profile"
        ),
        "km": charts.step_curves(
            {
                t: {
                    "curve": _get(groups, t, "kaplan_meier", "curve", default=[]) or [],
                    "end": _get(groups, t, "followup_days", "max"),
                }
                for t in TREATMENTS
            },
            title=f"{label}: free of secondary procedure",
        ),
    }


def trajectory_ages(document: dict, now: datetime.datetime | None = None) -> list[str]:
    """How old each trajectory estimate fitted on its own schedule is: "Pathological fractures: fitted
    12 minutes ago" (the others are as old as the document)."""
    now = now or timezone.now()
    ages = []
    for stratum in STRATA:
        entry = _get(document, "trajectory", stratum, default=None)
        computed_at = entry.get("computed_at") if isinstance(entry, dict) else None
        if computed_at:
            age = timesince(datetime.datetime.fromisoformat(computed_at), now, depth=1).replace("\xa0", " ")
            ages.append(f"{STRATUM_LABELS[stratum]}: fitted {age} ago")
    return ages


def dashboard_view_model(document: dict) -> dict:
    """Everything the dashboard template needs from one stats document."""

    tables = dashboard_tables(document)
    return {
        "headline": headline(document),
        "demographics": tables["demographics"],
        "strata": [
            {
                "key": stratum,
                "label": STRATUM_LABELS[stratum],
                "msts": tables[f"msts-{stratum}"],
                "outcomes": tables[f"outcomes-{stratum}"],
                "charts": stratum_charts(document, stratum),
            }
            for stratum in STRATA
        ],
        "complications": tables["complications"],
        "followup": followup_view_model(document, tables),
        "completeness": completeness_view_model(document, tables),
        "trajectory_ages": trajectory_ages(document),
        "enrolment_chart": charts.enrolment_chart(
            document.get("enrolment") or [], TREATMENTS, title="Enrolment over time"
        ),
    }

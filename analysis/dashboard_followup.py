"""The dashboard's follow-up analyses from one stats document: survival, the incidence of a
secondary procedure, the MSTS trajectory and the responders (no database, no request).

Each is a :class:`analysis.tables.Table` (display rows and CSV rows, as the other tables) or
None when the document does not hold its key yet (a snapshot computed before it existed), which
the page shows as "Not computed yet".
"""

from analysis import charts
from analysis.tables import Table, fmt, fmt_p
from analysis.tables import lookup as _get
from analysis.tables import notes as _notes
from registry.vocabulary import PSFS, SACROPLASTY, STRATA, STRATUM_LABELS, TREATMENTS
from registry.vocabulary import TREATMENT_SHORT_LABELS as TREATMENT_LABELS

DAYS = ("90", "180", "365")
MODEL = (
    "Linear mixed model of every complete post-operative MSTS total: total ~ treatment + baseline total "
    "+ months since the index procedure, a random intercept per patient (REML); the difference is "
    f"{TREATMENT_LABELS[PSFS]} minus {TREATMENT_LABELS[SACROPLASTY].lower()}, adjusted."
)


def _pct(value, digits: int = 0) -> str:
    return "—" if value is None else f"{fmt(value * 100, digits)}%"


def survival_table(document: dict) -> Table | None:
    survival = document.get("survival")
    if survival is None:
        return None
    table = Table("survival", "Overall survival (Kaplan-Meier)", ["", *(TREATMENT_LABELS[t] for t in TREATMENTS)])

    def add(label, fn):
        table.rows.append([label, *(fn(survival.get(t) or {}) for t in TREATMENTS)])

    add("Patients (n)", lambda g: fmt(g.get("n")))
    add("Deaths", lambda g: fmt(g.get("events")))
    add(
        "Median survival, days",
        lambda g: "not reached" if g.get("n") and g.get("median_days") is None else fmt(g.get("median_days"), 0),
    )
    for day in DAYS:
        add(f"Alive at {day} days (95% CI)", lambda g, d=day: _with_ci(_get(g, "at_days", d), _get(g, "ci_at_days", d)))
    table.notes += _notes([(TREATMENT_LABELS[t], _get(survival, t, "note")) for t in TREATMENTS])
    table.csv_header = [
        "treatment",
        "n",
        "deaths",
        "median_days",
        *(f"{name}_{day}" for day in DAYS for name in ("survival", "ci_low", "ci_high")),
    ]
    for t in TREATMENTS:
        g = survival.get(t) or {}
        ci = [(_get(g, "ci_at_days", day) or [None, None]) for day in DAYS]
        table.csv_rows.append(
            [
                TREATMENT_LABELS[t],
                g.get("n"),
                g.get("events"),
                g.get("median_days"),
                *(
                    value
                    for day, (low, high) in zip(DAYS, ci, strict=True)
                    for value in (_get(g, "at_days", day), low, high)
                ),
            ]
        )
    return table


def _with_ci(value, ci) -> str:
    if value is None:
        return "—"
    return f"{_pct(value)} ({_pct(ci[0])} to {_pct(ci[1])})" if ci else _pct(value)


def incidence_table(document: dict) -> Table | None:
    incidence = document.get("secondary_procedure_incidence")
    if incidence is None:
        return None
    table = Table(
        "secondary-procedure-incidence",
        "Cumulative incidence of a first secondary procedure (death competing)",
        ["", *(TREATMENT_LABELS[t] for t in TREATMENTS)],
    )

    def add(label, fn):
        table.rows.append([label, *(fn(incidence.get(t) or {}) for t in TREATMENTS)])

    add("Patients (n)", lambda g: fmt(g.get("n")))
    add("With a secondary procedure", lambda g: fmt(g.get("events")))
    add("Died before one", lambda g: fmt(g.get("competing")))
    for day in DAYS:
        add(f"By {day} days", lambda g, d=day: _pct(_get(g, "at_days", d)))
    table.notes += _notes([(TREATMENT_LABELS[t], _get(incidence, t, "note")) for t in TREATMENTS])
    table.csv_header = ["treatment", "n", "events", "competing", *(f"incidence_{day}" for day in DAYS)]
    table.csv_rows = [
        [
            TREATMENT_LABELS[t],
            _get(incidence, t, "n"),
            _get(incidence, t, "events"),
            _get(incidence, t, "competing"),
            *(_get(incidence, t, "at_days", day) for day in DAYS),
        ]
        for t in TREATMENTS
    ]
    return table


def trajectory_table(document: dict) -> Table | None:
    trajectory = document.get("trajectory")
    if trajectory is None:
        return None
    table = Table(
        "trajectory",
        "MSTS trajectory over every follow-up: adjusted difference",
        ["Stratum", "Adjusted difference", "95% CI", "p", "Patients", "Visits"],
        notes=[MODEL],
    )
    table.csv_header = ["stratum", "difference", "ci_low", "ci_high", "p_value", "n_patients", "n_visits"]
    notes = []
    for stratum in STRATA:
        r = trajectory.get(stratum) or {}
        ci = f"{fmt(r.get('ci_low'))} to {fmt(r.get('ci_high'))}" if r.get("ci_low") is not None else "—"
        table.rows.append(
            [
                STRATUM_LABELS[stratum],
                fmt(r.get("difference")),
                ci,
                fmt_p(r.get("p_value")),
                fmt(r.get("n_patients")),
                fmt(r.get("n_visits")),
            ]
        )
        table.csv_rows.append(
            [
                STRATUM_LABELS[stratum],
                *(r.get(k) for k in ("difference", "ci_low", "ci_high", "p_value", "n_patients", "n_visits")),
            ]
        )
        notes.append((STRATUM_LABELS[stratum], r.get("note")))
    table.notes += _notes(notes)
    return table


def responders_table(document: dict) -> Table | None:
    responders = document.get("responders")
    if responders is None:
        return None
    table = Table(
        "responders",
        "Responders: final MSTS total at least the MCID above baseline",
        ["Stratum", "MCID (points)", *(f"{TREATMENT_LABELS[t]} responders" for t in TREATMENTS), "p (Fisher)"],
        notes=["MCID: half the standard deviation of every baseline MSTS total in the scope (distribution-based)."],
    )
    table.csv_header = [
        "stratum",
        "mcid",
        *(f"{t}_{name}" for t in TREATMENTS for name in ("responders", "n", "rate")),
        "p_value",
    ]
    notes = []
    for stratum in STRATA:
        r = responders.get(stratum) or {}
        cells = []
        for t in TREATMENTS:
            g = r.get(t) or {}
            cells.append(
                "—" if g.get("responders") is None else f"{g['responders']} / {g.get('n')} ({_pct(g.get('rate'))})"
            )
            notes.append((f"{STRATUM_LABELS[stratum]}, {TREATMENT_LABELS[t]}", g.get("note")))
        table.rows.append([STRATUM_LABELS[stratum], fmt(r.get("mcid")), *cells, fmt_p(r.get("p_value"))])
        table.csv_rows.append(
            [
                STRATUM_LABELS[stratum],
                r.get("mcid"),
                *(_get(r, t, name) for t in TREATMENTS for name in ("responders", "n", "rate")),
                r.get("p_value"),
            ]
        )
        notes.append((STRATUM_LABELS[stratum], r.get("note")))
    table.notes += _notes(notes)
    return table


def followup_tables(document: dict) -> list[Table]:
    """The follow-up tables the document holds (a key it does not hold yet gives none)."""
    builders = (survival_table, incidence_table, trajectory_table, responders_table)
    return [table for table in (build(document) for build in builders) if table is not None]


def followup_view_model(document: dict, tables: dict[str, Table]) -> dict:
    """The follow-up section of the page: each table (None: not computed yet) and its chart."""
    survival = document.get("survival")
    incidence = document.get("secondary_procedure_incidence")
    trajectory = document.get("trajectory") or {}
    visits = {
        s: trajectory[s]["visits"]
        for s in STRATA
        if isinstance(trajectory.get(s), dict) and trajectory[s].get("visits")
    }
    return {
        "survival": tables.get("survival"),
        "survival_chart": charts.survival_chart(survival, title="Overall survival") if survival else None,
        "incidence": tables.get("secondary-procedure-incidence"),
        "incidence_chart": (
            charts.incidence_chart(incidence, title="Cumulative incidence of a first secondary procedure")
            if incidence
            else None
        ),
        "trajectory": tables.get("trajectory"),
        "trajectory_charts": [
            charts.trajectory_chart(visits[s], title=f"{STRATUM_LABELS[s]}: mean MSTS total by visit") for s in visits
        ],
        "responders": tables.get("responders"),
    }

"""The study report: one stats document laid out as a printable paper (no database, no request).

Its numbers are the dashboard's: the tables come from ``analysis.dashboard`` and are only
rearranged into the study's layout here, the figures from ``analysis.charts`` through the
dashboard's view model, the second release's keys (survival, incidence, trajectory, responders,
the follow-up flow)
included. What the report adds is words: a methods paragraph written from the document, and a
sentence of each stratum's main result.

The calendar span of the index procedures is a date, PHI for investigators: the report names the
first and last month only for a user with PHI rights at every site in scope (``show_months``),
and otherwise states how long the span is.
"""

import datetime
import platform
from importlib import metadata

from analysis.dashboard import Table, dashboard_view_model, fmt, fmt_p
from outcomes.schedule import SCHEDULE
from registry.vocabulary import PSFS, SACROPLASTY, STRATA, STRATUM_LABELS, TREATMENTS
from registry.vocabulary import TREATMENT_SHORT_LABELS as TREATMENT_LABELS

PACKAGES = ("Django", "numpy", "scipy", "statsmodels", "pandas")


def software_versions() -> list[tuple[str, str]]:
    """(name, version) of Python and of the packages that compute and show the statistics."""
    versions = [("Python", platform.python_version())]
    for name in PACKAGES:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def _get(mapping, *keys, default=None):
    for key in keys:
        if not isinstance(mapping, dict) or key not in mapping:
            return default
        mapping = mapping[key]
    return mapping


def _month_index(month: str) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


def _month_name(month: str) -> str:
    year, number = month.split("-")
    return datetime.date(int(year), int(number), 1).strftime("%B %Y")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def index_span(document: dict, *, show_months: bool) -> str:
    """When the index procedures took place: the first and last month for a user who may see
    dates, else only the length of the span (whole months between the first and the last)."""
    months = sorted(row["month"] for row in document.get("enrolment") or [] if row.get("month"))
    if not months:
        return "No index procedure is recorded in this scope."
    first, last = months[0], months[-1]
    if show_months:
        if first == last:
            return f"The index procedures took place in {_month_name(first)}."
        return f"The index procedures took place between {_month_name(first)} and {_month_name(last)}."
    span = _month_index(last) - _month_index(first)
    years, rest = divmod(span, 12)
    length = " and ".join(part for part in (years and _plural(years, "year"), rest and _plural(rest, "month")) if part)
    length = f"a span of {length}" if length else "a single calendar month"
    return (
        f"The index procedures took place over {length} "
        "(calendar dates are shown only to users with PHI rights at every site of the scope)."
    )


def _schedule_text() -> str:
    visits = [f"{visit.label} (days {visit.first_day} to {visit.last_day})" for visit in SCHEDULE]
    return (
        "Each patient was assessed before the index procedure (the baseline) and followed up at "
        f"{', '.join(visits[:-1])} and {visits[-1]} after it, later visits as needed; the post-operative score "
        "is the patient's final follow-up."
    )


def improvement_test(stratum_data: dict) -> dict | None:
    """The test of the improvement between the treatments of one stratum (``improvement_test``), where
    the document holds one."""
    stratum_data = stratum_data or {}
    if isinstance(stratum_data.get("improvement_test"), dict):
        return stratum_data["improvement_test"]
    for value in stratum_data.values():
        if isinstance(value, dict) and value.get("test") == "welch_t":
            return value
    return None


def methods(document: dict, *, show_months: bool) -> list[str]:
    """The methods section as paragraphs, written from the document."""
    strata = document.get("strata") or {}
    per_treatment = {t: _get(document, "demographics", t, "n", default=0) for t in TREATMENTS}
    per_stratum = ", ".join(f"{fmt(_get(strata, s, 'n', default=0))} {STRATUM_LABELS[s].lower()}" for s in STRATA)
    cohort = (
        f"The scope holds {fmt(document.get('n_patients'))} patients, "
        f"{fmt(document.get('n_patients_analysed', document.get('n_patients')))} of them with an index procedure "
        f"(their first): {per_treatment[PSFS]} {TREATMENT_LABELS[PSFS]} and "
        f"{per_treatment[SACROPLASTY]} {TREATMENT_LABELS[SACROPLASTY].lower()}; {per_stratum}. "
        + index_span(document, show_months=show_months)
    )
    tests = [
        "Within each fracture stratum, the post-operative MSTS (the total and each domain) was compared between "
        "the treatments by an analysis of covariance (ANCOVA) with the treatment as factor and the pre-operative "
        "score as covariate, at alpha 0.05, as in the study. The improvement is (post - pre) / 30, in percent."
    ]
    if any(improvement_test(strata.get(s)) for s in STRATA):
        tests.append("The improvement was compared between the treatments by Welch's t-test.")
    if "survival" in document:
        tests.append(
            "Overall survival from the index procedure was estimated by Kaplan-Meier, a living patient censored "
            "on the last day known alive, with Greenwood's variance and log(-log) 95% confidence intervals."
        )
    if "secondary_procedure_incidence" in document:
        tests.append(
            "The cumulative incidence of a first secondary procedure was estimated by Aalen-Johansen, with death "
            "as a competing risk."
        )
    if "trajectory" in document:
        tests.append(
            "The trajectory of every post-operative MSTS total was modelled by a linear mixed model "
            "(post ~ treatment + pre-operative total + months from the index procedure, a random intercept per "
            "patient, fitted by REML)."
        )
    if "responders" in document:
        tests.append(
            "A responder improved by at least the distribution-based minimal clinically important difference "
            "(half the standard deviation of the scope's baseline totals); responder rates were compared by "
            "Fisher's exact test."
        )
    software = ", ".join(f"{name} {version}" for name, version in software_versions())
    return [cohort, _schedule_text(), " ".join(tests), f"Software: {software}."]


def _column(table: Table, header: str) -> int | None:
    return table.header.index(header) if header in table.header else None


def paper_tables(msts: Table) -> list[Table]:
    """The dashboard's MSTS table of a stratum as the study printed it (pre, post and the ANCOVA p of
    each treatment), and the ANCOVA's adjusted difference beside it. Falls back to the table as is
    when its columns are not the expected ones."""
    labels = [f"{TREATMENT_LABELS[t]} {phase}" for t in TREATMENTS for phase in ("pre", "post")]
    psfs_pre, psfs_post, sacro_pre, sacro_post = (_column(msts, label) for label in labels)
    p = _column(msts, "p")
    rest = [i for i, h in enumerate(msts.header) if i and h not in labels]  # difference, CI, p, n
    if None in (psfs_pre, psfs_post, sacro_pre, sacro_post, p):
        return [msts]
    order = [0, psfs_pre, psfs_post, p, sacro_pre, sacro_post]
    paper = Table(msts.name, msts.title, ["", *(msts.header[i] for i in order[1:])])
    paper.title = msts.title.split(":")[0] + ": MSTS before and after (the study's layout)"
    paper.rows = [[row[i] for i in order] for row in msts.rows]
    ancova = Table(f"{msts.name}-ancova", msts.title.split(":")[0] + ": ANCOVA", [msts.header[i] for i in [0, *rest]])
    ancova.rows = [[row[i] for i in [0, *rest]] for row in msts.rows]
    ancova.notes = list(msts.notes)
    return [paper, ancova]


def _p_text(p: str) -> str:
    """A p-value cell of the tables ("0.005", "<0.001", "—") in a sentence."""
    if p == "—":
        return "p not computable"
    return f"p {p[0]} {p[1:]}" if p.startswith("<") else f"p = {p}"


def key_finding(stratum_label: str, paper: Table) -> str | None:
    """The post-operative totals and the ANCOVA p of a stratum in one sentence."""
    if len(paper.header) != 6 or not paper.rows:
        return None
    _, _, psfs_post, p, _, sacro_post = paper.rows[0]
    return (
        f"{stratum_label}: post-operative MSTS total {psfs_post} after {TREATMENT_LABELS[PSFS]} and {sacro_post} "
        f"after {TREATMENT_LABELS[SACROPLASTY].lower()}; ANCOVA {_p_text(p)}."
    )


def report_view_model(document: dict, *, show_months: bool) -> dict:
    """Everything the report template needs from one stats document, in the report's order."""
    model = dashboard_view_model(document)
    sections = [
        {"id": "methods", "title": "Methods", "paragraphs": methods(document, show_months=show_months)},
        {"id": "demographics", "title": "Demographics", "tables": [model["demographics"]]},
    ]
    findings = []
    for stratum in model["strata"]:
        tables = paper_tables(stratum["msts"])
        finding = key_finding(stratum["label"], tables[0])
        findings += [finding] if finding else []
        test = improvement_test(_get(document, "strata", stratum["key"]))
        paragraphs = [finding] if finding else []
        if test is not None:
            paragraphs.append(
                f"Improvement, {TREATMENT_LABELS[PSFS]} against {TREATMENT_LABELS[SACROPLASTY].lower()} "
                f"(Welch's t-test): {_p_text(fmt_p(test.get('p_value')))}."
            )
        sections.append(
            {
                "id": f"stratum-{stratum['key']}",
                "title": stratum["label"],
                "paragraphs": paragraphs,
                "tables": [*tables, stratum["outcomes"]],
                "figures": [stratum["charts"]["slope"], stratum["charts"]["profile"], stratum["charts"]["km"]],
            }
        )
    followup = model.get("followup") or {}  # the dashboard's survival, incidence, trajectory, responders
    later = [followup.get(key) for key in ("survival", "incidence", "trajectory", "responders") if followup.get(key)]
    figures = [followup.get("survival_chart"), followup.get("incidence_chart"), *followup.get("trajectory_charts", [])]
    if later:
        sections.append(
            {
                "id": "beyond-the-study",
                "title": "Beyond the study",
                "tables": later,
                "figures": [figure for figure in figures if figure],
            }
        )
    completeness = model["completeness"]  # the dashboard's flow diagram and its table
    if completeness["table"] is not None:
        sections.append(
            {
                "id": "follow-up-flow",
                "title": "Follow-up flow",
                "tables": [completeness["table"]],
                "figures": [completeness["chart"]],
            }
        )
    sections.append({"id": "complications", "title": "Complications", "tables": [model["complications"]]})
    if show_months:  # its month axis dates the index procedures
        sections.append({"id": "enrolment", "title": "Enrolment", "figures": [model["enrolment_chart"]]})
    return {"headline": model["headline"], "findings": findings, "sections": sections}

"""Dashboard pictures as SVG, drawn on the server from a stats snapshot.

Pure functions: a snapshot's numbers in, SVG markup out. No script, no outside asset, no style
attribute (presentation attributes only, which the Content-Security-Policy allows); the drawings
print in black and white too (sacroplasty is dashed, PSFS solid).

The public functions, each taking a part of a stats document and a ``title`` (the dashboard and
the report both draw with them; their names and arguments stay stable):

- ``slope_chart(groups)``: pre/post MSTS total per patient and per group mean with its 95% CI;
- ``domain_profile(groups, domains)``: mean score per MSTS domain, pre-operative (light) and final
  (solid), with a key to the shading;
- ``step_curves(curves)``: Kaplan-Meier curves of secondary-procedure-free time (per stratum);
- ``survival_chart(survival)``: a scope's ``survival`` key, with the 95% band and numbers at risk;
- ``incidence_chart(incidence)``: a scope's ``secondary_procedure_incidence`` key, numbers at risk;
- ``trajectory_chart(visits)``: each treatment's mean MSTS total by follow-up month;
- ``enrolment_chart(months, treatments)``: cumulative enrolment on a true time axis;
- ``mean_ci(mean, sd, n)``: the 95% interval of a mean.
"""

import math
from collections.abc import Sequence
from datetime import date
from html import escape

from django.utils.safestring import SafeString
from scipy.stats import t as t_distribution

from core.svg import HEIGHT, MARGIN, WIDTH, Frame, line_chart, nice_ticks, svg, text, x_axis, y_axis
from outcomes.msts import DOMAIN_MAX, MSTS_MAX
from registry.vocabulary import PSFS, SACROPLASTY, TREATMENT_SHORT_LABELS

TREATMENT_STYLE = {
    PSFS: {"label": TREATMENT_SHORT_LABELS[PSFS], "colour": "#1b5e9f", "dash": ""},
    SACROPLASTY: {"label": TREATMENT_SHORT_LABELS[SACROPLASTY], "colour": "#c2571a", "dash": "6 4"},
}
# The drawing primitives live in core.svg (the patient page draws with them too).
_Frame, _svg, _text, _y_axis, _x_axis, _nice_ticks = Frame, svg, text, y_axis, x_axis, nice_ticks


def _legend(treatments: Sequence[str], x: float = MARGIN["left"] + 8, y: float = 16) -> list[str]:
    parts = []
    for i, treatment in enumerate(treatments):
        style = TREATMENT_STYLE[treatment]
        left = x + i * 130
        parts.append(
            f'<line x1="{left}" y1="{y - 4}" x2="{left + 24}" y2="{y - 4}" stroke="{style["colour"]}" '
            f'stroke-width="3" stroke-dasharray="{style["dash"]}"/>'
        )
        parts.append(_text(left + 30, y, style["label"], anchor="start", size=12))
    return parts


def _empty(title: str, note: str) -> SafeString:
    return _svg(title, note, [_text(WIDTH / 2, HEIGHT / 2, note, size=13)])


def mean_ci(mean: float | None, sd: float | None, n: int) -> tuple[float, float] | None:
    """95% confidence interval of a mean (Student's t); None when it cannot be given."""
    if mean is None or sd is None or n < 2:
        return None
    half = t_distribution.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def slope_chart(groups: dict, *, title: str) -> SafeString:
    """Pre/post MSTS total per patient (thin lines) and per group (mean with 95% CI).

    ``groups`` maps treatment to {"pairs": [[pre, post], ...], "pre": summary, "post": summary},
    each summary {"mean", "sd", "n"}.
    """
    if not any(group.get("pairs") or (group.get("post") or {}).get("mean") is not None for group in groups.values()):
        return _empty(title, "Not enough data: no patient with baseline and follow-up totals.")
    frame = _Frame((0, 1), (0, MSTS_MAX))
    body = [*_y_axis(frame, range(0, MSTS_MAX + 1, 5), f"MSTS total (0-{MSTS_MAX})"), *_legend(list(groups))]
    body += _x_axis(frame, [(0.12, "Pre-operative"), (0.88, "Final follow-up")], "")
    for offset, (treatment, group) in zip((-0.03, 0.03), groups.items(), strict=False):
        style = TREATMENT_STYLE[treatment]
        xa, xb = frame.x(0.12 + offset), frame.x(0.88 + offset)
        if group.get("pairs"):
            # One group carries the lines' shared style: a few hundred lines stay a few KB each
            # chart (the page is re-sent whenever a new snapshot lands). Each line is still its
            # own element, so where many overlap the picture grows darker.
            body.append(
                f'<g class="pairs" stroke="{style["colour"]}" stroke-opacity="0.25" stroke-dasharray="{style["dash"]}">'
            )
            body += [
                f'<line x1="{xa}" y1="{frame.y(pre)}" x2="{xb}" y2="{frame.y(post)}"/>' for pre, post in group["pairs"]
            ]
            body.append("</g>")
        points = []
        for x, summary in ((xa, group.get("pre") or {}), (xb, group.get("post") or {})):
            if summary.get("mean") is None:
                continue
            points.append((x, frame.y(summary["mean"])))
            ci = mean_ci(summary["mean"], summary.get("sd"), summary.get("n", 0))
            if ci:
                low, high = frame.y(max(ci[0], 0)), frame.y(min(ci[1], MSTS_MAX))
                stroke = f'stroke="{style["colour"]}"'
                body.append(f'<line x1="{x}" y1="{low}" x2="{x}" y2="{high}" {stroke} stroke-width="2"/>')
                body.append(f'<line x1="{x - 5}" y1="{low}" x2="{x + 5}" y2="{low}" {stroke}/>')
                body.append(f'<line x1="{x - 5}" y1="{high}" x2="{x + 5}" y2="{high}" {stroke}/>')
            body.append(f'<circle cx="{x}" cy="{frame.y(summary["mean"])}" r="4" fill="{style["colour"]}"/>')
        if len(points) == 2:
            (x1, y1), (x2, y2) = points
            body.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{style["colour"]}" stroke-width="3" '
                f'stroke-dasharray="{style["dash"]}"/>'
            )
    return _svg(title, "Each thin line is one patient; thick lines join group means with 95% CI.", body)


def domain_profile(groups: dict, domains: Sequence[tuple[str, str]], *, title: str) -> SafeString:
    """Mean score per MSTS domain (0-DOMAIN_MAX): pre-operative (light) and final (solid) per treatment."""
    if not any((group.get("msts_post") or {}).get(key) is not None for group in groups.values() for key, _ in domains):
        return _empty(title, "Not enough data: no scored follow-up.")
    frame = _Frame((0, len(domains)), (0, DOMAIN_MAX))
    body = [*_y_axis(frame, range(0, DOMAIN_MAX + 1), f"Mean score (0-{DOMAIN_MAX})"), *_legend(list(groups))]
    body += _x_axis(frame, [(i + 0.5, label) for i, (_, label) in enumerate(domains)], "")
    body += _shading_legend()
    bar = 0.18
    for i, (key, label) in enumerate(domains):
        for j, (treatment, group) in enumerate(groups.items()):
            colour = TREATMENT_STYLE[treatment]["colour"]
            for k, (phase, opacity) in enumerate((("msts_pre", "0.35"), ("msts_post", "1"))):
                value = (group.get(phase) or {}).get(key)
                if value is None:
                    continue
                x = frame.x(i + 0.5 + (j * 2 + k - 2) * bar)
                width = frame.x(bar) - frame.x(0) - 1
                top = frame.y(value)
                body.append(
                    f'<rect x="{x}" y="{top}" width="{width}" height="{round(frame.bottom - top, 1)}" '
                    f'fill="{colour}" fill-opacity="{opacity}" stroke="{colour}">'
                    f"<title>{escape(label)}: {escape(TREATMENT_STYLE[treatment]['label'])} "
                    f"{'pre' if k == 0 else 'final'} {value:.1f}</title></rect>"
                )
    return _svg(title, "Light bars: pre-operative means; solid bars: final follow-up means.", body)


def step_curves(curves: dict, *, title: str) -> SafeString:
    """Kaplan-Meier curves of secondary-procedure-free time.

    ``curves`` maps treatment to {"curve": [{t, survival}], "end": last follow-up day}; each
    curve is drawn on to its group's last follow-up (the censored tail).
    """
    drawn = {t: c for t, c in curves.items() if c.get("curve")}
    if not drawn:
        return _empty(title, "Not enough data: no follow-up yet.")
    t_max = max(max([p["t"] for p in c["curve"]] + [c.get("end") or 0]) for c in drawn.values()) or 1
    frame = _Frame((0, t_max), (0, 1))
    step = max(30, round(t_max / 6 / 30) * 30)
    body = [*_y_axis(frame, [0, 0.25, 0.5, 0.75, 1], "Free of secondary procedure", fmt=lambda v: f"{v:.0%}")]
    body += _x_axis(frame, [(t, str(t)) for t in range(0, int(t_max) + 1, step)], "Days since the index procedure")
    body += _legend(list(curves))
    for treatment, data in drawn.items():
        style = TREATMENT_STYLE[treatment]
        curve = data["curve"]
        path = [f"M{frame.x(0)},{frame.y(1)}"]
        for point in curve:
            path.append(f"H{frame.x(point['t'])}")
            path.append(f"V{frame.y(point['survival'])}")
        path.append(f"H{frame.x(max([p['t'] for p in curve] + [data.get('end') or 0]))}")
        body.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{style["colour"]}" stroke-width="2.5" '
            f'stroke-dasharray="{style["dash"]}"/>'
        )
    return _svg(title, "Kaplan-Meier estimate, censored at the last follow-up.", body)


def _shading_legend(x: float = 330, y: float = 16) -> list[str]:
    """The key to the domain bars' shading: light is pre-operative, solid the final follow-up."""
    parts = []
    for i, (opacity, label) in enumerate((("0.35", "Pre-operative"), ("1", "Final follow-up"))):
        left = x + i * 110
        parts.append(
            f'<rect class="legend-shading" x="{left}" y="{y - 10}" width="14" height="12" fill="#555" '
            f'fill-opacity="{opacity}" stroke="#555"/>'
        )
        parts.append(_text(left + 18, y, label, anchor="start", size=12))
    return parts


def _month_number(month: str) -> int | None:
    """'YYYY-MM' as a count of months (year * 12 + month - 1); None when it is not one."""
    try:
        year, number = (int(part) for part in month.split("-"))
        date(year, number, 1)
    except (TypeError, ValueError):
        return None
    return year * 12 + number - 1


def _month_ticks(first: int, last: int) -> list[tuple[int, str]]:
    """Ticks at an even step (1, 2, 3, 6, 12... months), at most 6 labels; yearly ticks show the year alone."""
    span = last - first
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120) if span / s <= 6), 240)
    start = first if step < 12 else -(-first // 12) * 12  # years start in January
    ticks = []
    for month in range(start, last + 1, step):
        year, number = divmod(month, 12)
        ticks.append((month, str(year) if step >= 12 else f"{year}-{number + 1:02d}"))
    return ticks


def enrolment_chart(months: Sequence[dict], treatments: Sequence[str], *, title: str) -> SafeString:
    """Cumulative patients enrolled (by index procedure month) per treatment, on a true time axis.

    ``months`` is the stats document's ``enrolment``: [{"month": "YYYY-MM", treatment: count}],
    months without a procedure left out. Each month sits at its date (a gap of three years is
    three years wide); the line steps up at each enrolling month. Each month's marker carries
    ``data-month``.
    """
    dated = [(number, month) for month in months if (number := _month_number(month.get("month"))) is not None]
    if not dated:
        return _empty(title, "No patient enrolled yet.")
    first, last = dated[0][0], dated[-1][0]
    totals = dict.fromkeys(treatments, 0)
    series = {t: [] for t in treatments}
    for number, month in dated:
        for t in treatments:
            totals[t] += month.get(t, 0)
            series[t].append((number, totals[t]))
    top = max(max(totals.values()), 1)
    frame = _Frame((first, max(last, first + 1)), (0, top))
    body = [*_y_axis(frame, _nice_ticks(top), "Patients (cumulative)")]
    body += _x_axis(frame, _month_ticks(first, last), "Index procedure month")
    body += _legend(list(treatments))
    for t in treatments:
        style = TREATMENT_STYLE[t]
        path = [f"M{frame.x(series[t][0][0])},{frame.y(0)}"]
        for number, value in series[t]:
            path.append(f"H{frame.x(number)}V{frame.y(value)}")
        body.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{style["colour"]}" stroke-width="2.5" '
            f'stroke-dasharray="{style["dash"]}"/>'
        )
    for number, month in dated:
        body.append(
            f'<circle class="month" data-month="{escape(month["month"])}" cx="{frame.x(number)}" '
            f'cy="{frame.bottom}" r="2" fill="#444"/>'
        )
    return _svg(title, "Cumulative enrolment per treatment; months are spaced by date.", body)


RISK_ROW = 18  # height of a row of the numbers-at-risk table under a curve's axis
RISK_LEFT = 84  # room for a treatment's name left of its numbers at risk


def _thin(curve: Sequence[Sequence], frame: Frame) -> list[Sequence]:
    """The steps to draw: of several steps on one pixel column, the last (a 100k cohort's curve stays small)."""
    kept: list[Sequence] = []
    for step in curve:
        if kept and frame.x(kept[-1][0]) == frame.x(step[0]):
            kept[-1] = step
        else:
            kept.append(step)
    return kept


def _risk_ticks(frame: Frame, days: Sequence[int]) -> list[int]:
    """The days of the numbers at risk, leaving out one too close to the one before to be read."""
    shown: list[int] = []
    for day in days:
        if not shown or frame.x(day) - frame.x(shown[-1]) >= 30:
            shown.append(day)
    return shown


def _curve_chart(groups: dict, *, title: str, description: str, y_label: str, rising: bool, empty: str) -> SafeString:
    drawn = {t: g for t, g in groups.items() if g and g.get("at_risk") and g["at_risk"].get("0")}
    if not drawn:
        return _empty(title, empty)
    days = sorted({int(day) for g in drawn.values() for day in g["at_risk"]})
    last_step = max((g["curve"][-1][0] for g in drawn.values() if g.get("curve")), default=0)
    x_end = max(365, last_step, days[-1])
    y_step, y_top = 0.25, 1.0
    if rising:  # an incidence: the axis ends at the next tenth (or quarter) above the highest value
        top = max((step[1] for g in drawn.values() for step in g.get("curve") or []), default=0)
        y_step = 0.1 if top <= 0.5 else 0.25
        y_top = min(1.0, max(2, math.ceil(round(top / y_step, 6))) * y_step)
    height = HEIGHT + RISK_ROW * (len(drawn) + 1)
    bottom = MARGIN["bottom"] + RISK_ROW * (len(drawn) + 1)
    frame = _Frame((0, x_end), (0, y_top), height=height, bottom=bottom, left=RISK_LEFT)
    ticks = _risk_ticks(frame, days)
    y_ticks = [round(i * y_step, 4) for i in range(round(y_top / y_step) + 1)]
    body = [*_y_axis(frame, y_ticks, y_label, fmt=lambda v: f"{v:.0%}")]
    body += _x_axis(frame, [(day, str(day)) for day in ticks], "Days since the index procedure")
    body += _legend(list(drawn), x=RISK_LEFT + 8)
    row_y = frame.bottom + 36 + RISK_ROW
    body.append(_text(4, row_y, "Number at risk", anchor="start", size=11, weight="bold"))
    for i, (treatment, group) in enumerate(drawn.items()):
        style = TREATMENT_STYLE[treatment]
        y = row_y + RISK_ROW * (i + 1)
        body.append(_text(4, y, style["label"], anchor="start", size=11))
        for day in ticks:
            count = group["at_risk"].get(str(day))
            if count is not None:
                body.append(
                    f'<text class="at-risk" data-treatment="{treatment}" data-day="{day}" x="{frame.x(day)}" y="{y}" '
                    f'text-anchor="middle" font-size="11" fill="{style["colour"]}">{int(count)}</text>'
                )
        curve = _thin(group.get("curve") or [], frame)
        start = 0 if rising else 1
        if not rising:
            body += _ci_band(curve, frame, style["colour"], x_end=_followed_to(group, x_end))
        path = [f"M{frame.x(0)},{frame.y(start)}"]
        for step in curve:
            path.append(f"H{frame.x(step[0])}V{frame.y(step[1])}")
        path.append(f"H{frame.x(_followed_to(group, x_end))}")
        body.append(
            f'<path class="curve" data-treatment="{treatment}" d="{"".join(path)}" fill="none" '
            f'stroke="{style["colour"]}" stroke-width="2.5" stroke-dasharray="{style["dash"]}"/>'
        )
    return _svg(title, description, body, height=height)


def _followed_to(group: dict, x_end: float) -> float:
    """The last day the group's curve is drawn to: its last step, or the last day anyone was still at risk."""
    followed = [int(day) for day, count in group["at_risk"].items() if count]
    steps = [step[0] for step in group.get("curve") or []]
    return min(x_end, max(followed + steps + [0]))


def _ci_band(curve: Sequence[Sequence], frame: Frame, colour: str, *, x_end: float) -> list[str]:
    """The 95% interval of a step curve as one shaded path, one closed part per run of steps that have one."""
    parts, run = [], []
    for i, step in enumerate(curve):
        until = curve[i + 1][0] if i + 1 < len(curve) else x_end
        if step[2] is None or step[3] is None:
            if run:
                parts.append(run)
            run = []
            continue
        run.append((step[0], until, step[2], step[3]))
    if run:
        parts.append(run)
    d = []
    for run in parts:
        upper = [f"{frame.x(x)},{frame.y(high)}" for start, end, _, high in run for x in (start, end)]
        lower = [f"{frame.x(x)},{frame.y(low)}" for start, end, low, _ in reversed(run) for x in (end, start)]
        d.append("M" + " L".join(upper + lower) + " Z")
    if not d:
        return []
    return [f'<path class="ci-band" d="{" ".join(d)}" fill="{colour}" fill-opacity="0.15" stroke="none"/>']


def survival_chart(survival: dict, *, title: str) -> SafeString:
    """Kaplan-Meier overall survival per treatment with its 95% band and the numbers at risk under the axis.

    ``survival`` is a scope's ``survival`` key: treatment to {"curve": [[day, survival, ci_low,
    ci_high, at_risk], ...], "at_risk": {"0": n, "90": n, ...}}. Public: the report draws it too.
    """
    return _curve_chart(
        survival,
        title=title,
        description="Kaplan-Meier estimate with its 95% confidence band (log-log); numbers at risk under the axis.",
        y_label="Alive",
        rising=False,
        empty="Not enough data: no patient followed yet.",
    )


def incidence_chart(incidence: dict, *, title: str) -> SafeString:
    """Cumulative incidence of a first secondary procedure per treatment, death competing (Aalen-Johansen).

    ``incidence`` is a scope's ``secondary_procedure_incidence`` key: treatment to {"curve":
    [[day, incidence, at_risk], ...], "at_risk": {...}}. Public: the report draws it too.
    """
    return _curve_chart(
        incidence,
        title=title,
        description="Aalen-Johansen cumulative incidence, death a competing risk; numbers at risk under the axis.",
        y_label="Had a secondary procedure",
        rising=True,
        empty="Not enough data: no patient followed yet.",
    )


def trajectory_chart(visits: dict, *, title: str) -> SafeString:
    """Each treatment's mean MSTS total by follow-up month: ``visits`` maps treatment to [[month, mean, n], ...]."""
    series = [
        {
            "label": TREATMENT_STYLE[t]["label"],
            "colour": TREATMENT_STYLE[t]["colour"],
            "dash": TREATMENT_STYLE[t]["dash"],
            "points": [(row[0], row[1]) for row in rows or [] if row[1] is not None],
        }
        for t, rows in visits.items()
        if t in TREATMENT_STYLE
    ]
    return line_chart(
        series,
        title=title,
        description="Mean MSTS total of each treatment by months since the index procedure.",
        x_label="Months since the index procedure",
        y_label=f"Mean MSTS total (0-{MSTS_MAX})",
        y_range=(0, MSTS_MAX),
        y_ticks=range(0, MSTS_MAX + 1, 5),
        empty="Not enough data: no follow-up visit.",
    )

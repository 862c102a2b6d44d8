"""Dashboard pictures as SVG, drawn on the server from a stats snapshot.

Pure functions: a snapshot's numbers in, SVG markup out. No script, no outside asset; the
drawings print in black and white too (sacroplasty is dashed, PSFS solid).
"""

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe
from scipy.stats import t as t_distribution

from outcomes.msts import DOMAIN_MAX, MSTS_MAX
from registry.vocabulary import PSFS, SACROPLASTY, TREATMENT_SHORT_LABELS

TREATMENT_STYLE = {
    PSFS: {"label": TREATMENT_SHORT_LABELS[PSFS], "colour": "#1b5e9f", "dash": ""},
    SACROPLASTY: {"label": TREATMENT_SHORT_LABELS[SACROPLASTY], "colour": "#c2571a", "dash": "6 4"},
}
WIDTH, HEIGHT = 560, 300
MARGIN = {"left": 52, "right": 16, "top": 28, "bottom": 44}


class _Frame:
    """Maps data coordinates to the plotting area of one chart."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]):
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.left, self.top = MARGIN["left"], MARGIN["top"]
        self.right, self.bottom = WIDTH - MARGIN["right"], HEIGHT - MARGIN["bottom"]

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1
        return round(self.left + (value - self.x0) / span * (self.right - self.left), 1)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1
        return round(self.bottom - (value - self.y0) / span * (self.bottom - self.top), 1)


def _svg(title: str, description: str, body: Sequence[str]) -> SafeString:
    return mark_safe(  # noqa: S308 - every text part below is escaped
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'aria-labelledby="t"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x, y, text, *, anchor="middle", size=12, weight="normal", cls="") -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
        f'class="{cls}" fill="#222">{escape(str(text))}</text>'
    )


def _y_axis(frame: _Frame, ticks: Sequence[float], label: str, fmt=str) -> list[str]:
    parts = [f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{frame.bottom}" stroke="#444"/>']
    for tick in ticks:
        y = frame.y(tick)
        parts.append(f'<line x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" stroke="#ddd"/>')
        parts.append(_text(frame.left - 6, y + 4, fmt(tick), anchor="end", size=11))
    mid = (frame.top + frame.bottom) / 2
    parts.append(
        f'<text transform="translate(14 {mid}) rotate(-90)" text-anchor="middle" font-size="12" fill="#222">'
        f"{escape(label)}</text>"
    )
    return parts


def _x_axis(frame: _Frame, ticks: Sequence[tuple[float, str]], label: str) -> list[str]:
    parts = [f'<line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" stroke="#444"/>']
    for value, text in ticks:
        parts.append(_text(frame.x(value), frame.bottom + 16, text, size=11))
    parts.append(_text((frame.left + frame.right) / 2, HEIGHT - 6, label))
    return parts


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


def enrolment_chart(months: Sequence[dict], treatments: Sequence[str], *, title: str) -> SafeString:
    """Cumulative patients enrolled (by index procedure month) per treatment."""
    if not months:
        return _empty(title, "No patient enrolled yet.")
    totals = dict.fromkeys(treatments, 0)
    series = {t: [] for t in treatments}
    for i, month in enumerate(months):
        for t in treatments:
            totals[t] += month.get(t, 0)
            series[t].append((i, totals[t]))
    top = max(max(totals.values()), 1)
    frame = _Frame((0, max(len(months) - 1, 1)), (0, top))
    tick_every = max(1, len(months) // 6)
    body = [*_y_axis(frame, _nice_ticks(top), "Patients (cumulative)")]
    ticks = [(i, months[i]["month"]) for i in range(0, len(months), tick_every)]
    body += _x_axis(frame, ticks, "Index procedure month")
    body += _legend(list(treatments))
    for t in treatments:
        style = TREATMENT_STYLE[t]
        points = " ".join(f"{frame.x(i)},{frame.y(v)}" for i, v in series[t])
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{style["colour"]}" stroke-width="2.5" '
            f'stroke-dasharray="{style["dash"]}"/>'
        )
    return _svg(title, "Cumulative enrolment per treatment.", body)


def _nice_ticks(top: float) -> list[int]:
    step = 10 ** max(0, len(str(int(top))) - 1)
    if top / step < 3:
        step = max(1, step // 2)
    return list(range(0, int(top) + step, step))

"""Small SVG charts drawn on the server: a frame mapping data to the drawing, text, axes, a line chart.

Pure functions, no model and no role: numbers in, markup out. Every text is escaped; nothing is
styled through a ``style`` attribute or a script, so a drawing passes the strictest
Content-Security-Policy and prints as it shows. analysis.charts (the dashboard) and the patient
page's chart (outcomes) both draw with these.
"""

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 300
MARGIN = {"left": 52, "right": 16, "top": 28, "bottom": 44}


class Frame:
    """Maps data coordinates to the plotting area of one chart (``height`` and ``bottom`` margin may grow)."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        *,
        width: int = WIDTH,
        height: int = HEIGHT,
        bottom: int = MARGIN["bottom"],
        left: int = MARGIN["left"],
    ):
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.width, self.height = width, height
        self.left, self.top = left, MARGIN["top"]
        self.right, self.bottom = width - MARGIN["right"], height - bottom

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1
        return round(self.left + (value - self.x0) / span * (self.right - self.left), 1)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1
        return round(self.bottom - (value - self.y0) / span * (self.bottom - self.top), 1)


def svg(title: str, description: str, body: Sequence[str], *, width: int = WIDTH, height: int = HEIGHT) -> SafeString:
    return mark_safe(  # noqa: S308 - every text part is escaped
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'aria-labelledby="t"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def text(x, y, content, *, anchor="middle", size=12, weight="normal", cls="") -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
        f'class="{cls}" fill="#222">{escape(str(content))}</text>'
    )


def y_axis(frame: Frame, ticks: Sequence[float], label: str, fmt=str) -> list[str]:
    parts = [f'<line x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" y2="{frame.bottom}" stroke="#444"/>']
    for tick in ticks:
        y = frame.y(tick)
        parts.append(f'<line x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" stroke="#ddd"/>')
        parts.append(text(frame.left - 6, y + 4, fmt(tick), anchor="end", size=11))
    mid = (frame.top + frame.bottom) / 2
    parts.append(
        f'<text transform="translate({frame.left - 38} {mid}) rotate(-90)" text-anchor="middle" font-size="12" '
        f'fill="#222">{escape(label)}</text>'
    )
    return parts


def x_axis(frame: Frame, ticks: Sequence[tuple[float, str]], label: str, *, label_y: float | None = None) -> list[str]:
    """The x axis, its tick labels (the last one anchored at its end when it would pass the edge) and its label."""
    parts = [f'<line x1="{frame.left}" y1="{frame.bottom}" x2="{frame.right}" y2="{frame.bottom}" stroke="#444"/>']
    for value, tick in ticks:
        x = frame.x(value)
        anchor = "end" if x + len(tick) * 3.5 > frame.width - 2 else "middle"
        parts.append(f'<line x1="{x}" y1="{frame.bottom}" x2="{x}" y2="{frame.bottom + 4}" stroke="#444"/>')
        parts.append(text(x, frame.bottom + 16, tick, size=11, anchor=anchor))
    if label:
        parts.append(text((frame.left + frame.right) / 2, label_y or frame.bottom + 36, label))
    return parts


def nice_ticks(top: float) -> list[int]:
    step = 10 ** max(0, len(str(int(top))) - 1)
    if top / step < 3:
        step = max(1, step // 2)
    return list(range(0, int(top) + step, step))


def line_chart(
    series: Sequence[dict],
    *,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float],
    y_ticks: Sequence[float],
    empty: str = "Not enough data.",
) -> SafeString:
    """Lines with a marker at each point: ``series`` is [{"label", "points": [(x, y)], "colour", "dash"}].

    Each marker carries ``data-x`` and ``data-y`` (the data values), so a page or a test can read
    the numbers back; the x axis runs from 0 (or the least x) to the greatest x, with a little room.
    """
    drawn = [s for s in series if s.get("points")]
    if not drawn:
        return svg(title, empty, [text(WIDTH / 2, HEIGHT / 2, empty, size=13)])
    xs = [x for s in drawn for x, _ in s["points"]]
    x0, x1 = min(0, min(xs)), max(xs) or 1
    pad = (x1 - x0) * 0.04  # a marker at either end stays whole
    frame = Frame((x0 - pad, x1 + pad), y_range)
    steps = nice_ticks(x1 - x0)
    step = steps[1] - steps[0] if len(steps) > 1 else 1
    ticks = [(v, f"{v:g}") for v in range(-(-int(x0) // step) * step, int(x1) + 1, step)]
    body = [*y_axis(frame, y_ticks, y_label), *x_axis(frame, ticks, x_label)]
    for i, s in enumerate(drawn):
        colour, dash = s.get("colour", "#1b5e9f"), s.get("dash", "")
        points = " ".join(f"{frame.x(x)},{frame.y(y)}" for x, y in s["points"])
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}"/>'
        )
        body += [
            f'<circle class="point" cx="{frame.x(x)}" cy="{frame.y(y)}" r="3.5" fill="{colour}" '
            f'data-x="{x:g}" data-y="{y:g}"><title>{escape(s.get("label", ""))}: {y:g} at {x:g}</title></circle>'
            for x, y in s["points"]
        ]
        left = frame.left + 8 + i * 170
        body.append(
            f'<line x1="{left}" y1="12" x2="{left + 24}" y2="12" stroke="{colour}" stroke-width="3" '
            f'stroke-dasharray="{dash}"/>'
        )
        body.append(text(left + 30, 16, s.get("label", ""), anchor="start"))
    return svg(title, description, body)

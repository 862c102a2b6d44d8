"""The follow-up flow diagram as SVG, drawn on the server from a stats document's ``completeness``
and ``followup_flow`` (analysis.completeness): the index procedures, then per window of the
schedule the procedures whose window has not opened, the patients who left before it (died,
withdrew, lost), and of those expected the visits done, not done (with their reasons), missed and
pending. Pure: numbers in, markup out, drawn with core.svg like the other charts (no script, no
style attribute); every number is also written as text, so the picture reads in black and white.
"""

from html import escape

from django.utils.safestring import SafeString

from core.svg import svg, text
from outcomes.schedule import SCHEDULE

WIDTH, HEIGHT = 660, 346
COLUMN = 200
GAP = 20
OUTCOMES = (
    ("done", "Done", "#2e7d32"),
    ("not_done", "Not done", "#6a4c93"),
    ("missed", "Missed", "#b00020"),
    ("pending", "Pending", "#b26a00"),
)
REASON_LABELS = {
    "declined": "declined",
    "too_ill": "too ill",
    "deceased": "deceased",
    "lost_to_follow_up": "lost",
    "withdrawn": "withdrawn",
    "other": "other",
}


def _box(x, y, width, height, *, fill="#fff", stroke="#8c959f") -> str:
    return f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="4" fill="{fill}" stroke="{stroke}"/>'


def _arrow(x1, y1, x2, y2) -> list[str]:
    return [
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2 - 6}" stroke="#57606a" stroke-width="1.5"/>',
        f'<polygon points="{x2 - 4},{y2 - 7} {x2 + 4},{y2 - 7} {x2},{y2}" fill="#57606a"/>',
    ]


def reasons_text(reasons: dict) -> str:
    """ "too ill 2, declined 1": the reasons of the visits not done, most frequent first."""
    found = sorted(((n, code) for code, n in (reasons or {}).items() if n), key=lambda item: (-item[0], item[1]))
    return ", ".join(f"{REASON_LABELS.get(code, code)} {n}" for n, code in found)


def _column(x: float, visit, counts: dict, flow: dict) -> list[str]:
    body = [_box(x, 70, COLUMN, 36, fill="#f6f8fa")]
    body.append(text(x + COLUMN / 2, 86, visit.label, size=13, weight="bold"))
    body.append(text(x + COLUMN / 2, 100, f"days {visit.first_day}-{visit.last_day}", size=11))
    left = [(name, flow.get(key, 0)) for key, name in (("died", "died"), ("withdrawn", "withdrew"), ("lost", "lost"))]
    body += [
        text(x + 4, 126, f"Not yet open: {flow.get('not_yet_open', 0)}", anchor="start", size=11),
        text(x + 4, 142, "Left: " + ", ".join(f"{name} {n}" for name, n in left), anchor="start", size=11),
    ]
    expected = counts.get("expected", 0)
    body += _arrow(x + COLUMN / 2, 148, x + COLUMN / 2, 164)
    body.append(_box(x, 164, COLUMN, 26, fill="#eef4fb", stroke="#1b5e9f"))
    body.append(text(x + COLUMN / 2, 182, f"Expected: {expected}", size=12, weight="bold"))
    y = 200
    for key, label, colour in OUTCOMES:
        n = counts.get(key, 0)
        width = round((COLUMN - 2) * n / expected, 1) if expected else 0
        body.append(_box(x, y, COLUMN, 30))
        if width:
            body.append(
                f'<rect class="flow-bar" x="{x + 1}" y="{y + 22}" width="{width}" height="6" fill="{colour}">'
                f"<title>{escape(label)}: {n} of {expected}</title></rect>"
            )
        body.append(text(x + 6, y + 16, f"{label}: {n}", anchor="start", size=12, cls=f"flow-{key}"))
        if key == "not_done" and reasons_text(flow.get("not_done_reasons")):
            body.append(text(x + COLUMN - 4, y + 16, reasons_text(flow["not_done_reasons"]), anchor="end", size=10))
        y += 36
    return body


def flow_chart(completeness: dict, flow: dict, *, title: str) -> SafeString:
    """The flow diagram of one scope: ``completeness`` and ``followup_flow`` of its stats document."""
    total = (flow or {}).get("index_procedures", 0)
    body = [_box(WIDTH / 2 - 110, 8, 220, 30, fill="#eef4fb", stroke="#1b5e9f")]
    body.append(text(WIDTH / 2, 28, f"Index procedures: {total}", size=13, weight="bold"))
    for i, visit in enumerate(SCHEDULE):
        x = GAP / 2 + i * (COLUMN + GAP)
        body += _arrow(WIDTH / 2, 38, x + COLUMN / 2, 70)
        body += _column(
            x, visit, completeness.get(visit.key) or {}, (flow or {}).get("visits", {}).get(visit.key) or {}
        )
    description = (
        "For each follow-up window: index procedures whose window has not opened, patients who left before it, "
        "and of the visits expected those done, not done, missed and pending. The table below gives the same numbers."
    )
    return svg(title, description, body, width=WIDTH, height=HEIGHT)

"""The tables of the dashboard and the report: a table as the page shows it and as its CSV holds
it, and the formatting every table shares (numbers, p-values, notes as a person reads them)."""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from registry.vocabulary import TREATMENT_SHORT_LABELS as TREATMENT_LABELS


@dataclass
class Table:
    name: str  # file name of its CSV download
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    csv_header: list[str] = field(default_factory=list)
    csv_rows: list[list] = field(default_factory=list)


_FIELD_PREFIX = re.compile(r"^(?:[a-z]+_[a-z_]*|[a-z]+_[a-z_]* \d+): ")
_GROUP_COUNT = re.compile(r"\b(psfs|sacroplasty) (\d+)\b")


def human_note(note: str) -> str:
    """A computation's note as a person reads it: no field names ("age_mean: "), treatments by their
    label ("psfs 0" -> "PSFS: no patients"), a capital first letter."""
    parts = [_FIELD_PREFIX.sub("", part.strip()) for part in note.split("; ")]
    note = "; ".join(dict.fromkeys(part for part in parts if part))

    def group(match):
        count = int(match.group(2))
        label = TREATMENT_LABELS[match.group(1)]
        return f"{label}: no patients" if count == 0 else f"{label}: {count} patient{'s' if count > 1 else ''}"

    note = _GROUP_COUNT.sub(group, note)
    return note[:1].upper() + note[1:]


def notes(pairs: list[tuple[str, str]]) -> list[str]:
    """ "Label: note" lines; one line for all when every label has the same note."""
    pairs = [(label, human_note(note)) for label, note in pairs if note]
    if len(pairs) > 1 and len({note for _, note in pairs}) == 1:
        return [f"All: {pairs[0][1]}"]
    return [f"{label}: {note}" for label, note in pairs]


def fmt(value, digits: int = 1) -> str:
    """A number as the tables show it; missing values as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    # Half up, as people round (7.25 -> 7.3), from the shortest repr of the float.
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def fmt_p(value) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def lookup(mapping, *keys, default=None):
    for key in keys:
        if not isinstance(mapping, dict) or key not in mapping:
            return default
        mapping = mapping[key]
    return mapping

"""The MSTS score's vocabulary as plain Python (no Django), defined once for the models, forms, API,
exports, pages and the pure statistics.

The Musculoskeletal Tumor Society score (Enneking 1993) has six domains, each scored 0-5; the total
(0-30) is defined only when all six are scored. The order is the one of docs/reference.md, "MSTS
score", and of every table, export and form.
"""

from typing import NamedTuple


class Domain(NamedTuple):
    field: str  # Encounter column and API field
    key: str  # key of the stats document
    label: str
    short_label: str  # short enough to sit side by side on a chart axis
    descriptors: dict[int, str]  # descriptors of the odd scores and 0; 4 and 2 are the in-between values


DOMAIN_MAX = 5
DOMAINS = (
    Domain(
        "msts_pain",
        "pain",
        "Pain",
        "Pain",
        {5: "None", 3: "Modest, non-disabling", 1: "Moderate, disabling", 0: "Severe, disabling"},
    ),
    Domain(
        "msts_function",
        "function",
        "Function",
        "Function",
        {
            5: "No restriction",
            3: "Recreational restriction",
            1: "Partial occupational restriction",
            0: "Total occupational restriction",
        },
    ),
    Domain(
        "msts_emotional_acceptance",
        "emotional_acceptance",
        "Emotional acceptance",
        "Emotion",
        {5: "Enthused", 3: "Satisfied", 1: "Accepts", 0: "Dislikes"},
    ),
    Domain(
        "msts_supports",
        "supports",
        "Use of supports",
        "Supports",
        {5: "None", 3: "Brace", 1: "One cane or crutch", 0: "Two canes or crutches"},
    ),
    Domain(
        "msts_walking",
        "walking",
        "Walking ability",
        "Walking",
        {5: "Unlimited", 3: "Limited", 1: "Inside only", 0: "Unable without help"},
    ),
    Domain(
        "msts_gait",
        "gait",
        "Gait",
        "Gait",
        {5: "Normal", 3: "Minor cosmetic change", 1: "Major cosmetic change", 0: "Major handicap"},
    ),
)
DOMAIN_COUNT = len(DOMAINS)
MSTS_FIELDS = tuple(domain.field for domain in DOMAINS)
DOMAIN_KEYS = tuple(domain.key for domain in DOMAINS)
MSTS_MAX = DOMAIN_COUNT * DOMAIN_MAX  # 30
TOTAL_KEY = "total"  # the total's key in the stats document, beside the domain keys
TOTAL_LABEL = f"Total (0-{MSTS_MAX})"


def msts_percent_exact(total):
    """The total as a percentage of MSTS_MAX, unrounded (a number or a numpy array of them)."""
    return total / MSTS_MAX * 100


def msts_percent(total: int | None) -> float | None:
    """The total as a percentage of MSTS_MAX, to one decimal; None without a total."""
    return None if total is None else round(msts_percent_exact(total), 1)


def incomplete_warnings(scores: dict) -> list[str]:
    """The soft rule of a partly scored MSTS (some but not all six domains; the pages ask to confirm,
    the API accepts it): one sentence naming the domains left unscored. None or all scored: no warning."""
    missing = [domain.label.lower() for domain in DOMAINS if scores.get(domain.field) is None]
    if not missing or len(missing) == DOMAIN_COUNT:
        return []
    scored = DOMAIN_COUNT - len(missing)
    return [
        f"MSTS: {scored} of {DOMAIN_COUNT} domains scored (not scored: {', '.join(missing)}); "
        "the total stays undefined until all six are scored."
    ]

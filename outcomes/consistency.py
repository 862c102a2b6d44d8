"""Rules between a procedure's visits (issue "Consistency between records"), apart from the
services that apply them: errors are dicts naming the field (refused everywhere), warnings are
sentences the web pages ask the user to confirm (the API accepts them).

- Two follow-ups of one procedure on the same day: refused (``date``).
- A follow-up with no MSTS score, no narcotic change and no opioid dose ("empty"): refused.
- Two follow-ups of one procedure in one window of the schedule: a warning; the confirmation
  (kept in the audit reason) says that both visits took place.
"""

from collections.abc import Collection

from django.core.exceptions import NON_FIELD_ERRORS

from outcomes.models import MSTS_FIELDS, Encounter, EncounterKind
from outcomes.schedule import visit_for_followup

EMPTY_FOLLOWUP = (
    "A follow-up needs at least one MSTS domain score, the narcotic change or the opioid dose "
    f"({MSTS_FIELDS[0]} to {MSTS_FIELDS[-1]}, narcotic_change, opioid_mme_per_day)."
)


def merge_errors(*dicts: dict) -> dict:
    """One error dict from several: the messages of a field named twice are kept in order."""
    merged: dict[str, list] = {}
    for errors in dicts:
        for field, messages in errors.items():
            merged.setdefault(field, []).extend(messages if isinstance(messages, list) else [messages])
    return merged


def _other_followups(encounter: Encounter):
    others = Encounter.objects.filter(procedure_id=encounter.procedure_id, kind=EncounterKind.FOLLOWUP)
    return others.exclude(pk=encounter.pk) if encounter.pk else others


def _is_followup(encounter: Encounter) -> bool:
    return encounter.kind == EncounterKind.FOLLOWUP and bool(encounter.procedure_id and encounter.date)


def same_day_errors(encounter: Encounter) -> dict:
    """A second follow-up of the same procedure on the same day is refused (``date``)."""
    if _is_followup(encounter) and _other_followups(encounter).filter(date=encounter.date).exists():
        return {"date": [f"This procedure already has a follow-up on {encounter.date:%Y-%m-%d}."]}
    return {}


def empty_followup_errors(encounter: Encounter) -> dict:
    """A follow-up that records nothing (no MSTS domain, narcotic change or opioid dose) is refused."""
    if encounter.kind != EncounterKind.FOLLOWUP:
        return {}
    recorded = [getattr(encounter, field) for field in MSTS_FIELDS]
    recorded += [encounter.narcotic_change or None, encounter.opioid_mme_per_day]
    if all(value is None for value in recorded):
        return {NON_FIELD_ERRORS: [EMPTY_FOLLOWUP]}
    return {}


def window_warnings(encounter: Encounter, *, changed: Collection[str] | None = None) -> list[str]:
    """Warns when another follow-up of the procedure already falls in this follow-up's window: for a
    new encounter, or an edit whose ``changed`` fields move it (a confirmed pair is not asked again)."""
    moved = changed is None or "date" in changed or "kind" in changed
    if not (moved and _is_followup(encounter)):
        return []
    procedure_date = encounter.procedure.date
    visit = visit_for_followup(procedure_date, encounter.date)
    if visit is None:
        return []
    first, last = visit.window(procedure_date)
    other = _other_followups(encounter).filter(date__range=(first, last)).order_by("date").first()
    if other is None:
        return []
    return [
        f"Another follow-up of this procedure ({other.date:%Y-%m-%d}) is already in the {visit.label} window "
        f"(days {visit.first_day}-{visit.last_day} after the procedure): save a second one only if both "
        "visits took place."
    ]

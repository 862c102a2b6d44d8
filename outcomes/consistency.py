"""Rules between a procedure's visits (issue "Consistency between records"), apart from the
services that apply them: errors are dicts naming the field (refused everywhere), warnings are
sentences the web pages ask the user to confirm (the API accepts them).

- Two follow-ups of one procedure on the same day: refused (``date``).
- A follow-up with no MSTS score, no narcotic change and no opioid dose ("empty"): refused.
- Two follow-ups of one procedure in one window of the schedule: a warning; the confirmation
  (kept in the audit reason) says that both visits took place.
"""

import dataclasses
import datetime
from collections.abc import Collection, Iterable

from django.core.exceptions import NON_FIELD_ERRORS

from outcomes.models import MSTS_FIELDS, Encounter, EncounterKind, VisitNotDone
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


@dataclasses.dataclass
class Visits:
    """What the rules of a procedure's new or changed visit compare it with: the procedure's
    encounters as (id, kind, date) and its visits not done as (id, visit), in id order (a record not
    yet saved, a bulk service's earlier row, has the id None and comes last)."""

    encounters: list[tuple[int | None, str, datetime.date]] = dataclasses.field(default_factory=list)
    not_done: list[tuple[int | None, str]] = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, procedure_ids: Iterable[int]) -> dict[int, "Visits"]:
        """The saved visits of each procedure (two queries)."""
        found = {procedure_id: cls() for procedure_id in procedure_ids}
        encounters = Encounter.objects.filter(procedure_id__in=list(found)).order_by("id")
        for procedure_id, *row in encounters.values_list("procedure_id", "id", "kind", "date"):
            found[procedure_id].encounters.append(tuple(row))
        not_done = VisitNotDone.objects.filter(procedure_id__in=list(found)).order_by("id")
        for procedure_id, *row in not_done.values_list("procedure_id", "id", "visit"):
            found[procedure_id].not_done.append(tuple(row))
        return found

    @classmethod
    def of_procedure(cls, procedure_id: int | None) -> "Visits":
        return cls.of([procedure_id])[procedure_id] if procedure_id else cls()

    def others(self, record, kind: str) -> list[datetime.date]:
        """The dates of the encounters of ``kind`` other than ``record``, in id order."""
        return [day for pk, k, day in self.encounters if k == kind and (record.pk is None or pk != record.pk)]


def _other_followups(encounter: Encounter, visits: Visits | None) -> list[datetime.date]:
    visits = visits if visits is not None else Visits.of_procedure(encounter.procedure_id)
    return visits.others(encounter, EncounterKind.FOLLOWUP)


def _is_followup(encounter: Encounter) -> bool:
    return encounter.kind == EncounterKind.FOLLOWUP and bool(encounter.procedure_id and encounter.date)


def same_day_errors(encounter: Encounter, visits: Visits | None = None) -> dict:
    """A second follow-up of the same procedure on the same day is refused (``date``). ``visits``:
    the procedure's (``Visits``), when the caller holds them."""
    if _is_followup(encounter) and encounter.date in _other_followups(encounter, visits):
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


def window_warnings(
    encounter: Encounter, *, changed: Collection[str] | None = None, visits: Visits | None = None
) -> list[str]:
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
    other = min((day for day in _other_followups(encounter, visits) if first <= day <= last), default=None)
    if other is None:
        return []
    return [
        f"Another follow-up of this procedure ({other:%Y-%m-%d}) is already in the {visit.label} window "
        f"(days {visit.first_day}-{visit.last_day} after the procedure): save a second one only if both "
        "visits took place."
    ]

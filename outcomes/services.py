"""Every write of encounters, secondary procedures, complications and visits not done."""

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from core.writes import (
    assign,
    audit_context,
    check_warnings,
    clinical_data_changed,
    lock_for_update,
    require_reason,
    save,
    validate,
)
from outcomes import consistency, plausibility, schedule
from outcomes.consistency import Visits
from outcomes.models import (
    MSTS_FIELDS,
    Complication,
    Encounter,
    EncounterKind,
    ScheduledVisit,
    SecondaryProcedure,
    VisitNotDone,
)
from registry.models import Procedure
from registry.permissions import check_can_write_site
from registry.sign_off import check_not_signed_off

ENCOUNTER_EDITABLE = ("date", "kind", *MSTS_FIELDS, "narcotic_change", "opioid_mme_per_day")
SECONDARY_PROCEDURE_EDITABLE = ("date", "kind", "reason")
COMPLICATION_EDITABLE = ("date", "kind", "description", "resolved")


def after_death_errors(procedure: Procedure, day: datetime.date | None) -> dict:
    death = procedure.patient.death_date
    if day and death and day > death:
        return {"date": [f"The date cannot be after the patient's date of death ({death:%Y-%m-%d})."]}
    return {}


def encounter_rule_errors(encounter: Encounter, visits: Visits | None = None) -> dict:
    """The rules between the encounter and the other visits of its procedure (``visits``, when the
    caller holds them: a bulk service)."""
    if visits is None:
        visits = Visits.of_procedure(encounter.procedure_id)
    errors = after_death_errors(encounter.procedure, encounter.date)
    if encounter.kind == EncounterKind.BASELINE and visits.others(encounter, EncounterKind.BASELINE):
        errors["kind"] = ["This procedure already has a baseline encounter."]
    errors.update(not_done_window_errors(encounter, visits))
    return consistency.merge_errors(
        errors, consistency.same_day_errors(encounter, visits), consistency.empty_followup_errors(encounter)
    )


def encounter_warnings(
    encounter: Encounter, *, changed: Sequence[str] | None = None, visits: Visits | None = None
) -> list[str]:
    """The soft rules of an encounter about to be saved (the pages ask to confirm them): a second
    follow-up in one window of the schedule; implausible values (outcomes.plausibility: of a new
    encounter, or among the fields ``changed``)."""
    return [
        *consistency.window_warnings(encounter, changed=changed, visits=visits),
        *plausibility.encounter_warnings(encounter, changed=changed),
    ]


def _lock_procedure(procedure: Procedure) -> None:
    # Saves of one procedure's visits wait for each other, so that the rules comparing them
    # (one follow-up a day, one baseline) hold under concurrent requests too.
    Procedure.objects.select_for_update().filter(pk=procedure.pk).first()


def encounter_build(
    *,
    procedure: Procedure,
    date: datetime.date,
    kind: str,
    msts_pain: int | None = None,
    msts_function: int | None = None,
    msts_emotional_acceptance: int | None = None,
    msts_supports: int | None = None,
    msts_walking: int | None = None,
    msts_gait: int | None = None,
    narcotic_change: str | None = None,
    opioid_mme_per_day: Decimal | None = None,
) -> Encounter:
    """A new encounter, not yet checked nor saved (``encounter_record``, ``outcomes.bulk``)."""
    return Encounter(
        procedure=procedure,
        date=date,
        kind=kind,
        msts_pain=msts_pain,
        msts_function=msts_function,
        msts_emotional_acceptance=msts_emotional_acceptance,
        msts_supports=msts_supports,
        msts_walking=msts_walking,
        msts_gait=msts_gait,
        narcotic_change=narcotic_change or None,
        opioid_mme_per_day=opioid_mme_per_day,
    )


@transaction.atomic
def encounter_record(*, user, procedure: Procedure, confirm: bool = False, **fields) -> Encounter:
    """Records a visit (``fields``: those of ``encounter_build``) with its MSTS assessment (any
    domain may be left unscored, but a follow-up records something); soft rules
    (``encounter_warnings``) raise NeedsConfirmation unless ``confirm``."""
    check_can_write_site(user, procedure.patient.site_id)
    _lock_procedure(procedure)
    check_not_signed_off(procedure)
    encounter = encounter_build(procedure=procedure, **fields)
    validate(encounter, errors=encounter_rule_errors(encounter))
    reason = check_warnings(encounter_warnings(encounter), confirm=confirm)
    with audit_context(user=user, action="encounter_record", reason=reason):
        save(encounter)
    encounter.refresh_from_db(fields=["msts_total"])
    clinical_data_changed()
    return encounter


@transaction.atomic
def encounter_update(
    *,
    user,
    encounter: Encounter,
    data: dict,
    expected_version: int | None = None,
    reason: str = "",
    confirm: bool = False,
) -> Encounter:
    check_can_write_site(user, encounter.procedure.patient.site_id)
    reason = require_reason(reason)
    _lock_procedure(encounter.procedure)
    check_not_signed_off(encounter.procedure_id)
    encounter = lock_for_update(encounter, expected_version=expected_version)
    if "narcotic_change" in data:
        data = {**data, "narcotic_change": data["narcotic_change"] or None}
    changed = assign(encounter, data, allowed=ENCOUNTER_EDITABLE)
    if not changed:
        return encounter  # nothing changes: no new version, no audit event
    validate(encounter, errors=encounter_rule_errors(encounter))
    reason = check_warnings(encounter_warnings(encounter, changed=changed), confirm=confirm, reason=reason)
    encounter.version += 1
    with audit_context(user=user, action="encounter_update", reason=reason):
        save(encounter)
    encounter.refresh_from_db(fields=["msts_total"])
    clinical_data_changed()
    return encounter


@transaction.atomic
def encounter_delete(*, user, encounter: Encounter, reason: str = "") -> None:
    check_can_write_site(user, encounter.procedure.patient.site_id)
    check_not_signed_off(encounter.procedure_id)
    reason = require_reason(reason)
    with audit_context(user=user, action="encounter_delete", reason=reason):
        encounter.delete()
    clinical_data_changed()


def _event_create(model, *, user, action: str, procedure: Procedure, **fields):
    check_can_write_site(user, procedure.patient.site_id)
    check_not_signed_off(procedure)
    event = model(procedure=procedure, **fields)
    validate(event, errors=after_death_errors(procedure, event.date))
    with audit_context(user=user, action=action):
        save(event)
    clinical_data_changed()
    return event


def _event_update(event, *, user, action: str, data: dict, allowed, expected_version, reason):
    check_can_write_site(user, event.procedure.patient.site_id)
    check_not_signed_off(event.procedure_id)
    reason = require_reason(reason)
    event = lock_for_update(event, expected_version=expected_version)
    if not assign(event, data, allowed=allowed):
        return event  # nothing changes: no new version, no audit event
    validate(event, errors=after_death_errors(event.procedure, event.date))
    event.version += 1
    with audit_context(user=user, action=action, reason=reason):
        save(event)
    clinical_data_changed()
    return event


def _event_delete(event, *, user, action: str, reason: str) -> None:
    check_can_write_site(user, event.procedure.patient.site_id)
    check_not_signed_off(event.procedure_id)
    reason = require_reason(reason)
    with audit_context(user=user, action=action, reason=reason):
        event.delete()
    clinical_data_changed()


@transaction.atomic
def secondary_procedure_create(
    *, user, procedure: Procedure, date: datetime.date, kind: str, reason: str = ""
) -> SecondaryProcedure:
    """Records a secondary procedure after the index ``procedure``; ``reason`` is the clinical reason."""
    return _event_create(
        SecondaryProcedure,
        user=user,
        action="secondary_procedure_create",
        procedure=procedure,
        date=date,
        kind=kind,
        reason=reason,
    )


@transaction.atomic
def secondary_procedure_update(
    *, user, secondary_procedure: SecondaryProcedure, data: dict, expected_version: int | None = None, reason: str = ""
) -> SecondaryProcedure:
    """``reason`` is the reason for the change (audit); the clinical reason is ``data["reason"]``."""
    return _event_update(
        secondary_procedure,
        user=user,
        action="secondary_procedure_update",
        data=data,
        allowed=SECONDARY_PROCEDURE_EDITABLE,
        expected_version=expected_version,
        reason=reason,
    )


@transaction.atomic
def secondary_procedure_delete(*, user, secondary_procedure: SecondaryProcedure, reason: str = "") -> None:
    _event_delete(secondary_procedure, user=user, action="secondary_procedure_delete", reason=reason)


@transaction.atomic
def complication_create(
    *,
    user,
    procedure: Procedure,
    date: datetime.date,
    kind: str,
    description: str = "",
    resolved: bool = False,
) -> Complication:
    return _event_create(
        Complication,
        user=user,
        action="complication_create",
        procedure=procedure,
        date=date,
        kind=kind,
        description=description,
        resolved=resolved,
    )


@transaction.atomic
def complication_update(
    *, user, complication: Complication, data: dict, expected_version: int | None = None, reason: str = ""
) -> Complication:
    return _event_update(
        complication,
        user=user,
        action="complication_update",
        data=data,
        allowed=COMPLICATION_EDITABLE,
        expected_version=expected_version,
        reason=reason,
    )


@transaction.atomic
def complication_delete(*, user, complication: Complication, reason: str = "") -> None:
    _event_delete(complication, user=user, action="complication_delete", reason=reason)


# --- Visits not done ---------------------------------------------------------------------

VISIT_NOT_DONE_EDITABLE = ("visit", "reason", "note")
VISIT_ALREADY_NOT_DONE = "This visit is already recorded as not done for this procedure."
VISIT_DONE = "A follow-up on {day:%Y-%m-%d} already falls in this visit's window ({start:%Y-%m-%d} to {end:%Y-%m-%d})."
WINDOW_NOT_DONE = (
    "The {label} visit of this procedure is recorded as not done, and this date falls in its window "
    "({start:%Y-%m-%d} to {end:%Y-%m-%d}): change or retract the visit not done first."
)


def not_done_window_errors(encounter: Encounter, visits: Visits | None = None) -> dict:
    """A follow-up dated in a window already recorded as not done is refused (naming ``date``): a
    visit is done or not done, never both."""
    if encounter.kind != EncounterKind.FOLLOWUP or not encounter.date or not encounter.procedure_id:
        return {}
    procedure_date = encounter.procedure.date
    visit = schedule.visit_for_followup(procedure_date, encounter.date)
    if visit is None:
        return {}
    visits = visits if visits is not None else Visits.of_procedure(encounter.procedure_id)
    if not any(key == visit.key for _, key in visits.not_done):
        return {}
    start, end = visit.window(procedure_date)
    return {"date": [WINDOW_NOT_DONE.format(label=visit.label, start=start, end=end)]}


def visit_not_done_rule_errors(record: VisitNotDone, visits: Visits | None = None) -> dict:
    """One per procedure and visit; none for a visit that a follow-up in its window already did.
    ``visits``: the procedure's (``outcomes.consistency.Visits``), when the caller holds them."""
    if not record.procedure_id or record.visit not in ScheduledVisit.values:
        return {}
    visits = visits if visits is not None else Visits.of_procedure(record.procedure_id)
    if any(key == record.visit and (record.pk is None or pk != record.pk) for pk, key in visits.not_done):
        return {"visit": [VISIT_ALREADY_NOT_DONE]}
    visit = next(v for v in schedule.SCHEDULE if v.key == record.visit)
    start, end = visit.window(record.procedure.date)
    followups = [day for _, kind, day in visits.encounters if kind == EncounterKind.FOLLOWUP]
    done = min((day for day in followups if start <= day <= end), default=None)
    if done:
        return {"visit": [VISIT_DONE.format(day=done, start=start, end=end)]}
    return {}


def _clean_note(data: dict) -> dict:
    return {**data, "note": (data["note"] or "").strip()} if "note" in data else data


def visit_not_done_build(*, procedure: Procedure, visit: str, reason: str, note: str = "") -> VisitNotDone:
    """A new visit not done, not yet checked nor saved (``visit_not_done_create``, ``outcomes.bulk``)."""
    return VisitNotDone(procedure=procedure, visit=visit, reason=reason, note=(note or "").strip())


@transaction.atomic
def visit_not_done_create(*, user, procedure: Procedure, visit: str, reason: str, note: str = "") -> VisitNotDone:
    """Records that a scheduled visit of ``procedure`` did not take place; ``reason`` is the
    clinical reason (a code), ``note`` free text (required when the reason is ``other``)."""
    check_can_write_site(user, procedure.patient.site_id)
    check_not_signed_off(procedure)  # locks the procedure: its visits not done are written one at a time
    record = visit_not_done_build(procedure=procedure, visit=visit, reason=reason, note=note)
    validate(record, errors=visit_not_done_rule_errors(record))
    with audit_context(user=user, action="visit_not_done_create"):
        save(record)
    clinical_data_changed()
    return record


@transaction.atomic
def visit_not_done_update(
    *, user, visit_not_done: VisitNotDone, data: dict, expected_version: int | None = None, reason: str = ""
) -> VisitNotDone:
    """``reason`` is the reason for the change (audit); the clinical reason is ``data["reason"]``."""
    check_can_write_site(user, visit_not_done.procedure.patient.site_id)
    change_reason = require_reason(reason)
    check_not_signed_off(visit_not_done.procedure_id)
    record = lock_for_update(visit_not_done, expected_version=expected_version)
    if not assign(record, _clean_note(data), allowed=VISIT_NOT_DONE_EDITABLE):
        return record  # nothing changes: no new version, no audit event
    validate(record, errors=visit_not_done_rule_errors(record))
    record.version += 1
    with audit_context(user=user, action="visit_not_done_update", reason=change_reason):
        save(record)
    clinical_data_changed()
    return record


@transaction.atomic
def visit_not_done_delete(*, user, visit_not_done: VisitNotDone, reason: str = "") -> None:
    check_can_write_site(user, visit_not_done.procedure.patient.site_id)
    reason = require_reason(reason)
    check_not_signed_off(visit_not_done.procedure_id)
    with audit_context(user=user, action="visit_not_done_delete", reason=reason):
        visit_not_done.delete()
    clinical_data_changed()

"""Every write of encounters, secondary procedures and complications."""

import datetime
from decimal import Decimal

from django.db import transaction

from core.writes import (
    assign,
    audit_context,
    clinical_data_changed,
    lock_for_update,
    require_reason,
    save,
    validate,
)
from outcomes.models import MSTS_FIELDS, Complication, Encounter, EncounterKind, SecondaryProcedure
from registry.models import Procedure
from registry.permissions import check_can_write_site

ENCOUNTER_EDITABLE = ("date", "kind", *MSTS_FIELDS, "narcotic_change", "opioid_mme_per_day")
SECONDARY_PROCEDURE_EDITABLE = ("date", "kind", "reason")
COMPLICATION_EDITABLE = ("date", "kind", "description", "resolved")


def after_death_errors(procedure: Procedure, day: datetime.date | None) -> dict:
    death = procedure.patient.death_date
    if day and death and day > death:
        return {"date": [f"The date cannot be after the patient's date of death ({death:%Y-%m-%d})."]}
    return {}


def encounter_rule_errors(encounter: Encounter) -> dict:
    errors = after_death_errors(encounter.procedure, encounter.date)
    if encounter.kind == EncounterKind.BASELINE:
        others = Encounter.objects.filter(procedure_id=encounter.procedure_id, kind=EncounterKind.BASELINE)
        if others.exclude(pk=encounter.pk).exists():
            errors["kind"] = ["This procedure already has a baseline encounter."]
    return errors


@transaction.atomic
def encounter_record(
    *,
    user,
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
    """Records a visit with its MSTS assessment (any domain may be left unscored)."""
    check_can_write_site(user, procedure.patient.site_id)
    encounter = Encounter(
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
    validate(encounter, errors=encounter_rule_errors(encounter))
    with audit_context(user=user, action="encounter_record"):
        save(encounter)
    encounter.refresh_from_db(fields=["msts_total"])
    clinical_data_changed()
    return encounter


@transaction.atomic
def encounter_update(
    *, user, encounter: Encounter, data: dict, expected_version: int | None = None, reason: str = ""
) -> Encounter:
    check_can_write_site(user, encounter.procedure.patient.site_id)
    reason = require_reason(reason)
    encounter = lock_for_update(encounter, expected_version=expected_version)
    if "narcotic_change" in data:
        data = {**data, "narcotic_change": data["narcotic_change"] or None}
    if not assign(encounter, data, allowed=ENCOUNTER_EDITABLE):
        return encounter  # nothing changes: no new version, no audit event
    validate(encounter, errors=encounter_rule_errors(encounter))
    encounter.version += 1
    with audit_context(user=user, action="encounter_update", reason=reason):
        save(encounter)
    encounter.refresh_from_db(fields=["msts_total"])
    clinical_data_changed()
    return encounter


@transaction.atomic
def encounter_delete(*, user, encounter: Encounter, reason: str = "") -> None:
    check_can_write_site(user, encounter.procedure.patient.site_id)
    reason = require_reason(reason)
    with audit_context(user=user, action="encounter_delete", reason=reason):
        encounter.delete()
    clinical_data_changed()


def _event_create(model, *, user, action: str, procedure: Procedure, **fields):
    check_can_write_site(user, procedure.patient.site_id)
    event = model(procedure=procedure, **fields)
    validate(event, errors=after_death_errors(procedure, event.date))
    with audit_context(user=user, action=action):
        save(event)
    clinical_data_changed()
    return event


def _event_update(event, *, user, action: str, data: dict, allowed, expected_version, reason):
    check_can_write_site(user, event.procedure.patient.site_id)
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

"""Many new encounters, secondary procedures, complications and visits not done at once (an import's
path): the rules of ``encounter_record``, ``secondary_procedure_create``, ``complication_create`` and
``visit_not_done_create`` (the functions of ``outcomes.services`` they share), checked for a batch
with a few queries instead of some ten a row, then written with bulk INSERTs.

Each function takes unsaved records (built by ``services.encounter_build``, the models'
constructors, ``services.visit_not_done_build``) in the order they are to be created and returns
the refused ones' errors by index; the others are saved. A record is checked against its
procedure's saved visits and the batch's earlier records, as if those had been created one at a
time; the batch's procedures are locked and a signed-off one refuses its records. Every record is
audited (one event a row) under one audit context with ``reason``; an encounter whose warnings are
confirmed gets them in its reason, as on the single-row path. The news of the change
(``clinical_data_changed``) is sent once, after the commit.
"""

from collections.abc import Callable, Sequence

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction

from core.writes import (
    audit_context,
    check_warnings,
    clinical_data_changed,
    missing_relations,
    quiet_trigger_checks,
    runs_by_reason,
    save_all,
    validate,
)
from outcomes.consistency import Visits
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from outcomes.services import (
    after_death_errors,
    encounter_rule_errors,
    encounter_warnings,
    visit_not_done_rule_errors,
)
from registry.models import Procedure
from registry.permissions import check_can_write_site
from registry.sign_off import SIGNED_OFF


def _signed_off(procedure_ids: set[int], *, no_key: bool) -> set[int]:
    """Locks the procedures (as the single-row services do, in id order) and returns the signed-off ones."""
    rows = Procedure.objects.select_for_update(no_key=no_key).filter(pk__in=procedure_ids).order_by("pk")
    return {pk for pk, signed_off_at in rows.values_list("pk", "signed_off_at") if signed_off_at is not None}


def _create_bulk(
    records: Sequence[models.Model],
    *,
    user,
    action: str,
    reason: str,
    check: Callable[[models.Model, Visits, bool], str],
    no_key: bool = True,
) -> dict[int, ValidationError]:
    """Checks each record (``check(record, visits, relations_checked)`` raises ValidationError or
    returns its audit reason), adds the good ones to their procedure's visits for the next records,
    and writes them in runs of equal reason."""
    records = list(records)
    if not records:
        return {}
    for site_id in {record.procedure.patient.site_id for record in records}:
        check_can_write_site(user, site_id)
    quiet_trigger_checks()
    procedure_ids = {record.procedure_id for record in records}
    signed = _signed_off(procedure_ids, no_key=no_key)
    missing = missing_relations(records)
    visits = Visits.of(procedure_ids)
    refused, good, reasons = {}, [], []
    for index, record in enumerate(records):
        try:
            if record.procedure_id in signed:
                raise ValidationError({NON_FIELD_ERRORS: [SIGNED_OFF]})
            reasons.append(check(record, visits[record.procedure_id], index not in missing))
        except ValidationError as exc:
            refused[index] = exc
            continue
        if isinstance(record, Encounter):
            visits[record.procedure_id].encounters.append((None, record.kind, record.date))
        elif isinstance(record, VisitNotDone):
            visits[record.procedure_id].not_done.append((None, record.visit))
        good.append(index)
    for run_reason, run in runs_by_reason(reasons):
        indexes = [good[position] for position in run]
        with audit_context(user=user, action=action, reason=run_reason):
            failed = save_all([records[index] for index in indexes])
        refused.update({indexes[position]: exc for position, exc in failed.items()})
    clinical_data_changed()
    return refused


@transaction.atomic
def encounters_create_bulk(
    *, user, encounters: Sequence[Encounter], reason: str, confirm: bool = False
) -> dict[int, ValidationError]:
    """Records new encounters (``services.encounter_build``), each checked as ``encounter_record``
    checks it. Unconfirmed warnings raise NeedsConfirmation (nothing is written)."""

    def check(encounter, visits, relations_checked) -> str:
        validate(encounter, errors=encounter_rule_errors(encounter, visits), relations_checked=relations_checked)
        return check_warnings(encounter_warnings(encounter, visits=visits), confirm=confirm, reason=reason)

    # The single-row service locks the procedure for update (its visits' rules compare them).
    return _create_bulk(encounters, user=user, action="encounter_record", reason=reason, check=check, no_key=False)


def _event_check(reason: str):
    def check(event, visits, relations_checked) -> str:
        errors = after_death_errors(event.procedure, event.date)
        validate(event, errors=errors, relations_checked=relations_checked)
        return reason

    return check


@transaction.atomic
def secondary_procedures_create_bulk(
    *, user, secondary_procedures: Sequence[SecondaryProcedure], reason: str
) -> dict[int, ValidationError]:
    """Records new secondary procedures, each checked as ``secondary_procedure_create`` checks it."""
    return _create_bulk(
        secondary_procedures,
        user=user,
        action="secondary_procedure_create",
        reason=reason,
        check=_event_check(reason),
    )


@transaction.atomic
def complications_create_bulk(
    *, user, complications: Sequence[Complication], reason: str
) -> dict[int, ValidationError]:
    """Records new complications, each checked as ``complication_create`` checks it."""
    return _create_bulk(
        complications, user=user, action="complication_create", reason=reason, check=_event_check(reason)
    )


@transaction.atomic
def visits_not_done_create_bulk(
    *, user, visits_not_done: Sequence[VisitNotDone], reason: str
) -> dict[int, ValidationError]:
    """Records new visits not done (``services.visit_not_done_build``), each checked as
    ``visit_not_done_create`` checks it (one per procedure and visit; none for a visit a follow-up
    in its window did)."""

    def check(record, visits, relations_checked) -> str:
        validate(record, errors=visit_not_done_rule_errors(record, visits), relations_checked=relations_checked)
        return reason

    return _create_bulk(visits_not_done, user=user, action="visit_not_done_create", reason=reason, check=check)

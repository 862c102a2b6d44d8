"""Retraction ("entered in error") of the clinical records clinicians edit in the web pages.

A retraction is the owning app's delete service, with its reason, rights and audit context: the
record leaves every table (and so every list, statistic, export and worklist), the records that
hang on it go with it in the same audit context, and the audit events keep all of them
(``quality.selectors_retracted`` reads them back).
"""

import dataclasses
from collections.abc import Callable

from outcomes import selectors as outcome_selectors
from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, EncounterKind, SecondaryProcedure, VisitNotDone
from quality.selectors_retracted import PROCEDURE_CHILDREN, describe
from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.models import Patient, Procedure


@dataclasses.dataclass(frozen=True)
class RetractKind:
    """A kind of record that can be retracted: its model, the records of it a user may see, and
    its app's delete service (called with ``user``, ``reason`` and the record as ``argument``)."""

    model: type
    visible: Callable
    delete: Callable
    argument: str


KINDS = {
    "patient": RetractKind(
        Patient, registry_selectors.patients_visible_to, registry_services.patient_delete, "patient"
    ),
    "procedure": RetractKind(
        Procedure, registry_selectors.procedures_visible_to, registry_services.procedure_delete, "procedure"
    ),
    "encounter": RetractKind(
        Encounter, outcome_selectors.encounters_visible_to, outcome_services.encounter_delete, "encounter"
    ),
    "secondary-procedure": RetractKind(
        SecondaryProcedure,
        outcome_selectors.secondary_procedures_visible_to,
        outcome_services.secondary_procedure_delete,
        "secondary_procedure",
    ),
    "complication": RetractKind(
        Complication, outcome_selectors.complications_visible_to, outcome_services.complication_delete, "complication"
    ),
    "visit-not-done": RetractKind(
        VisitNotDone,
        outcome_selectors.visits_not_done_visible_to,
        outcome_services.visit_not_done_delete,
        "visit_not_done",
    ),
}


def retract(*, user, kind: str, record, reason: str) -> None:
    """Retracts ``record`` (of ``kind``) through its app's delete service: reason required, rights
    checked, every deletion (the records that go with it too) audited with the reason."""
    spec = KINDS[kind]
    spec.delete(user=user, reason=reason, **{spec.argument: record})


def patient_of(record) -> Patient:
    if isinstance(record, Patient):
        return record
    if isinstance(record, Procedure):
        return record.patient
    return record.procedure.patient


def retracted_message(record) -> str:
    """What the page says once ``record`` is retracted ("Follow-up retracted.")."""
    if isinstance(record, Patient):
        return f"Patient {record.study_id} retracted."
    if isinstance(record, Encounter):
        return "Follow-up retracted." if record.kind == EncounterKind.FOLLOWUP else "Baseline encounter retracted."
    return f"{record._meta.verbose_name.capitalize()} retracted."


@dataclasses.dataclass(frozen=True)
class DependentGroup:
    """The records of one kind that go with a retracted patient or procedure."""

    label: str
    rows: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.rows)


def dependents(record) -> list[DependentGroup]:
    """What goes with ``record`` when it is retracted: a patient's procedures and everything that hangs
    on them, a procedure's screws, encounters, visits not done, secondary procedures and
    complications; each kind with its records named by date and choices. Other records: nothing."""
    if isinstance(record, Patient):
        groups = [_group(Procedure, record.procedures.order_by("date", "id"), name_procedure=False)]
        scope = {"procedure__patient": record}
    elif isinstance(record, Procedure):
        groups, scope = [], {"procedure": record}
    else:
        return []
    for model in PROCEDURE_CHILDREN:
        rows = model.objects.filter(**scope).select_related("procedure")
        groups.append(_group(model, rows, name_procedure=isinstance(record, Patient)))
    return [group for group in groups if group.rows]


def _group(model, rows, *, name_procedure: bool) -> DependentGroup:
    named = []
    for row in rows:
        text = describe(model, row) or str(row)  # a screw has no date: its own description
        if name_procedure:
            text += f" (procedure of {row.procedure.date:%Y-%m-%d})"
        named.append(text)
    return DependentGroup(label=model._meta.verbose_name_plural.capitalize(), rows=tuple(named))

"""Retracted records ("entered in error": deleted through a service, with a reason), read back from
the audit event tables, where every insert, update and delete of a clinical record stays.

A retracted record is gone from the tables, so every list, statistic, export and worklist leaves it
out by construction; these reads are the only way back to it: whose it was (the patient's site as
of the patient's last event decides who may read its history), what went with it, who retracted it,
when and why.
"""

import dataclasses
import datetime
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Value

from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry.models import Patient, Procedure, Screw

# The records that hang on a procedure, retracted with it or on their own (screws only with it).
PROCEDURE_CHILDREN = (Screw, Encounter, VisitNotDone, SecondaryProcedure, Complication)
_RETRACTABLE = (Procedure, *PROCEDURE_CHILDREN)
# The fields that name a retracted entry on the timeline: choices and dates, never free text.
_NAMING_FIELDS = ("date", "treatment", "kind", "visit")


def event_model(model):
    """The model's audit event model (insert, update and delete events share one table)."""
    return next(iter(model.pgh_event_models.values()))


def last_event(model, pk: int):
    """The newest audit event of the record ``pk`` of ``model``, or None if it never existed."""
    return event_model(model).objects.filter(pgh_obj_id=pk).order_by("-pgh_id").first()


@dataclasses.dataclass(frozen=True)
class Owner:
    """The patient a record belongs (or belonged) to, and that patient's site."""

    patient_id: int
    study_id: str
    site_id: int


def owner_of(model, pk: int) -> Owner | None:
    """Whose record ``pk`` of ``model`` is or was, from the audit events (the record itself may be
    gone): the patient, and the patient's site as of the patient's last event. None when no event
    names the record."""
    event = last_event(model, pk)
    if event is None:
        return None
    if model is Patient:
        return Owner(patient_id=pk, study_id=event.study_id, site_id=event.site_id)
    if hasattr(event, "patient_id"):
        return _owner_of_patient(event.patient_id)
    procedure = last_event(Procedure, event.procedure_id)
    return _owner_of_patient(procedure.patient_id) if procedure else None


def _owner_of_patient(patient_id: int) -> Owner | None:
    event = last_event(Patient, patient_id)
    return Owner(patient_id=patient_id, study_id=event.study_id, site_id=event.site_id) if event else None


@dataclasses.dataclass(frozen=True)
class Retraction:
    """One retraction: the record retracted (``model``, ``pk``, ``description``), who, when, why,
    and the records that went with it, counted by kind ("2 screws")."""

    model: type
    pk: int
    description: str
    when: datetime.datetime
    username: str | None
    reason: str
    with_it: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.model._meta.verbose_name

    @property
    def history_kind(self) -> str:
        return self.kind.replace(" ", "-")


def patient_retractions(patient_id: int) -> list[Retraction]:
    """The records of the patient retracted on their own or with a procedure, newest first: each
    retraction once, with what went with it. Screws replaced by a procedure's edit are not
    retractions (their deletion happened in an update)."""
    deletes = _patient_deletes(patient_id)
    groups = defaultdict(list)
    for model, event in deletes:
        # One retraction is one audit context; a delete without one (outside the services) stands alone.
        groups[event.pgh_context_id or (model, event.pgh_obj_id)].append((model, event))
    retractions = [r for r in (_retraction(group) for group in groups.values()) if r is not None]
    return sorted(retractions, key=lambda r: (r.when, r.pk), reverse=True)


def _patient_deletes(patient_id: int) -> list[tuple]:
    """(model, delete event) of the patient's procedures and of what hung on them: one query when
    nothing was deleted (the patient page pays no more), one more per kind of record deleted."""
    events = {model: event_model(model).objects.filter(pgh_label="delete") for model in _RETRACTABLE}
    procedure_ids = event_model(Procedure).objects.filter(patient_id=patient_id).values("pgh_obj_id")
    scoped = [
        events[model].filter(
            **({"patient_id": patient_id} if model is Procedure else {"procedure_id__in": procedure_ids})
        )
        for model in _RETRACTABLE
    ]
    ids = [
        qs.annotate(retracted_model=Value(i)).values_list("pgh_id", "retracted_model") for i, qs in enumerate(scoped)
    ]
    found = defaultdict(list)
    for pgh_id, index in ids[0].union(*ids[1:], all=True):
        found[_RETRACTABLE[index]].append(pgh_id)
    return [
        (model, event)
        for model, pgh_ids in found.items()
        for event in events[model].filter(pgh_id__in=pgh_ids).select_related("pgh_context")
    ]


def _retraction(group: list) -> Retraction | None:
    order = {model: i for i, model in enumerate(_RETRACTABLE)}
    group.sort(key=lambda item: (order[item[0]], item[1].pgh_id))
    model, event = group[0]
    metadata = event.pgh_context.metadata if event.pgh_context else {}
    action = metadata.get("action", "")
    if action and not action.endswith("_delete"):
        return None  # deleted by an update (a procedure's screws replaced), not retracted
    counts = defaultdict(int)
    for child_model, _ in group[1:]:
        counts[child_model] += 1
    return Retraction(
        model=model,
        pk=event.pgh_obj_id,
        description=describe(model, event),
        when=event.pgh_created_at,
        username=metadata.get("username") or _username(metadata.get("user")),
        reason=metadata.get("reason", ""),
        with_it=tuple(_counted(child_model, n) for child_model, n in counts.items()),
    )


def describe(model, row) -> str:
    """A record named by its date and choices ("2024-02-01 · Follow-up"), never by free text."""
    parts = []
    for name in _NAMING_FIELDS:
        if not hasattr(row, name):
            continue
        field, value = model._meta.get_field(name), getattr(row, name)
        if isinstance(value, datetime.date):
            parts.append(f"{value:%Y-%m-%d}")
        elif value:
            parts.append(str(dict(field.flatchoices).get(value, value)))
    return " · ".join(parts)


def _counted(model, n: int) -> str:
    return f"{n} {model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural}"


def _username(user_id) -> str | None:
    if not user_id:
        return None
    return get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()


@dataclasses.dataclass(frozen=True)
class RetractedPatient:
    pk: int
    study_id: str
    site_id: int
    when: datetime.datetime
    username: str | None
    reason: str
    is_demo: bool


def retracted_patients(site_ids) -> list[RetractedPatient]:
    """Patients retracted from the sites ``site_ids`` (their site as of their last event), newest
    first. ``site_ids`` None: every site."""
    patients = event_model(Patient).objects.filter(pgh_label="delete").select_related("pgh_context")
    if site_ids is not None:
        patients = patients.filter(site_id__in=site_ids)
    events = list(patients.order_by("-pgh_created_at", "-pgh_id"))
    # A living patient is never listed (a restored backup could bring one back under its old id).
    living = set(Patient.objects.filter(pk__in=[e.pgh_obj_id for e in events]).values_list("pk", flat=True))
    rows = []
    for event in events:
        if event.pgh_obj_id in living:
            continue
        metadata = event.pgh_context.metadata if event.pgh_context else {}
        rows.append(
            RetractedPatient(
                pk=event.pgh_obj_id,
                study_id=event.study_id,
                site_id=event.site_id,
                when=event.pgh_created_at,
                username=metadata.get("username") or _username(metadata.get("user")),
                reason=metadata.get("reason", ""),
                is_demo=event.is_demo,
            )
        )
    return rows

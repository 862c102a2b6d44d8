"""Reads of the outcomes app that are more than a ``.get``: its records scoped by the user's
rights, the follow-up worklist, a patient's timeline and the audit trail of any clinical record."""

import dataclasses
import datetime
import json
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from outcomes import schedule
from outcomes.models import Complication, Encounter, EncounterKind, SecondaryProcedure, VisitNotDone
from registry.models import Patient, Procedure, Screw, Site
from registry.selectors import procedures_visible_to, sites_visible_to


def encounters_visible_to(user) -> QuerySet[Encounter]:
    return Encounter.objects.filter(procedure__patient__site__in=sites_visible_to(user))


def secondary_procedures_visible_to(user) -> QuerySet[SecondaryProcedure]:
    return SecondaryProcedure.objects.filter(procedure__patient__site__in=sites_visible_to(user))


def complications_visible_to(user) -> QuerySet[Complication]:
    return Complication.objects.filter(procedure__patient__site__in=sites_visible_to(user))


def visits_not_done_visible_to(user) -> QuerySet[VisitNotDone]:
    return VisitNotDone.objects.filter(procedure__patient__site__in=sites_visible_to(user))


@dataclasses.dataclass(frozen=True)
class WorklistRow:
    procedure: Procedure
    visit: schedule.VisitStatus

    @property
    def patient(self):
        return self.procedure.patient


def worklist_for(user, *, today: datetime.date, site: Site | None = None) -> list[WorklistRow]:
    """Follow-up visits due or overdue on ``today`` at the sites ``user`` may see, by site then urgency.

    A missed visit stays listed until a follow-up is recorded in its window or it is recorded as
    not done; a patient who died, withdrew or was lost has no visit due from then on
    (``schedule.visit_status``). One query whatever the number of patients: each procedure comes
    with its patient, site, the dates of its follow-ups and the visits recorded as not done. A
    procedure followed by a later one of the same patient is left out (the later one's schedule
    replaces it).
    """
    later = Procedure.objects.filter(patient=OuterRef("patient")).filter(
        Q(date__gt=OuterRef("date")) | Q(date=OuterRef("date"), id__gt=OuterRef("id"))
    )
    not_done = VisitNotDone.objects.filter(procedure=OuterRef("pk")).order_by().values("procedure")
    procedures = (
        procedures_visible_to(user)
        .filter(date__lt=today)
        .filter(~Exists(later))
        .select_related("patient__site")
        .annotate(
            followup_dates=ArrayAgg(
                "encounters__date", filter=Q(encounters__kind=EncounterKind.FOLLOWUP), default=[], distinct=True
            ),
            not_done_visits=Subquery(not_done.annotate(visits=ArrayAgg("visit")).values("visits")),
        )
        .order_by()
    )
    if site is not None:
        procedures = procedures.filter(patient__site=site)
    rows = [
        WorklistRow(procedure, status)
        for procedure in procedures
        for status in schedule.visits_needing_action(
            procedure.date,
            procedure.followup_dates,
            today,
            not_done=procedure.not_done_visits or (),
            ended_on=schedule.follow_up_end(procedure.patient.death_date, procedure.patient.status_date),
        )
    ]
    urgency = {schedule.OVERDUE: 0, schedule.DUE: 1}
    rows.sort(
        key=lambda row: (
            row.patient.site.code,
            urgency[row.visit.status],
            row.visit.window_end,
            row.patient.study_id,
        )
    )
    return rows


# A patient's page shows every procedure with all its children. They are read in one query:
# PostgreSQL puts each procedure's screws, encounters, secondary procedures, complications and
# visits not done into JSON arrays beside it. prefetch_related() took five queries and about half the page's
# time (bench/README.md). The children are model instances built by the public Model.from_db(),
# as the ORM builds them, with the same field types; they travel in a plain dataclass beside
# their procedure, never in the ORM's private caches.
_TIMELINE_CHILDREN = (
    ("screws", Screw),
    ("encounters", Encounter),
    ("secondary_procedures", SecondaryProcedure),
    ("complications", Complication),
    ("visits_not_done", VisitNotDone),
)


@dataclasses.dataclass(frozen=True)
class TimelineProcedure:
    """A procedure of a patient's timeline and its children, each tuple in its model's ordering."""

    procedure: Procedure
    screws: tuple[Screw, ...]
    encounters: tuple[Encounter, ...]
    secondary_procedures: tuple[SecondaryProcedure, ...]
    complications: tuple[Complication, ...]
    visits_not_done: tuple[VisitNotDone, ...] = ()


def _children_json(model) -> RawSQL:
    """A procedure's rows of ``model``, in the model's ordering, as one JSON array (or NULL)."""
    # Built from model metadata only (table and column names, quoted): no input reaches this SQL.
    quote = connection.ops.quote_name
    meta = model._meta
    order = ", ".join(f"c.{quote(meta.get_field(name).column)}" for name in meta.ordering)
    return RawSQL(  # noqa: S611
        f"SELECT json_agg(c ORDER BY {order})::text FROM {quote(meta.db_table)} c "  # noqa: S608
        f"WHERE c.procedure_id = {quote(Procedure._meta.db_table)}.id",
        (),
    )


def _instances(model, text: str | None, procedure: Procedure, db: str) -> tuple:
    """Model instances, as if read by the ORM, from PostgreSQL's JSON of their rows; each one's
    ``procedure`` is ``procedure`` (set through the foreign key, so reading it costs no query)."""
    fields = model._meta.concrete_fields
    names = [f.attname for f in fields]
    instances = []
    for row in json.loads(text, parse_float=Decimal) if text else ():
        values = [getattr(f, "output_field", f).to_python(row[f.column]) for f in fields]
        instance = model.from_db(db, names, values)
        instance.procedure = procedure
        instances.append(instance)
    return tuple(instances)


def patient_timeline(patient: Patient) -> list[TimelineProcedure]:
    """The patient's procedures by date, each with its screws, encounters, secondary procedures,
    complications and visits not done in their model order, in one query; reading them costs no other."""
    procedures = patient.procedures.order_by("date", "id").annotate(
        **{f"{name}_json": _children_json(model) for name, model in _TIMELINE_CHILDREN}
    )
    timeline = []
    for procedure in procedures:  # each knows its patient: read through patient.procedures
        children = {
            name: _instances(model, getattr(procedure, f"{name}_json"), procedure, procedures.db)
            for name, model in _TIMELINE_CHILDREN
        }
        timeline.append(TimelineProcedure(procedure=procedure, **children))
    return timeline


# --- Audit trail ---------------------------------------------------------------------

# Bookkeeping columns that say nothing a reader of the history needs.
_UNSHOWN_AUDIT_FIELDS = {"id", "version", "created_at", "updated_at", "is_demo", "msts_total", "patient", "procedure"}


def _event_model(model):
    return next(iter(model.pgh_event_models.values()))


def _shown_fields(model):
    return [f for f in model._meta.concrete_fields if f.name not in _UNSHOWN_AUDIT_FIELDS]


def _display(field, value, related: dict):
    if value is None or value == "":
        return None
    if field.is_relation:
        return str(related.get((field.related_model, value), value)) if field.related_model is Site else str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(getattr(field, "base_field", field).flatchoices)
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value) or None
    return str(choices.get(value, value))


def record_history(instance, *, children: tuple = ()) -> list[dict]:
    """Audit events of ``instance`` (and of ``children``: (model, fk name) pairs), oldest first.

    Each entry: when, username, action, reason, what (the record), label (insert/update/delete)
    and ``changes``, a list of (field label, old value, new value) computed against the previous
    event of the same record. Who and why come from the context the services attach to events.
    """
    sources = [(type(instance), _event_model(type(instance)).objects.filter(pgh_obj_id=instance.pk))]
    for model, fk in children:
        sources.append((model, _event_model(model).objects.filter(**{f"{fk}_id": instance.pk})))
    raw = []
    for order, (model, events) in enumerate(sources):
        for event in events.select_related("pgh_context").order_by("pgh_id"):
            raw.append((event.pgh_created_at, order, event.pgh_id, model, event))
    raw.sort(key=lambda item: item[:3])

    site_ids = {e.site_id for *_, e in raw if hasattr(e, "site_id")}
    related = {(Site, pk): site for pk, site in Site.objects.in_bulk(site_ids).items()} if site_ids else {}
    user_ids = {
        e.pgh_context.metadata.get("user")
        for *_, e in raw
        if e.pgh_context and "username" not in e.pgh_context.metadata and e.pgh_context.metadata.get("user")
    }
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")) if user_ids else {}

    previous: dict = {}
    entries = []
    for created_at, _, _, model, event in raw:
        metadata = event.pgh_context.metadata if event.pgh_context else {}
        username = metadata.get("username") or usernames.get(metadata.get("user"))
        key = (model, event.pgh_obj_id)
        before = previous.get(key)
        changes = []
        if event.pgh_label != "delete":
            for field in _shown_fields(model):
                new = getattr(event, field.attname)
                old = getattr(before, field.attname) if before else None
                if before is None and new in (None, "", []):
                    continue
                if before is None or old != new:
                    changes.append(
                        (
                            field.verbose_name,
                            _display(field, old, related) if before else None,
                            _display(field, new, related),
                        )
                    )
        previous[key] = event
        entries.append(
            {
                "when": created_at,
                "username": username,
                "action": metadata.get("action", ""),
                "reason": metadata.get("reason", ""),
                "label": event.pgh_label,
                "what": f"{model._meta.verbose_name} {event.pgh_obj_id}",
                "changes": changes,
            }
        )
    return entries

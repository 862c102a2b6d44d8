"""Reads of data queries, scoped by the user's rights: the sites the user may see, and none at all
for investigators (a query's message and answer are free text about a patient)."""

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Callable

from django.db import models
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from outcomes.models import Complication, Encounter, SecondaryProcedure
from outcomes.selectors import complications_visible_to, encounters_visible_to, secondary_procedures_visible_to
from quality.models import DataQuery, QueryKind, QueryStatus
from registry.models import Patient, Procedure, Site
from registry.permissions import site_rights
from registry.selectors import patients_visible_to, procedures_visible_to, sites_visible_to

NOT_CLOSED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


@dataclasses.dataclass(frozen=True)
class QueryKindInfo:
    """How a query of one kind finds its record, scoped by the user, and the record's patient."""

    model: type[models.Model]
    visible_to: Callable
    patient_of: Callable[[models.Model], Patient]


def _patient_of_event(record) -> Patient:
    return record.procedure.patient


KINDS: dict[str, QueryKindInfo] = {
    QueryKind.PATIENT: QueryKindInfo(Patient, patients_visible_to, lambda record: record),
    QueryKind.PROCEDURE: QueryKindInfo(Procedure, procedures_visible_to, lambda record: record.patient),
    QueryKind.ENCOUNTER: QueryKindInfo(Encounter, encounters_visible_to, _patient_of_event),
    QueryKind.SECONDARY_PROCEDURE: QueryKindInfo(
        SecondaryProcedure, secondary_procedures_visible_to, _patient_of_event
    ),
    QueryKind.COMPLICATION: QueryKindInfo(Complication, complications_visible_to, _patient_of_event),
}


def record_fields(kind: str) -> list[str]:
    """The fields of a record of ``kind`` a query may name: those people enter."""
    model = KINDS[kind].model
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in ("is_demo", "study_id")
    ]


def queries_visible_to(user) -> QuerySet[DataQuery]:
    """The queries of the sites ``user`` may see; none for a user who may not read PHI (investigators)."""
    if not site_rights(user, None).phi:
        return DataQuery.objects.none()
    return DataQuery.objects.filter(site__in=sites_visible_to(user))


def query_list_for(
    user,
    *,
    site: Site | None = None,
    rule: str = "",
    status: str = "",
    patient: int | None = None,
    older_than_days: int | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[DataQuery]:
    """The queries the data manager's page lists: visible to ``user``, filtered as asked, oldest first
    (the longest waiting come first), with their patient and site. ``status`` ``"not_closed"`` is
    open and answered ones; ``older_than_days`` keeps those opened more than that many days
    (of 24 hours) before ``now``."""
    queries = queries_visible_to(user).select_related("patient", "site", "answered_by", "closed_by", "opened_by")
    if site is not None:
        queries = queries.filter(site=site)
    if rule:
        queries = queries.filter(rule=rule)
    if status == "not_closed":
        queries = queries.filter(status__in=NOT_CLOSED)
    elif status:
        queries = queries.filter(status=status)
    if patient is not None:
        queries = queries.filter(patient_id=patient)
    if older_than_days is not None:
        cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
        queries = queries.filter(opened_at__lt=cutoff)
    return queries.order_by("opened_at", "id")


def _status_counts() -> dict:
    return {
        "open": Count("id", filter=Q(status=QueryStatus.OPEN)),
        "answered": Count("id", filter=Q(status=QueryStatus.ANSWERED)),
        "closed": Count("id", filter=Q(status=QueryStatus.CLOSED)),
        "total": Count("id"),
    }


def counts_by_site(queries: QuerySet[DataQuery]) -> list[dict]:
    """``{"site": code, "open": n, "answered": n, "closed": n, "total": n}`` a site of ``queries``, by code."""
    rows = queries.order_by().values("site__code").annotate(**_status_counts()).order_by("site__code")
    return [{"site": row.pop("site__code"), **row} for row in rows]


def counts_by_rule(queries: QuerySet[DataQuery]) -> list[dict]:
    """``{"rule": code, "open": n, "answered": n, "closed": n, "total": n}`` a rule of ``queries``, by code."""
    return list(queries.order_by().values("rule").annotate(**_status_counts()).order_by("rule"))


def rules_of(user) -> list[str]:
    """The rule codes of the queries ``user`` may see (for the page's filter)."""
    return list(queries_visible_to(user).order_by("rule").values_list("rule", flat=True).distinct())


def open_queries_by_record(user, patient: Patient) -> dict[tuple[str, int], list[DataQuery]]:
    """The patient's queries that are not closed, by (kind, record id), oldest first, for the
    timeline to show beside each record; empty for a user who sees no queries.

    ``patient`` is one ``user`` may see: the page found it through ``patients_visible_to`` (404
    otherwise), so its site needs no second check, and the page costs one query more, not two."""
    if not site_rights(user, None).phi:
        return {}
    grouped = defaultdict(list)
    queries = DataQuery.objects.filter(patient=patient, status__in=NOT_CLOSED).order_by("opened_at", "id")
    for query in queries:
        grouped[(query.kind, query.record)].append(query)
    return dict(grouped)


def open_query_counts_by_site(user, *, site: Site | None = None) -> list[dict]:
    """For the worklist: each visible site (or ``site``) with queries not closed, by code, in one query:
    ``{"code": code, "name": name, "open": n, "answered": n}``."""
    queries = queries_visible_to(user).filter(status__in=NOT_CLOSED)
    if site is not None:
        queries = queries.filter(site=site)
    rows = (
        queries.order_by()
        .values("site__code", "site__name")
        .annotate(
            open=Count("id", filter=Q(status=QueryStatus.OPEN)),
            answered=Count("id", filter=Q(status=QueryStatus.ANSWERED)),
        )
        .order_by("site__code")
    )
    return [
        {"code": row["site__code"], "name": row["site__name"], "open": row["open"], "answered": row["answered"]}
        for row in rows
    ]

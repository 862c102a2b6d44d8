"""Data queries for the tests of the query services, API and pages (no tests here): rows created
directly, as the rules engine would leave them."""

import datetime

from django.utils import timezone

from quality.models import DataQuery, QueryStatus
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory


def make_query(record, *, kind="encounter", rule="mme_unusual", field="opioid_mme_per_day", days_old=0, **fields):
    """A query on ``record`` (a patient, procedure, encounter...), opened ``days_old`` days ago."""
    patient = record if kind == "patient" else record.patient if kind == "procedure" else record.procedure.patient
    query = DataQuery.objects.create(
        rule=rule,
        kind=kind,
        record=record.pk,
        patient=patient,
        site=patient.site,
        field=field,
        message=fields.pop("message", "MME above 1,000 a day: check the dose."),
        **fields,
    )
    if days_old:
        opened = timezone.now() - datetime.timedelta(days=days_old)
        DataQuery.objects.filter(pk=query.pk).update(opened_at=opened)
        query.refresh_from_db()
    return query


def encounter_at(site, **fields):
    procedure = ProcedureFactory(patient=PatientFactory(site=site))
    return EncounterFactory(procedure=procedure, **fields)


def closed(query, *, resolution="fixed"):
    DataQuery.objects.filter(pk=query.pk).update(
        status=QueryStatus.CLOSED, resolution=resolution, closed_at=timezone.now()
    )
    query.refresh_from_db()
    return query

"""Patients for the tests of the data-quality rules (no tests here): a fully followed patient whose
records break no rule, built through the services, and a reader of the rule queries."""

import datetime

from quality.engine import check_rules
from quality.models import DataQuery
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

TODAY = datetime.date(2024, 6, 1)
DAY0 = datetime.date(2024, 1, 10)  # every window of a procedure on DAY0 has closed by TODAY
FOLLOWUP_DAYS = (10, 30, 90)  # one follow-up in each window (7-21, 22-45, 75-120)


def day(n: int, start: datetime.date = DAY0) -> datetime.date:
    return start + datetime.timedelta(days=n)


def followed_patient(site, *, day0=DAY0, followup_days=FOLLOWUP_DAYS, **patient_fields):
    """A patient with an index procedure on ``day0``, a baseline and a complete follow-up in each
    window: no rule holds for them. Returns (patient, procedure, {day: follow-up}). Soft limits
    are confirmed: the tests break them on purpose."""
    patient = PatientFactory(site=site, **patient_fields)
    procedure = ProcedureFactory(patient=patient, date=day0, confirm=True)
    EncounterFactory(procedure=procedure, kind="baseline", date=day(-2, day0), confirm=True)
    followups = {
        n: EncounterFactory(
            procedure=procedure, kind="followup", date=day(n, day0), narcotic_change="stable", confirm=True
        )
        for n in followup_days
    }
    return patient, procedure, followups


def fresh(record):
    """``record`` as the database holds it now (its current version, for the next update)."""
    return type(record).objects.get(pk=record.pk)


def check(**kwargs):
    return check_rules(today=kwargs.pop("today", TODAY), **kwargs)


def rule_queries(rule=None, **filters):
    """(rule, kind, record, field, status, resolution) of the rule queries, oldest first."""
    queries = DataQuery.objects.exclude(rule="manual").order_by("id")
    if rule:
        queries = queries.filter(rule=rule)
    return [
        (q.rule, q.kind, q.record, q.field, q.status, q.resolution) for q in queries.filter(**filters).order_by("id")
    ]

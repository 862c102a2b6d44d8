"""outcomes.selectors.patient_timeline builds the page's instances from one query: they must be
what the ORM itself reads, field for field and type for type."""

import datetime
from decimal import Decimal

import pytest

from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure
from outcomes.selectors import patient_timeline
from registry.models import Screw
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _as_read_by_the_orm(instance) -> dict:
    return _fields(type(instance).objects.get(pk=instance.pk))


@pytest.fixture
def timeline_patient(site_a):
    patient_a = PatientFactory(site=site_a)
    first = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1), cement_volume_ml=Decimal("6.5"))
    second = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 6, 1), treatment="sacroplasty")
    EncounterFactory(
        procedure=first, kind="followup", date=datetime.date(2023, 4, 20), opioid_mme_per_day=Decimal("20.5")
    )
    EncounterFactory(procedure=first, kind="baseline", date=datetime.date(2023, 2, 27), msts_gait=None)
    outcome_services.secondary_procedure_create(
        user=None, procedure=first, date=datetime.date(2023, 5, 2), kind="radiation", reason="pain"
    )
    outcome_services.complication_create(
        user=None, procedure=first, date=datetime.date(2023, 3, 9), kind="infection", description="superficial"
    )
    return patient_a, first, second


def test_the_timeline_holds_what_the_orm_reads_in_model_order(timeline_patient):
    patient, first, second = timeline_patient

    procedures = patient_timeline(patient)

    assert [p.pk for p in procedures] == [first.pk, second.pk]
    for procedure in procedures:
        assert _fields(procedure) == _as_read_by_the_orm(procedure)
        for name, model in (
            ("screws", Screw),
            ("encounters", Encounter),
            ("secondary_procedures", SecondaryProcedure),
            ("complications", Complication),
        ):
            mine = list(getattr(procedure, name).all())
            theirs = list(model.objects.filter(procedure=procedure))  # in the model's own ordering
            assert [x.pk for x in mine] == [x.pk for x in theirs]
            for a, b in zip(mine, theirs, strict=True):
                assert _fields(a) == _fields(b)
                # repr: the same types, decimals with the same places (7.3, not 7.30), the same time zones
                assert {k: repr(v) for k, v in _fields(a).items()} == {k: repr(v) for k, v in _fields(b).items()}
                assert a.procedure is procedure
                assert a._state.adding is False


def test_the_timeline_is_one_query_and_its_children_need_none(timeline_patient, django_assert_num_queries):
    patient, first, _ = timeline_patient

    with django_assert_num_queries(1):
        procedures = patient_timeline(patient)
        encounters = list(procedures[0].encounters.all())
        kinds = [e.kind for e in encounters]
        totals = [e.msts_total for e in encounters]
        screws = [s.diameter_mm for s in procedures[0].screws.all()]
        events = len(procedures[0].secondary_procedures.all()) + len(procedures[0].complications.all())
        empty = list(procedures[1].encounters.all())

    assert kinds == ["baseline", "followup"]
    assert totals == [None, 18]  # the baseline lacks gait
    assert screws == [Decimal("7.3")]
    assert events == 2
    assert empty == []
    assert procedures[0].patient is patient

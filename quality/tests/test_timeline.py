"""outcomes.selectors.patient_timeline builds the page's instances from one query: they must be
what the ORM itself reads, field for field and type for type, and the patient page built from
them must be the page built from what prefetch_related() reads, byte for byte."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from outcomes import selectors
from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure
from outcomes.selectors import TimelineProcedure, patient_timeline
from registry.models import Screw
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

CHILDREN = (
    ("screws", Screw),
    ("encounters", Encounter),
    ("secondary_procedures", SecondaryProcedure),
    ("complications", Complication),
)


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

    entries = patient_timeline(patient)

    assert all(isinstance(entry, TimelineProcedure) for entry in entries)
    assert [entry.procedure.pk for entry in entries] == [first.pk, second.pk]
    for entry in entries:
        assert _fields(entry.procedure) == _as_read_by_the_orm(entry.procedure)
        for name, model in CHILDREN:
            mine = getattr(entry, name)
            theirs = list(model.objects.filter(procedure=entry.procedure))  # in the model's own ordering
            assert isinstance(mine, tuple)
            assert [x.pk for x in mine] == [x.pk for x in theirs]
            for a, b in zip(mine, theirs, strict=True):
                assert type(a) is model
                assert _fields(a) == _fields(b)
                # repr: the same types, decimals with the same places (7.3, not 7.30), the same time zones
                assert {k: repr(v) for k, v in _fields(a).items()} == {k: repr(v) for k, v in _fields(b).items()}
                assert a.procedure is entry.procedure
                assert a._state.adding is False  # read, as from_db() leaves it: a save updates


def test_the_timeline_is_one_query_and_its_children_need_none(timeline_patient, django_assert_num_queries):
    patient, first, _ = timeline_patient

    with django_assert_num_queries(1):
        entries = patient_timeline(patient)
        kinds = [e.kind for e in entries[0].encounters]
        totals = [e.msts_total for e in entries[0].encounters]
        percents = [e.msts_percent for e in entries[0].encounters]
        labels = [str(e) for e in entries[0].encounters]  # through procedure.patient
        screws = [s.diameter_mm for s in entries[0].screws]
        events = [str(s) for s in entries[0].secondary_procedures] + [str(c) for c in entries[0].complications]
        empty = entries[1].encounters

    assert kinds == ["baseline", "followup"]
    assert totals == [None, 18]  # the baseline lacks gait
    assert percents == [None, 60.0]
    assert labels == [f"{patient} Baseline (pre-operative) 2023-02-27", f"{patient} Follow-up 2023-04-20"]
    assert screws == [Decimal("7.3")]
    assert events == ["Radiotherapy 2023-05-02", "Infection 2023-03-09"]
    assert empty == ()
    assert entries[0].procedure.patient is patient


def test_the_timeline_keeps_no_private_cache_of_the_orm(timeline_patient):
    patient, _, _ = timeline_patient

    entries = patient_timeline(patient)

    for entry in entries:
        # prefetch_related() would have filled it; the children live in the dataclass only
        assert not hasattr(entry.procedure, "_prefetched_objects_cache")


# --- The page, against the page built from the plain ORM ---------------------------------------


def _timeline_read_by_prefetch(patient) -> list[TimelineProcedure]:
    """The timeline read the plain way: prefetch_related(), one query per kind of child."""
    procedures = patient.procedures.order_by("date", "id").prefetch_related(*(name for name, _ in CHILDREN))
    return [
        TimelineProcedure(procedure=p, **{name: tuple(getattr(p, name).all()) for name, _ in CHILDREN})
        for p in procedures
    ]


def _page(client, patient) -> str:
    response = client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 200
    # The CSRF token of the sign-out form is masked afresh at each request.
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*"', r'\1"', response.content.decode())


@pytest.fixture
def rich_patient(site_a, timeline_patient):
    """Two procedures (the second recent, so its next follow-up shows), screws, events on the day of
    an encounter, an unscored domain, decimals, text to escape."""
    patient, first, _ = timeline_patient
    recent = ProcedureFactory(patient=patient, date=datetime.date.today() - datetime.timedelta(days=20))
    EncounterFactory(procedure=recent, kind="baseline", date=recent.date, opioid_mme_per_day=Decimal("40.0"))
    EncounterFactory(procedure=recent, kind="followup", date=recent.date + datetime.timedelta(days=10))
    outcome_services.secondary_procedure_create(
        user=None, procedure=recent, date=recent.date + datetime.timedelta(days=10), kind="other", reason="<b>&</b>"
    )
    outcome_services.complication_create(
        user=None,
        procedure=first,
        date=datetime.date(2023, 4, 20),
        kind="screw_backout",
        description='"loose"',
        resolved=True,
    )
    return patient


@pytest.mark.parametrize("persona", ["alice", "ivy"])  # a clinician of the site; an investigator
def test_the_page_is_the_page_built_from_what_prefetch_related_reads(
    client, personas, rich_patient, persona, monkeypatch
):
    client.force_login(personas[persona])

    page = _page(client, rich_patient)
    monkeypatch.setattr(selectors, "patient_timeline", _timeline_read_by_prefetch)
    reference = _page(client, rich_patient)

    assert page == reference
    for part in ("<caption>Screws</caption>", 'class="secondary"', "(resolved)", "6.5 ml"):
        assert part in page
    # The next visit's status against today would date the index procedure: clinicians only.
    assert ("Next follow-up" in page) == (persona == "alice")

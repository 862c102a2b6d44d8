"""REST /api/visits-not-done/: the contract's fields, the services' rules as 400s, a reason for every
change, site scoping, and the investigators' view without the free-text note."""

import datetime

import pytest

from core.writes import REASON_REQUIRED
from outcomes import services
from outcomes.models import VisitNotDone
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

URL = "/api/visits-not-done/"
DAY0 = datetime.date(2023, 3, 1)


@pytest.fixture
def procedure_a(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0)


@pytest.fixture
def procedure_b(site_b):
    return ProcedureFactory(patient=PatientFactory(site=site_b), date=DAY0)


def make(procedure, **fields):
    return services.visit_not_done_create(
        user=None, procedure=procedure, **{"visit": "month3", "reason": "too_ill", "note": "In hospice", **fields}
    )


def test_it_records_a_visit_not_done(personas, procedure_a):
    response = client_for(personas["alice"]).post(
        URL, {"procedure": procedure_a.pk, "visit": "month1", "reason": "declined", "note": ""}, format="json"
    )

    assert response.status_code == 201
    record = VisitNotDone.objects.get()
    assert response.json() | {"created_at": None, "updated_at": None} == {
        "id": record.pk,
        "procedure": procedure_a.pk,
        "visit": "month1",
        "reason": "declined",
        "note": "",
        "version": 1,
        "created_at": None,
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"visit": "week2", "reason": "other", "note": " "},
            {"note": ["Say why the visit was not done when the reason is 'other'."]},
        ),
        (
            {"visit": "month3", "reason": "declined"},
            {"visit": ["This visit is already recorded as not done for this procedure."]},
        ),
        (
            {"visit": "month1", "reason": "declined"},
            {"visit": ["A follow-up on 2023-03-31 already falls in this visit's window (2023-03-23 to 2023-04-15)."]},
        ),
        ({"visit": "month6", "reason": "declined"}, {"visit": ['"month6" is not a valid choice.']}),
    ],
)
def test_the_rules_answer_400_naming_the_field(personas, procedure_a, body, errors):
    make(procedure_a)
    EncounterFactory(procedure=procedure_a, date=DAY0 + datetime.timedelta(days=30))

    response = client_for(personas["alice"]).post(URL, {"procedure": procedure_a.pk, **body}, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert VisitNotDone.objects.count() == 1


def test_a_change_needs_a_reason_and_a_deletion_too(personas, procedure_a):
    record = make(procedure_a)
    client = client_for(personas["alice"])

    no_reason = client.patch(f"{URL}{record.pk}/", {"reason": "declined"}, format="json")
    changed = client.patch(f"{URL}{record.pk}/", {"reason": "declined", "change_reason": "Misheard"}, format="json")
    not_deleted = client.delete(f"{URL}{record.pk}/")
    deleted = client.delete(f"{URL}{record.pk}/?change_reason=Entered+in+error")

    assert (no_reason.status_code, no_reason.json()) == (400, {"change_reason": [REASON_REQUIRED]})
    assert changed.status_code == 200
    assert (changed.json()["reason"], changed.json()["version"]) == ("declined", 2)
    assert not_deleted.status_code == 400
    assert deleted.status_code == 204
    assert not VisitNotDone.objects.exists()


def test_filters_and_site_scoping(personas, procedure_a, procedure_b):
    at_a = make(procedure_a)
    other_a = make(ProcedureFactory(patient=PatientFactory(site=procedure_a.patient.site), date=DAY0), visit="week2")
    at_b = make(procedure_b)
    alice = client_for(personas["alice"])

    listed = [r["id"] for r in alice.get(URL).json()["results"]]
    by_procedure = [r["id"] for r in alice.get(URL, {"procedure": procedure_a.pk}).json()["results"]]
    by_patient = [r["id"] for r in alice.get(URL, {"patient": other_a.procedure.patient_id}).json()["results"]]
    by_site = client_for(personas["root"]).get(URL, {"site": "siteb"}).json()["results"]

    assert sorted(listed) == sorted([at_a.pk, other_a.pk])
    assert by_procedure == [at_a.pk]
    assert by_patient == [other_a.pk]
    assert [r["id"] for r in by_site] == [at_b.pk]
    assert alice.get(f"{URL}{at_b.pk}/").status_code == 404
    assert (
        alice.post(
            URL, {"procedure": procedure_b.pk, "visit": "week2", "reason": "declined"}, format="json"
        ).status_code
        == 400
    )


def test_investigators_read_it_without_the_note_and_write_nothing(personas, procedure_a):
    record = make(procedure_a)
    ivy = client_for(personas["ivy"])

    response = ivy.get(f"{URL}{record.pk}/")
    refused = ivy.post(URL, {"procedure": procedure_a.pk, "visit": "week2", "reason": "declined"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "id": record.pk,
        "procedure": procedure_a.pk,
        "visit": "month3",
        "reason": "too_ill",
        "version": 1,
    }
    assert refused.status_code == 403


def test_the_schema_documents_the_resource_and_the_sign_off_actions(personas):
    schema = client_for(personas["alice"]).get("/api/schema/", {"format": "json"}).json()

    assert {"/api/visits-not-done/", "/api/visits-not-done/{id}/"} <= set(schema["paths"])
    assert "post" in schema["paths"]["/api/procedures/{id}/sign-off/"]
    assert "post" in schema["paths"]["/api/procedures/{id}/unlock/"]
    fields = schema["components"]["schemas"]["VisitNotDoneRequest"]["properties"]
    assert set(fields) >= {"procedure", "visit", "reason", "note"}

"""Secondary procedures and complications share one shape: the same tests run on both."""

import datetime

import pytest

from outcomes import services
from outcomes.models import Complication, SecondaryProcedure
from registry.tests.api_support import client_for
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "secondary-procedures": (SecondaryProcedure, {"kind": "si_joint_injection", "reason": "SI joint pain"}),
    "complications": (Complication, {"kind": "screw_backout", "description": "S1 screw", "resolved": True}),
}


@pytest.fixture(params=sorted(RESOURCES))
def resource(request):
    name = request.param
    model, fields = RESOURCES[name]
    return f"/api/{name}/", model, fields


@pytest.fixture
def procedure_a(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2023, 3, 1))


@pytest.fixture
def procedure_b(site_b):
    return ProcedureFactory(patient=PatientFactory(site=site_b), date=datetime.date(2023, 3, 1))


def make(model, procedure, fields, day=datetime.date(2023, 6, 1)):
    create = services.complication_create if model is Complication else services.secondary_procedure_create
    return create(user=None, procedure=procedure, date=day, **fields)


def test_it_creates_an_event(personas, procedure_a, resource):
    url, model, fields = resource

    response = client_for(personas["alice"]).post(
        url, {"procedure": procedure_a.pk, "date": "2023-06-01", **fields}, format="json"
    )

    assert response.status_code == 201
    event = model.objects.get()
    assert response.json() | {"created_at": None, "updated_at": None} == {
        "id": event.pk,
        "procedure": procedure_a.pk,
        "date": "2023-06-01",
        **fields,
        "version": 1,
        "created_at": None,
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"date": "2023-03-01"}, {"date": ["The date must be after the procedure date."]}),
        ({"date": "2999-01-01"}, {"date": ["Date cannot be in the future."]}),
        ({"kind": "nap"}, {"kind": ['"nap" is not a valid choice.']}),
        ({"date": None}, {"date": ["This field may not be null."]}),
    ],
)
def test_it_refuses_bad_events_with_the_field_error(personas, procedure_a, resource, overrides, errors):
    url, model, fields = resource

    response = client_for(personas["alice"]).post(
        url, {"procedure": procedure_a.pk, "date": "2023-06-01", **fields, **overrides}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == errors
    assert model.objects.count() == 0


def test_it_refuses_an_event_after_death(personas, site_a, resource):
    url, model, fields = resource
    patient = PatientFactory(site=site_a, death_date=datetime.date(2023, 5, 1))
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))

    response = client_for(personas["alice"]).post(
        url, {"procedure": procedure.pk, "date": "2023-06-01", **fields}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"date": ["The date cannot be after the patient's date of death (2023-05-01)."]}


def test_it_scopes_events_by_role(personas, procedure_a, procedure_b, resource):
    url, model, fields = resource
    mine = make(model, procedure_a, fields)
    theirs = make(model, procedure_b, fields)

    assert [e["id"] for e in client_for(personas["alice"]).get(url).json()["results"]] == [mine.pk]
    assert client_for(personas["alice"]).get(f"{url}{theirs.pk}/").status_code == 404
    assert client_for(personas["alice"]).patch(f"{url}{theirs.pk}/", {}, format="json").status_code == 404
    assert client_for(personas["ivy"]).get(url).json()["count"] == 2
    assert client_for(personas["ivy"]).delete(f"{url}{mine.pk}/").status_code == 403
    assert client_for(personas["root"]).get(url, {"procedure": procedure_b.pk}).json()["count"] == 1
    assert model.objects.count() == 2


def test_it_updates_an_event_with_the_audit_reason(personas, procedure_a, resource):
    url, model, fields = resource
    event = make(model, procedure_a, fields)

    response = client_for(personas["alice"]).patch(
        f"{url}{event.pk}/", {"date": "2023-07-01", "change_reason": "Date typo", "version": 1}, format="json"
    )

    assert response.status_code == 200
    event.refresh_from_db()
    assert (event.date, event.version) == (datetime.date(2023, 7, 1), 2)
    assert {k: getattr(event, k) for k in fields} == fields


def test_it_refuses_a_stale_event_edit(personas, procedure_a, resource):
    url, model, fields = resource
    event = make(model, procedure_a, fields)

    response = client_for(personas["alice"]).put(
        f"{url}{event.pk}/",
        {"procedure": procedure_a.pk, "date": "2023-07-01", **fields, "change_reason": "Date typo"},
        format="json",
        HTTP_IF_MATCH='"5"',
    )

    assert response.status_code == 409
    assert (response.json()["expected_version"], response.json()["current_version"]) == (5, 1)
    event.refresh_from_db()
    assert event.date == datetime.date(2023, 6, 1)


def test_it_deletes_an_event(personas, procedure_a, resource):
    url, model, fields = resource
    event = make(model, procedure_a, fields)

    response = client_for(personas["alice"]).delete(f"{url}{event.pk}/?change_reason=Entered%20twice")

    assert response.status_code == 204
    assert model.objects.count() == 0

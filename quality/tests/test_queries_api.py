"""/api/queries/: list and read with filters, create (manual), answer, close. The contract's fields
exactly, 403 for investigators on every endpoint, 404 across sites, and the database afterwards."""

import pytest

from quality.models import DataQuery
from quality.tests.queries_support import closed, encounter_at, make_query
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

FIELDS = [
    "id",
    "rule",
    "kind",
    "record",
    "patient",
    "site",
    "field",
    "message",
    "status",
    "opened_at",
    "answer",
    "answered_by",
    "closed_at",
    "closed_by",
    "resolution",
]


@pytest.fixture
def encounter_a(site_a):
    return encounter_at(site_a)


@pytest.fixture
def query_a(encounter_a):
    return make_query(encounter_a)


@pytest.fixture
def query_b(site_b):
    return make_query(encounter_at(site_b), rule="msts_incomplete", field=None)


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_it_reads_a_query_with_exactly_the_contracts_fields(personas, encounter_a, query_a):
    response = client_for(personas["alice"]).get(f"/api/queries/{query_a.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == FIELDS
    assert body | {"opened_at": None} == {
        "id": query_a.pk,
        "rule": "mme_unusual",
        "kind": "encounter",
        "record": encounter_a.pk,
        "patient": encounter_a.procedure.patient_id,
        "site": "SITEA",
        "field": "opioid_mme_per_day",
        "message": "MME above 1,000 a day: check the dose.",
        "status": "open",
        "opened_at": None,
        "answer": "",
        "answered_by": None,
        "closed_at": None,
        "closed_by": None,
        "resolution": None,
    }
    assert body["opened_at"].startswith(str(query_a.opened_at.year))


def test_the_list_is_scoped_by_site(personas, query_a, query_b):
    assert ids(client_for(personas["alice"]).get("/api/queries/")) == [query_a.pk]
    assert ids(client_for(personas["charlie"]).get("/api/queries/")) == [query_b.pk]
    assert sorted(ids(client_for(personas["root"]).get("/api/queries/"))) == sorted([query_a.pk, query_b.pk])


def test_a_query_of_another_site_is_a_404_on_every_endpoint(personas, query_a):
    charlie = client_for(personas["charlie"])

    assert charlie.get(f"/api/queries/{query_a.pk}/").status_code == 404
    assert charlie.post(f"/api/queries/{query_a.pk}/answer/", {"answer": "x"}, format="json").status_code == 404
    assert charlie.post(f"/api/queries/{query_a.pk}/close/", {"resolution": "fixed"}, format="json").status_code == 404
    query_a.refresh_from_db()
    assert (query_a.status, query_a.answer) == ("open", "")


def test_investigators_get_403_on_every_endpoint(personas, encounter_a, query_a):
    ivy = client_for(personas["ivy"])
    calls = [
        ivy.get("/api/queries/"),
        ivy.get(f"/api/queries/{query_a.pk}/"),
        ivy.get("/api/queries/999999/"),
        ivy.post("/api/queries/", {"kind": "encounter", "record": encounter_a.pk, "message": "?"}, format="json"),
        ivy.post(f"/api/queries/{query_a.pk}/answer/", {"answer": "x"}, format="json"),
        ivy.post(f"/api/queries/{query_a.pk}/close/", {"resolution": "fixed"}, format="json"),
    ]

    assert [r.status_code for r in calls] == [403] * 6
    assert calls[0].json() == {"detail": "Investigators see no data queries."}
    assert DataQuery.objects.get().status == "open"


def test_anonymous_requests_are_401(query_a):
    assert client_for().get("/api/queries/").status_code == 401


def test_the_list_filters_by_status_rule_site_and_patient(personas, site_a, encounter_a, query_a, query_b):
    done = closed(make_query(encounter_at(site_a), rule="visit_missed"))
    root = client_for(personas["root"])

    assert ids(root.get("/api/queries/?status=closed")) == [done.pk]
    assert ids(root.get("/api/queries/?rule=msts_incomplete")) == [query_b.pk]
    assert sorted(ids(root.get("/api/queries/?site=sitea"))) == sorted([query_a.pk, done.pk])
    assert ids(root.get(f"/api/queries/?patient={encounter_a.procedure.patient_id}")) == [query_a.pk]
    assert ids(root.get("/api/queries/?site=SITEA&status=open")) == [query_a.pk]


def test_bad_filters_are_refused(personas, query_a):
    alice = client_for(personas["alice"])

    unseen = alice.get("/api/queries/?site=SITEB")
    assert unseen.status_code == 404
    assert unseen.json() == {"detail": "No site with this code among the sites you may see."}
    assert alice.get("/api/queries/?site=NOPE").status_code == 404
    assert alice.get("/api/queries/?status=pending").status_code == 400
    assert alice.get("/api/queries/?rule=").json() == {"rule": ["Leave the parameter out rather than send it empty."]}
    assert alice.get("/api/queries/?status=").status_code == 400
    assert alice.get("/api/queries/?rule=manual&rule=mme_unusual").status_code == 400
    assert alice.get("/api/queries/?patient=abc").status_code == 400


def test_it_creates_a_manual_query(personas, encounter_a):
    response = client_for(personas["alice"]).post(
        "/api/queries/",
        {"kind": "encounter", "record": encounter_a.pk, "field": "msts_gait", "message": "Gait 0 but walking 5?"},
        format="json",
    )

    assert response.status_code == 201
    query = DataQuery.objects.get()
    assert response.json()["id"] == query.pk
    assert (query.rule, query.kind, query.record, query.field, query.message, query.status) == (
        "manual",
        "encounter",
        encounter_a.pk,
        "msts_gait",
        "Gait 0 but walking 5?",
        "open",
    )
    assert query.opened_by == personas["alice"]
    assert response.json()["site"] == "SITEA"


def test_creating_on_a_record_of_another_site_is_a_404(personas, encounter_a):
    response = client_for(personas["charlie"]).post(
        "/api/queries/", {"kind": "encounter", "record": encounter_a.pk, "message": "?"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No such record among those you may see."}
    assert DataQuery.objects.count() == 0


def test_creating_refuses_bad_bodies_naming_the_field(personas, encounter_a):
    alice = client_for(personas["alice"])
    record = encounter_a.pk

    unknown = alice.post(
        "/api/queries/", {"kind": "encounter", "record": record, "message": "?", "x": 1}, format="json"
    )
    assert (unknown.status_code, unknown.json()) == (400, {"x": ["Unknown field."]})
    read_only = alice.post(
        "/api/queries/", {"kind": "encounter", "record": record, "message": "?", "status": "closed"}, format="json"
    )
    assert (read_only.status_code, read_only.json()) == (400, {"status": ["This field is read-only."]})
    blank = alice.post("/api/queries/", {"kind": "encounter", "record": record, "message": " "}, format="json")
    assert (blank.status_code, blank.json()) == (
        400,
        {"message": ["Write the question: what looks wrong in this record."]},
    )
    kind = alice.post("/api/queries/", {"kind": "visit", "record": record, "message": "?"}, format="json")
    assert kind.json() == {"kind": ["Choose one of: patient, procedure, encounter, secondary_procedure, complication."]}
    text_id = alice.post("/api/queries/", {"kind": "encounter", "record": str(record), "message": "?"}, format="json")
    assert list(text_id.json()) == ["record"]
    field = alice.post(
        "/api/queries/", {"kind": "encounter", "record": record, "message": "?", "field": "colour"}, format="json"
    )
    assert field.status_code == 400 and list(field.json()) == ["field"]
    assert DataQuery.objects.count() == 0


def test_a_clinician_answers(personas, query_a):
    response = client_for(personas["bob"]).post(
        f"/api/queries/{query_a.pk}/answer/", {"answer": "Confirmed: 1,400 MME."}, format="json"
    )

    assert response.status_code == 200
    assert response.json() | {"opened_at": None} == {
        **response.json(),
        "opened_at": None,
        "status": "answered",
        "answer": "Confirmed: 1,400 MME.",
        "answered_by": "bob",
    }
    query_a.refresh_from_db()
    assert (query_a.status, query_a.answer, query_a.answered_by) == (
        "answered",
        "Confirmed: 1,400 MME.",
        personas["bob"],
    )


def test_answering_needs_an_answer_and_only_that(personas, query_a):
    alice = client_for(personas["alice"])

    blank = alice.post(f"/api/queries/{query_a.pk}/answer/", {"answer": ""}, format="json")
    missing = alice.post(f"/api/queries/{query_a.pk}/answer/", {}, format="json")
    extra = alice.post(f"/api/queries/{query_a.pk}/answer/", {"answer": "ok", "resolution": "fixed"}, format="json")

    assert (blank.status_code, blank.json()) == (
        400,
        {"answer": ["Write your answer: what you checked, and whether the value is right."]},
    )
    assert (missing.status_code, list(missing.json())) == (400, ["answer"])
    assert (extra.status_code, extra.json()) == (400, {"resolution": ["This field is read-only."]})
    query_a.refresh_from_db()
    assert query_a.status == "open"


def test_a_registry_admin_closes_and_a_clinician_may_not(personas, query_a):
    refused = client_for(personas["alice"]).post(
        f"/api/queries/{query_a.pk}/close/", {"resolution": "confirmed"}, format="json"
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Only registry admins (the data managers) close data queries; answer the query instead."
    }
    assert DataQuery.objects.get().status == "open"

    response = client_for(personas["root"]).post(
        f"/api/queries/{query_a.pk}/close/", {"resolution": "confirmed"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolution"], body["closed_by"]) == ("closed", "confirmed", "root")
    assert body["closed_at"] is not None
    query_a.refresh_from_db()
    assert (query_a.status, query_a.resolution, query_a.closed_by) == ("closed", "confirmed", personas["root"])


def test_closing_refuses_a_bad_resolution_and_a_closed_query(personas, query_a):
    root = client_for(personas["root"])

    bad = root.post(f"/api/queries/{query_a.pk}/close/", {"resolution": "done"}, format="json")
    assert (bad.status_code, bad.json()) == (400, {"resolution": ["Choose one of: fixed, confirmed, withdrawn."]})
    closed(query_a)
    again = root.post(f"/api/queries/{query_a.pk}/close/", {"resolution": "fixed"}, format="json")
    assert (again.status_code, again.json()) == (
        400,
        {"non_field_errors": ["This query is closed: it can no longer be answered or closed."]},
    )
    answer = root.post(f"/api/queries/{query_a.pk}/answer/", {"answer": "late"}, format="json")
    assert answer.status_code == 400
    query_a.refresh_from_db()
    assert (query_a.resolution, query_a.answer) == ("fixed", "")


def test_queries_cannot_be_replaced_or_deleted(personas, query_a):
    root = client_for(personas["root"])

    assert root.put(f"/api/queries/{query_a.pk}/", {"message": "x"}, format="json").status_code == 405
    assert root.patch(f"/api/queries/{query_a.pk}/", {"message": "x"}, format="json").status_code == 405
    assert root.delete(f"/api/queries/{query_a.pk}/").status_code == 405
    assert DataQuery.objects.get().message == query_a.message


def test_the_schema_documents_the_endpoints(personas):
    schema = client_for(personas["root"]).get("/api/schema/?format=json").json()

    assert set(schema["paths"]["/api/queries/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/queries/{id}/"]) == {"get"}
    assert set(schema["paths"]["/api/queries/{id}/answer/"]) == {"post"}
    assert set(schema["paths"]["/api/queries/{id}/close/"]) == {"post"}
    assert list(schema["components"]["schemas"]["DataQuery"]["properties"]) == FIELDS
    filters = {p["name"] for p in schema["paths"]["/api/queries/"]["get"]["parameters"]}
    assert {"status", "rule", "site", "patient"} <= filters

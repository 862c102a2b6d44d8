"""The services of data queries by people: raise (manual), answer, close, bulk close. Rights by
site and role, the messages naming the field, and the rows left in the database."""

import pghistory.models
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from quality import selectors, services
from quality.models import DataQuery
from quality.tests.queries_support import closed, encounter_at, make_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def encounter_a(site_a):
    return encounter_at(site_a)


@pytest.fixture
def query_a(encounter_a):
    return make_query(encounter_a)


# --- raise_manual_query -------------------------------------------------------------------


def test_it_raises_a_manual_query_on_a_record_of_the_users_site(personas, encounter_a):
    query = services.raise_manual_query(
        user=personas["alice"], kind="encounter", record=encounter_a.pk, field="msts_gait", message="  Gait 0? "
    )

    stored = DataQuery.objects.get(pk=query.pk)
    assert (stored.rule, stored.kind, stored.record, stored.field, stored.message) == (
        "manual",
        "encounter",
        encounter_a.pk,
        "msts_gait",
        "Gait 0?",
    )
    assert stored.patient == encounter_a.procedure.patient
    assert stored.site == encounter_a.procedure.patient.site
    assert (stored.status, stored.opened_by, stored.resolution) == ("open", personas["alice"], None)
    event = pghistory.models.Events.objects.filter(pgh_obj_model="quality.DataQuery", pgh_obj_id=query.pk).get()
    assert event.pgh_context["action"] == "query_raise"
    assert event.pgh_context["username"] == "alice"


def test_it_derives_patient_and_site_of_every_kind_of_record(personas, encounter_a):
    procedure = encounter_a.procedure
    patient = procedure.patient
    for kind, record in (("patient", patient), ("procedure", procedure)):
        query = services.raise_manual_query(user=personas["root"], kind=kind, record=record.pk, message="Check")
        assert (query.patient_id, query.site_id, query.record) == (patient.pk, patient.site_id, record.pk)


def test_two_manual_queries_may_stand_on_one_record(personas, encounter_a):
    for _ in range(2):
        services.raise_manual_query(user=personas["alice"], kind="encounter", record=encounter_a.pk, message="Why?")

    assert DataQuery.objects.filter(record=encounter_a.pk, rule="manual", status="open").count() == 2


def test_a_record_of_another_site_is_not_found(personas, encounter_a):
    with pytest.raises(Http404):
        services.raise_manual_query(user=personas["charlie"], kind="encounter", record=encounter_a.pk, message="?")
    with pytest.raises(Http404):
        services.raise_manual_query(user=personas["alice"], kind="encounter", record=10**9, message="?")

    assert DataQuery.objects.count() == 0


def test_investigators_raise_no_query(personas, encounter_a):
    with pytest.raises(PermissionDenied, match="^Investigators see no data queries.$"):
        services.raise_manual_query(user=personas["ivy"], kind="encounter", record=encounter_a.pk, message="?")

    assert DataQuery.objects.count() == 0


def test_raising_refuses_bad_input_naming_each_field(personas, encounter_a):
    with pytest.raises(ValidationError) as error:
        services.raise_manual_query(
            user=personas["alice"], kind="encounter", record=encounter_a.pk, field="colour", message="   "
        )

    assert set(error.value.message_dict) == {"field", "message"}
    assert error.value.message_dict["message"] == [services.MESSAGE_REQUIRED]
    assert error.value.message_dict["field"][0].startswith("Name a field of the encounter: procedure, date, kind,")
    with pytest.raises(ValidationError) as error:
        services.raise_manual_query(user=personas["alice"], kind="visit", record=encounter_a.pk, message="?")
    assert error.value.message_dict == {
        "kind": ["Choose one of: patient, procedure, encounter, secondary_procedure, complication."]
    }
    with pytest.raises(ValidationError) as error:
        services.raise_manual_query(user=personas["alice"], kind="encounter", record=encounter_a.pk, message="x" * 301)
    assert error.value.message_dict == {"message": ["Ensure this field has no more than 300 characters."]}
    assert DataQuery.objects.count() == 0


# --- answer_query -------------------------------------------------------------------------


def test_a_clinician_of_the_site_answers(personas, query_a):
    services.answer_query(user=personas["bob"], query=query_a, answer=" Confirmed: the patient takes 1,400 MME. ")

    query_a.refresh_from_db()
    assert query_a.status == "answered"
    assert query_a.answer == "Confirmed: the patient takes 1,400 MME."
    assert query_a.answered_by == personas["bob"]
    assert query_a.answered_at is not None
    assert query_a.closed_at is None and query_a.resolution is None


def test_an_admin_answers_too_and_a_new_answer_replaces_the_old(personas, query_a):
    services.answer_query(user=personas["alice"], query=query_a, answer="First")
    services.answer_query(user=personas["root"], query=query_a, answer="Second")

    query_a.refresh_from_db()
    assert (query_a.status, query_a.answer, query_a.answered_by) == ("answered", "Second", personas["root"])


def test_other_sites_and_investigators_answer_nothing(personas, query_a):
    with pytest.raises(PermissionDenied, match="^Only the clinicians of this record's site and registry admins"):
        services.answer_query(user=personas["charlie"], query=query_a, answer="x")
    with pytest.raises(PermissionDenied, match="^Investigators see no data queries.$"):
        services.answer_query(user=personas["ivy"], query=query_a, answer="x")

    query_a.refresh_from_db()
    assert (query_a.status, query_a.answer) == ("open", "")


def test_an_answer_is_required_and_a_closed_query_takes_none(personas, query_a):
    with pytest.raises(ValidationError) as error:
        services.answer_query(user=personas["alice"], query=query_a, answer=" \n ")
    assert error.value.message_dict == {"answer": [services.ANSWER_REQUIRED]}

    closed(query_a)
    with pytest.raises(ValidationError) as error:
        services.answer_query(user=personas["alice"], query=query_a, answer="Late")
    assert error.value.message_dict == {"__all__": [services.ALREADY_CLOSED]}
    query_a.refresh_from_db()
    assert query_a.answer == ""


# --- close_query and bulk_close -----------------------------------------------------------


def test_a_registry_admin_closes_with_a_resolution(personas, query_a):
    services.close_query(user=personas["root"], query=query_a, resolution="confirmed")

    query_a.refresh_from_db()
    assert (query_a.status, query_a.resolution, query_a.closed_by) == ("closed", "confirmed", personas["root"])
    assert query_a.closed_at is not None
    event = pghistory.models.Events.objects.filter(pgh_obj_model="quality.DataQuery", pgh_obj_id=query_a.pk).last()
    assert event.pgh_context["action"] == "query_close"
    assert event.pgh_context["reason"] == "Closed: confirmed"


def test_clinicians_may_not_close(personas, query_a):
    with pytest.raises(PermissionDenied) as error:
        services.close_query(user=personas["alice"], query=query_a, resolution="confirmed")

    assert str(error.value) == (
        "Only registry admins (the data managers) close data queries; answer the query instead."
    )
    query_a.refresh_from_db()
    assert query_a.status == "open"


def test_closing_needs_a_known_resolution_and_an_unclosed_query(personas, query_a):
    with pytest.raises(ValidationError) as error:
        services.close_query(user=personas["root"], query=query_a, resolution="done")
    assert error.value.message_dict == {"resolution": ["Choose one of: fixed, confirmed, withdrawn."]}

    services.close_query(user=personas["root"], query=query_a, resolution="withdrawn")
    with pytest.raises(ValidationError) as error:
        services.close_query(user=personas["root"], query=query_a, resolution="fixed")
    assert error.value.message_dict == {"__all__": [services.ALREADY_CLOSED]}
    query_a.refresh_from_db()
    assert query_a.resolution == "withdrawn"


def test_bulk_close_closes_those_still_open_and_passes_over_the_rest(personas, site_a, site_b, query_a):
    answered = make_query(encounter_at(site_b), rule="msts_incomplete", status="answered", answer="ok")
    already = closed(make_query(encounter_at(site_a)), resolution="fixed")

    done = services.bulk_close(
        user=personas["root"], ids=[query_a.pk, answered.pk, already.pk, 10**9], resolution="confirmed"
    )

    assert sorted(q.pk for q in done) == sorted([query_a.pk, answered.pk])
    rows = dict(DataQuery.objects.values_list("pk", "resolution"))
    assert rows == {query_a.pk: "confirmed", answered.pk: "confirmed", already.pk: "fixed"}


def test_bulk_close_is_for_admins_with_ids_and_a_resolution(personas, query_a):
    with pytest.raises(PermissionDenied):
        services.bulk_close(user=personas["alice"], ids=[query_a.pk], resolution="fixed")
    with pytest.raises(ValidationError) as error:
        services.bulk_close(user=personas["root"], ids=[], resolution="fixed")
    assert error.value.message_dict == {"ids": [services.CHOOSE_QUERIES]}
    with pytest.raises(ValidationError) as error:
        services.bulk_close(user=personas["root"], ids=[query_a.pk], resolution="")
    assert list(error.value.message_dict) == ["resolution"]
    assert DataQuery.objects.get().status == "open"


# --- selectors ----------------------------------------------------------------------------


def test_queries_are_scoped_by_site_and_hidden_from_investigators(personas, site_b, query_a):
    query_b = make_query(encounter_at(site_b))

    assert list(selectors.queries_visible_to(personas["alice"])) == [query_a]
    assert list(selectors.queries_visible_to(personas["charlie"])) == [query_b]
    assert set(selectors.queries_visible_to(personas["root"])) == {query_a, query_b}
    assert list(selectors.queries_visible_to(personas["ivy"])) == []


def test_the_list_filters_by_age_rule_status_and_counts_by_site_and_rule(personas, site_a, site_b, encounter_a):
    old = make_query(encounter_a, days_old=10)
    new = make_query(encounter_a, rule="msts_incomplete", field=None, days_old=2)
    other = make_query(encounter_at(site_b), status="answered", answer="ok", days_old=30)
    closed(make_query(encounter_at(site_b), rule="visit_missed", days_old=40))
    root = personas["root"]

    assert list(selectors.query_list_for(root, older_than_days=7, status="not_closed")) == [other, old]
    assert list(selectors.query_list_for(root, rule="msts_incomplete")) == [new]
    assert list(selectors.query_list_for(root, site=site_a)) == [old, new]
    assert selectors.counts_by_site(selectors.query_list_for(root)) == [
        {"site": "SITEA", "open": 2, "answered": 0, "closed": 0, "total": 2},
        {"site": "SITEB", "open": 0, "answered": 1, "closed": 1, "total": 2},
    ]
    assert selectors.counts_by_rule(selectors.query_list_for(root, status="not_closed")) == [
        {"rule": "mme_unusual", "open": 1, "answered": 1, "closed": 0, "total": 2},
        {"rule": "msts_incomplete", "open": 1, "answered": 0, "closed": 0, "total": 1},
    ]
    site_a_counts = {"code": "SITEA", "name": "Site A hospital", "open": 2, "answered": 0}
    assert selectors.open_query_counts_by_site(root) == [
        site_a_counts,
        {"code": "SITEB", "name": "Site B hospital", "open": 0, "answered": 1},
    ]
    assert selectors.open_query_counts_by_site(personas["alice"]) == [site_a_counts]
    assert selectors.open_query_counts_by_site(root, site=site_a) == [site_a_counts]
    assert selectors.open_query_counts_by_site(personas["ivy"]) == []


def test_a_patients_queries_come_by_record(personas, encounter_a, query_a):
    patient = encounter_a.procedure.patient
    on_patient = make_query(patient, kind="patient", rule="manual", field="birth_date")
    closed(make_query(encounter_a, rule="msts_incomplete"))

    assert selectors.open_queries_by_record(personas["alice"], patient) == {
        ("encounter", encounter_a.pk): [query_a],
        ("patient", patient.pk): [on_patient],
    }
    assert selectors.open_queries_by_record(personas["ivy"], patient) == {}

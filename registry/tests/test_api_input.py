"""Input is taken at its JSON type: no silent coercion, and malformed query parameters are errors."""

import datetime

import pytest

from outcomes.models import Encounter
from registry.models import Patient, Procedure, Site
from registry.tests.api_support import client_for, patient_body, procedure_body
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure_a(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2023, 3, 1))


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"mrn": 12345}, {"mrn": ["Not a valid string."]}),
        ({"primary_cancer_detail": False}, {"primary_cancer_detail": ["Not a valid string."]}),
        ({"mrn": "A\x00B"}, {"mrn": ["Null characters are not allowed."]}),
    ],
)
def test_it_refuses_text_of_another_type(personas, overrides, errors):
    response = client_for(personas["alice"]).post("/api/patients/", patient_body("SITEA", **overrides), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"patient": "1"}, {"patient": ["Incorrect type. Expected pk value, received str."]}),
        ({"patient": True}, {"patient": ["Incorrect type. Expected pk value, received bool."]}),
        ({"prior_local_radiation": "true"}, {"prior_local_radiation": ["Must be a valid boolean."]}),
        ({"cement_volume_ml": True}, {"cement_volume_ml": ["A valid number is required."]}),
        ({"cement_volume_ml": "1.25"}, {"cement_volume_ml": ["Ensure that there are no more than 1 decimal places."]}),
        ({"indications": "mechanical_pain"}, {"indications": ['Expected a list of items but got type "str".']}),
    ],
)
def test_it_refuses_procedure_values_of_another_type(personas, procedure_a, overrides, errors):
    body = procedure_body(procedure_a.patient_id, **overrides)

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Procedure.objects.count() == 1


def test_it_accepts_decimals_as_numbers_or_strings(personas, procedure_a):
    body = procedure_body(procedure_a.patient_id, cement_volume_ml=7.5)
    body["screws"][0]["diameter_mm"] = 8

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 201
    assert (response.json()["cement_volume_ml"], response.json()["screws"][0]["diameter_mm"]) == ("7.5", "8.0")


def test_it_refuses_a_score_sent_as_a_string(personas, procedure_a):
    body = {"procedure": procedure_a.pk, "date": "2023-04-01", "kind": "followup", "msts_pain": "3"}

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"msts_pain": ["A valid integer is required."]}
    assert Encounter.objects.count() == 0


def test_it_refuses_a_body_that_is_not_an_object(personas):
    response = client_for(personas["root"]).post("/api/sites/", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert Site.objects.count() == 2


def test_it_refuses_form_encoded_bodies(personas):
    response = client_for(personas["root"]).post("/api/sites/", {"code": "X", "name": "Y"})

    assert response.status_code == 415
    assert not Site.objects.filter(code="X").exists()


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"page_size": "ten"}, {"page_size": ["A valid integer is required."]}),
        ({"page_size": "0"}, {"page_size": ["Ensure this value is greater than or equal to 1."]}),
        ({"page_size": "501"}, {"page_size": ["Ensure this value is less than or equal to 500."]}),
    ],
)
def test_it_refuses_a_malformed_page_size(personas, params, errors):
    response = client_for(personas["alice"]).get("/api/patients/", params)

    assert response.status_code == 400
    assert response.json() == errors


def test_it_answers_404_for_a_page_past_the_end(personas):
    response = client_for(personas["alice"]).get("/api/patients/", {"page": 9})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_it_refuses_a_malformed_boolean_filter(personas):
    response = client_for(personas["alice"]).get("/api/complications/", {"resolved": "null"})

    assert response.status_code == 400
    assert response.json() == {"resolved": ["Enter true or false."]}


@pytest.mark.parametrize("value", ["1.5", "0.0", "7.00", "1e3"])
def test_it_refuses_a_malformed_id_filter(personas, value):
    response = client_for(personas["alice"]).get("/api/procedures/", {"patient": value})

    assert response.status_code == 400
    assert response.json() == {"patient": ["Enter a whole number."]}


@pytest.mark.parametrize("path", ["/api/patients/1.5/", "/api/patients/abc/", "/api/nothing-here/"])
def test_it_answers_unknown_api_urls_with_a_json_404(personas, path):
    response = client_for(personas["alice"]).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_it_refuses_a_deletion_reason_with_a_null_character(personas, procedure_a):
    response = client_for(personas["alice"]).delete(f"/api/procedures/{procedure_a.pk}/?change_reason=a%00b")

    assert response.status_code == 400
    assert response.json() == {"change_reason": ["Null characters are not allowed."]}
    assert Procedure.objects.filter(pk=procedure_a.pk).exists()


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/procedures/", {"fracture_status": ""}),
        ("/api/procedures/", {"patient": ""}),
        ("/api/complications/", {"resolved": ""}),
        ("/api/secondary-procedures/", {"kind": ""}),
    ],
)
def test_it_refuses_an_empty_filter(personas, url, params):
    response = client_for(personas["alice"]).get(url, params)

    assert response.status_code == 400
    assert response.json() == {next(iter(params)): ["Leave the parameter out rather than send it empty."]}


def test_it_filters_complications_by_resolved(personas, procedure_a):
    from outcomes import services

    day = datetime.date(2023, 6, 1)
    services.complication_create(user=None, procedure=procedure_a, date=day, kind="infection", resolved=True)
    services.complication_create(user=None, procedure=procedure_a, date=day, kind="other", description="Seroma")
    client = client_for(personas["alice"])

    assert client.get("/api/complications/", {"resolved": "true"}).json()["count"] == 1
    assert client.get("/api/complications/", {"resolved": "false"}).json()["count"] == 1
    assert client.get("/api/complications/").json()["count"] == 2


def test_it_copes_with_ids_beyond_the_database_range(personas, procedure_a):
    huge = 10**20
    client = client_for(personas["alice"])

    assert client.get("/api/procedures/", {"patient": huge}).json()["count"] == 0
    assert client.get(f"/api/procedures/{huge}/").status_code == 404
    response = client.post("/api/procedures/", procedure_body(huge), format="json")
    assert response.status_code == 400
    assert response.json() == {"patient": [f'Invalid pk "{huge}" - object does not exist.']}


@pytest.mark.parametrize(
    ("site", "errors"),
    [
        ("SITE\x00A", {"site": ["Null characters are not allowed."]}),
        (7, {"site": ["Not a valid string."]}),
        ("S" * 17, {"site": ["Ensure this field has no more than 16 characters."]}),
    ],
)
def test_it_checks_a_site_code_before_looking_it_up(personas, site, errors):
    response = client_for(personas["alice"]).post("/api/patients/", patient_body("SITEA", site=site), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Patient.objects.count() == 0


def test_it_refuses_an_empty_page(personas):
    response = client_for(personas["alice"]).get("/api/patients/", {"page": ""})

    assert response.status_code == 400
    assert response.json() == {"page": ["Leave the parameter out rather than send it empty."]}


def test_it_has_no_last_page_alias(personas):
    response = client_for(personas["alice"]).get("/api/patients/", {"page": "last"})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_it_refuses_a_repeated_query_parameter(personas, procedure_a):
    response = client_for(personas["alice"]).get(f"/api/procedures/?patient=1&patient={procedure_a.patient_id}")

    assert response.status_code == 400
    assert response.json() == {"patient": ["Send this parameter once."]}


# --- Fields outside the schema; no-op updates --------------------------------------------------


def update_events(model, pk):
    return model.pgh_event_models["update"].objects.filter(pgh_obj_id=pk, pgh_label="update")


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"is_demo": True}, {"is_demo": ["Unknown field."]}),
        ({"junk": list(range(10_000))}, {"junk": ["Unknown field."]}),
        ({"change_reason": "new"}, {"change_reason": ["Unknown field."]}),
        ({"version": 1}, {"version": ["This field is read-only."]}),
        ({"study_id": "SAC-99999"}, {"study_id": ["This field is read-only."]}),
        ({"id": 5, "Site": "SITEA"}, {"id": ["This field is read-only."], "Site": ["Unknown field."]}),
    ],
)
def test_a_creation_refuses_fields_outside_the_schema(personas, extra, errors):
    response = client_for(personas["alice"]).post("/api/patients/", patient_body("SITEA", **extra), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Patient.objects.count() == 0


def test_an_unknown_field_inside_a_screw_is_refused(personas, procedure_a):
    body = procedure_body(procedure_a.patient_id)
    # length_mm is a screw field of the second release; a field no screw has is still refused
    body["screws"] = [dict(body["screws"][0]), {**body["screws"][0], "thread_pitch_mm": 2}]

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"screws": [{}, {"thread_pitch_mm": ["Unknown field."]}]}
    assert Procedure.objects.count() == 1


def test_an_update_refuses_an_unknown_field(personas, procedure_a):
    response = client_for(personas["alice"]).patch(
        f"/api/patients/{procedure_a.patient_id}/", {"is_demo": True, "change_reason": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"is_demo": ["Unknown field."]}
    assert Patient.objects.get().is_demo is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("study_id", "SAC-99999"), ("id", 999), ("age", 12), ("created_at", "2020-01-01T00:00:00Z")],
)
def test_an_update_refuses_a_changed_read_only_field(personas, procedure_a, field, value):
    patient = procedure_a.patient

    response = client_for(personas["alice"]).patch(
        f"/api/patients/{patient.pk}/", {field: value, "mrn": "NEW", "change_reason": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {field: ["This field is read-only."]}
    fresh = Patient.objects.get()
    assert (fresh.study_id, fresh.mrn, fresh.version) == (patient.study_id, patient.mrn, 1)


def test_the_representation_sent_back_with_a_change_is_accepted(personas, procedure_a):
    client = client_for(personas["alice"])
    url = f"/api/patients/{procedure_a.patient_id}/"
    body = client.get(url).json()

    response = client.put(url, {**body, "mrn": "CHANGED", "change_reason": "MRN typo"}, format="json")

    assert response.status_code == 200
    assert (response.json()["mrn"], response.json()["version"]) == ("CHANGED", 2)


def test_a_procedure_sent_back_with_its_screw_ids_is_accepted(personas, procedure_a):
    client = client_for(personas["alice"])
    url = f"/api/procedures/{procedure_a.pk}/"
    body = client.get(url).json()
    body["screws"][0]["side"] = "left" if body["screws"][0]["side"] == "right" else "right"

    response = client.put(url, {**body, "change_reason": "Op note"}, format="json")

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert procedure_a.screws.get().side == body["screws"][0]["side"]


@pytest.mark.parametrize("resource", ["patients", "procedures", "encounters", "complications"])
def test_an_update_that_changes_nothing_keeps_the_version_and_writes_no_event(personas, procedure_a, resource):
    from outcomes import services as outcome_services
    from outcomes.models import Complication
    from registry.tests.factories import EncounterFactory

    record = {
        "patients": lambda: procedure_a.patient,
        "procedures": lambda: procedure_a,
        "encounters": lambda: EncounterFactory(procedure=procedure_a),
        "complications": lambda: outcome_services.complication_create(
            user=None, procedure=procedure_a, date=datetime.date(2023, 6, 1), kind="infection"
        ),
    }[resource]()
    model = {"patients": Patient, "procedures": Procedure, "encounters": Encounter, "complications": Complication}[
        resource
    ]
    client = client_for(personas["alice"])
    url = f"/api/{resource}/{record.pk}/"
    body = client.get(url).json()
    before = model.objects.values().get(pk=record.pk)
    screw_events = Procedure.screws.rel.related_model.pgh_event_models["insert"].objects.count()

    put = client.put(url, {**body, "change_reason": "Checked"}, format="json")
    patch = client.patch(url, {"version": body["version"], "change_reason": "Checked"}, format="json")

    assert (put.status_code, patch.status_code) == (200, 200)
    assert put.json() == body
    assert put["ETag"] == f'"{body["version"]}"'
    assert model.objects.values().get(pk=record.pk) == before
    assert not update_events(model, record.pk).exists()
    assert Procedure.screws.rel.related_model.pgh_event_models["insert"].objects.count() == screw_events

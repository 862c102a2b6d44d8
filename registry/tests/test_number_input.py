"""A number field of the API takes a number (or null where the value may be unknown), never an empty
string read as null; a procedure's indications are each given once, in the API, the service and the form."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from outcomes.models import Encounter
from registry import services
from registry.models import Procedure
from registry.tests.api_support import client_for, procedure_body
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

EMPTY = "A number is required (null when the value is unknown), not an empty string."
REPEATED = "Each indication is given once; repeated: mechanical_pain."


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a)


@pytest.fixture
def procedure_a(patient_a):
    return ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1), cement_volume_ml=12)


def snapshot():
    return list(Procedure.objects.order_by("pk").values()), list(Encounter.objects.order_by("pk").values())


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_cement_volume_is_a_400_not_null(personas, patient_a, empty):
    body = procedure_body(patient_a.pk, cement_volume_ml=empty)

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"cement_volume_ml": [EMPTY]}
    assert Procedure.objects.count() == 0


def test_null_still_means_an_unknown_cement_volume(personas, patient_a):
    response = client_for(personas["alice"]).post(
        "/api/procedures/", procedure_body(patient_a.pk, cement_volume_ml=None), format="json"
    )

    assert response.status_code == 201
    assert response.json()["cement_volume_ml"] is None


def test_an_empty_string_does_not_erase_a_recorded_volume(personas, procedure_a):
    before = snapshot()

    response = client_for(personas["alice"]).patch(
        f"/api/procedures/{procedure_a.pk}/", {"cement_volume_ml": "", "change_reason": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"cement_volume_ml": [EMPTY]}
    assert snapshot() == before


def test_an_empty_screw_diameter_is_a_400(personas, patient_a):
    body = procedure_body(patient_a.pk)
    body["screws"][0]["diameter_mm"] = ""

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"screws": {"0": {"diameter_mm": ["A number is required, not an empty string."]}}}
    assert Procedure.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "errors"),
    [
        ("opioid_mme_per_day", {"opioid_mme_per_day": [EMPTY]}),
        ("msts_pain", {"msts_pain": ["A valid integer is required."]}),
    ],
)
def test_an_empty_encounter_number_is_a_400(personas, procedure_a, field, errors):
    body = {"procedure": procedure_a.pk, "date": "2023-03-20", "kind": "followup", "msts_gait": 3, field: ""}
    before = snapshot()

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot() == before


def test_null_encounter_numbers_stay_unknown(personas, procedure_a):
    body = {
        "procedure": procedure_a.pk,
        "date": "2023-03-20",
        "kind": "followup",
        "msts_gait": 3,
        "msts_pain": None,
        "opioid_mme_per_day": None,
    }

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 201
    assert (response.json()["msts_pain"], response.json()["opioid_mme_per_day"]) == (None, None)


# --- Indications: each once ---------------------------------------------------------------------


def test_the_api_refuses_a_repeated_indication(personas, patient_a):
    body = procedure_body(patient_a.pk, indications=["mechanical_pain", "destructive_lesion", "mechanical_pain"])

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"indications": [REPEATED]}
    assert Procedure.objects.count() == 0


def test_the_api_refuses_a_repeated_indication_on_update(personas, procedure_a):
    before = snapshot()

    response = client_for(personas["alice"]).patch(
        f"/api/procedures/{procedure_a.pk}/",
        {"indications": ["mechanical_pain", "mechanical_pain"], "change_reason": "x"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"indications": [REPEATED]}
    assert snapshot() == before


def test_the_service_refuses_a_repeated_indication(patient_a):
    with pytest.raises(ValidationError) as refused:
        services.procedure_create(
            user=None,
            patient=patient_a,
            date=datetime.date(2023, 3, 1),
            treatment="sacroplasty",
            fracture_status="impending",
            service="orthopaedics",
            indications=["mechanical_pain", "mechanical_pain"],
        )

    assert refused.value.message_dict == {"indications": [REPEATED]}
    assert Procedure.objects.count() == 0


def test_the_form_refuses_a_repeated_indication(client, personas, patient_a):
    client.force_login(personas["alice"])
    data = {
        "date": "2023-03-01",
        "treatment": "sacroplasty",
        "fracture_status": "impending",
        "service": "orthopaedics",
        "ablation": "none",
        "indications": ["mechanical_pain", "mechanical_pain"],
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"indications": [REPEATED]}
    assert Procedure.objects.count() == 0

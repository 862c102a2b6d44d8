import datetime
from decimal import Decimal

import pytest

from outcomes.models import Encounter
from registry.models import Procedure, Screw
from registry.tests.api_support import client_for, procedure_body
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

URL = "/api/procedures/"


def detail(procedure) -> str:
    return f"{URL}{procedure.pk}/"


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a)


@pytest.fixture
def procedure_a(patient_a):
    return ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))


@pytest.fixture
def procedure_b(site_b):
    return ProcedureFactory(patient=PatientFactory(site=site_b))


def test_it_creates_a_psfs_procedure_with_its_screws(personas, patient_a):
    body = procedure_body(
        patient_a.pk,
        indications=["destructive_lesion", "mechanical_pain"],
        cement_volume_ml="12.5",
        approach="transiliac",
        screws=[
            {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3"},
            {"corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": 8, "fully_threaded": False},
        ],
    )

    response = client_for(personas["alice"]).post(URL, body, format="json")

    assert response.status_code == 201
    procedure = Procedure.objects.get()
    data = response.json()
    assert data["id"] == procedure.pk
    assert data["indications"] == ["destructive_lesion", "mechanical_pain"]
    assert data["cement_volume_ml"] == "12.5"
    assert data["ablation"] == "none"
    assert [(s["corridor"], s["diameter_mm"], s["fully_threaded"]) for s in data["screws"]] == [
        ("S1", "7.3", True),
        ("S2", "8.0", False),
    ]
    assert list(procedure.screws.values_list("corridor", "trajectory", "side", "diameter_mm")) == [
        ("S1", "transsacral", "left", Decimal("7.3")),
        ("S2", "iliosacral", "right", Decimal("8.0")),
    ]


def test_it_creates_a_sacroplasty_without_screws(personas, patient_a):
    body = procedure_body(patient_a.pk, treatment="sacroplasty", screws=[])

    response = client_for(personas["alice"]).post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["screws"] == []
    assert Screw.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"screws": []}, {"screws": ["A PSFS procedure needs at least one screw."]}),
        ({"treatment": "sacroplasty"}, {"screws": ["Sacroplasty alone has no screws: remove them or choose PSFS."]}),
        ({"treatment": "both"}, {"treatment": ['"both" is not a valid choice.']}),
        ({"indications": ["pain"]}, {"indications": {"0": ['"pain" is not a valid choice.']}}),
        ({"date": "2999-01-01"}, {"date": ["Date cannot be in the future."]}),
        ({"date": "1940-01-01"}, {"date": ["Procedure date cannot be before the patient's date of birth."]}),
        ({"cement_volume_ml": "-1"}, {"cement_volume_ml": ["Ensure this value is greater than or equal to 0."]}),
        (
            {"screws": [{"corridor": "S3", "trajectory": "iliosacral", "side": "left", "diameter_mm": "7.3"}]},
            {"screws": {"0": {"corridor": ['"S3" is not a valid choice.']}}},
        ),
        (
            {"screws": [{"corridor": "S1", "trajectory": "iliosacral", "side": "left", "diameter_mm": "13"}]},
            {"screws": {"0": {"diameter_mm": ["Ensure this value is less than or equal to 12."]}}},
        ),
        ({"patient": 999999}, {"patient": ['Invalid pk "999999" - object does not exist.']}),
    ],
)
def test_it_refuses_bad_procedures_with_the_field_error(personas, patient_a, overrides, errors):
    response = client_for(personas["alice"]).post(URL, procedure_body(patient_a.pk, **overrides), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Procedure.objects.count() == 0


def test_it_treats_another_sites_patient_as_unknown(personas, site_b):
    other = PatientFactory(site=site_b)

    response = client_for(personas["alice"]).post(URL, procedure_body(other.pk), format="json")

    assert response.status_code == 400
    assert response.json() == {"patient": [f'Invalid pk "{other.pk}" - object does not exist.']}
    assert Procedure.objects.count() == 0


def test_it_refuses_writes_by_an_investigator(personas, patient_a, procedure_a):
    client = client_for(personas["ivy"])

    assert client.post(URL, procedure_body(patient_a.pk), format="json").status_code == 403
    assert client.patch(detail(procedure_a), {"ablation": "rfa"}, format="json").status_code == 403
    assert client.delete(detail(procedure_a)).status_code == 403
    assert Procedure.objects.get().ablation == "none"


def test_it_reads_procedures_by_role(personas, procedure_a, procedure_b):
    assert [p["id"] for p in client_for(personas["alice"]).get(URL).json()["results"]] == [procedure_a.pk]
    assert [p["id"] for p in client_for(personas["charlie"]).get(URL).json()["results"]] == [procedure_b.pk]
    assert client_for(personas["ivy"]).get(URL).json()["count"] == 2
    assert client_for(personas["root"]).get(URL).json()["count"] == 2


def test_it_hides_another_sites_procedure_with_404(personas, procedure_b):
    client = client_for(personas["alice"])

    assert client.get(detail(procedure_b)).status_code == 404
    assert client.patch(detail(procedure_b), {"ablation": "rfa"}, format="json").status_code == 404
    assert client.delete(detail(procedure_b)).status_code == 404
    assert Procedure.objects.filter(pk=procedure_b.pk, ablation="none").exists()


def test_it_filters_procedures(personas, patient_a, procedure_a):
    ProcedureFactory(patient=patient_a, treatment="sacroplasty", fracture_status="impending")
    client = client_for(personas["alice"])

    assert client.get(URL, {"treatment": "psfs"}).json()["count"] == 1
    assert client.get(URL, {"fracture_status": "impending", "site": "SITEA"}).json()["count"] == 1
    assert client.get(URL, {"patient": patient_a.pk}).json()["count"] == 2
    assert client.get(URL, {"patient": 999999}).json()["count"] == 0


def test_it_replaces_the_screws_on_update(personas, procedure_a):
    screws = [
        {"corridor": "S2", "trajectory": "iliosacral", "side": "left", "diameter_mm": "6.5"},
        {"corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": "6.5"},
    ]

    response = client_for(personas["alice"]).patch(
        detail(procedure_a), {"screws": screws, "version": 1, "change_reason": "Op note"}, format="json"
    )

    assert response.status_code == 200
    assert [s["side"] for s in response.json()["screws"]] == ["left", "right"]
    assert list(procedure_a.screws.values_list("corridor", "side")) == [("S2", "left"), ("S2", "right")]
    procedure_a.refresh_from_db()
    assert procedure_a.version == 2


def test_it_keeps_the_screws_when_a_patch_does_not_send_them(personas, procedure_a):
    response = client_for(personas["alice"]).patch(
        detail(procedure_a), {"ablation": "cryo", "change_reason": "Op note"}, format="json"
    )

    assert response.status_code == 200
    assert len(response.json()["screws"]) == 1
    assert procedure_a.screws.count() == 1


def test_it_switches_to_sacroplasty_with_put(personas, procedure_a, patient_a):
    body = procedure_body(patient_a.pk, treatment="sacroplasty", screws=[], change_reason="Wrong treatment")

    response = client_for(personas["alice"]).put(detail(procedure_a), body, format="json")

    assert response.status_code == 200
    procedure_a.refresh_from_db()
    assert (procedure_a.treatment, procedure_a.screws.count(), procedure_a.date) == (
        "sacroplasty",
        0,
        datetime.date(2023, 5, 1),
    )


def test_it_refuses_moving_a_procedure_to_another_patient(personas, procedure_a, site_a):
    other = PatientFactory(site=site_a)

    response = client_for(personas["alice"]).patch(
        detail(procedure_a), {"patient": other.pk, "change_reason": "Wrong patient"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"patient": ["This field cannot be changed."]}
    assert Procedure.objects.get(pk=procedure_a.pk).patient_id != other.pk


def test_it_accepts_the_same_patient_on_put(personas, procedure_a, patient_a):
    response = client_for(personas["alice"]).put(
        detail(procedure_a), procedure_body(patient_a.pk, change_reason="Op note"), format="json"
    )

    assert response.status_code == 200


def test_it_refuses_moving_a_procedure_after_its_follow_up(personas, procedure_a):
    EncounterFactory(procedure=procedure_a, kind="followup", date=datetime.date(2023, 4, 1))

    response = client_for(personas["alice"]).patch(
        detail(procedure_a), {"date": "2023-05-01", "change_reason": "Date typo"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"date": ["A follow-up encounter of this procedure would fall on or before it."]}
    assert Procedure.objects.get(pk=procedure_a.pk).date == datetime.date(2023, 3, 1)


def test_it_refuses_a_stale_procedure_edit_with_409(personas, procedure_a):
    first = client_for(personas["bob"]).patch(
        detail(procedure_a), {"ablation": "rfa", "change_reason": "Op note"}, format="json"
    )
    assert first.status_code == 200

    response = client_for(personas["alice"]).patch(
        detail(procedure_a), {"ablation": "cryo", "change_reason": "Op note"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 409
    assert (response.json()["expected_version"], response.json()["current_version"]) == (1, 2)
    assert Procedure.objects.get(pk=procedure_a.pk).ablation == "rfa"


def test_it_deletes_a_procedure_with_its_encounters(personas, procedure_a):
    EncounterFactory(procedure=procedure_a)

    response = client_for(personas["alice"]).delete(detail(procedure_a) + "?change_reason=Entered%20twice")

    assert response.status_code == 204
    assert Procedure.objects.count() == 0
    assert Encounter.objects.count() == 0

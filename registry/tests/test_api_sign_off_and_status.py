"""REST: the patient's follow-up status (investigators get a day count, never the date) and the
procedure's sign-off and unlock actions."""

import datetime

import pytest
from django.utils import timezone

from registry import services
from registry.models import Patient, Procedure
from registry.tests.api_support import client_for, patient_body
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SIGNED_OFF = "This record is signed off as complete; a registry admin must unlock it first."


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def index(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(200))


def test_a_patient_is_created_active_and_withdrawn_later(personas, site_a):
    client = client_for(personas["alice"])
    created = client.post("/api/patients/", patient_body("SITEA"), format="json")
    url = f"/api/patients/{created.json()['id']}/"

    refused = client.patch(url, {"status": "withdrawn", "change_reason": "Consent withdrawn"}, format="json")
    withdrawn = client.patch(
        url,
        {"status": "withdrawn", "status_date": str(days_ago(3)), "change_reason": "Consent withdrawn"},
        format="json",
    )

    assert created.status_code == 201
    assert (created.json()["status"], created.json()["status_date"]) == ("active", None)
    assert refused.status_code == 400
    assert refused.json() == {"status_date": ["Give the date the patient withdrew or was lost to follow-up."]}
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["status"], withdrawn.json()["status_date"]) == ("withdrawn", str(days_ago(3)))
    patient = Patient.objects.get()
    assert (patient.status, patient.status_date, patient.version) == ("withdrawn", days_ago(3), 2)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"status": "active", "status_date": "2024-01-01"},
            {"status_date": ["An active patient has no status date; leave it empty."]},
        ),
        (
            {"status": "lost_to_follow_up", "status_date": "2999-01-01"},
            {"status_date": ["Date cannot be in the future."]},
        ),
        (
            {"status": "lost_to_follow_up", "status_date": "1950-01-01"},
            {"status_date": ["The status date cannot be before the date of birth."]},
        ),
        ({"status": "gone"}, {"status": ['"gone" is not a valid choice.']}),
        (
            {"status": "withdrawn", "status_date": "2024-03-02", "death_date": "2024-03-01"},
            {"status_date": ["The status date cannot be after the date of death (2024-03-01)."]},
        ),
    ],
)
def test_status_rules_answer_400_naming_the_field(personas, site_a, fields, errors):
    response = client_for(personas["alice"]).post(
        "/api/patients/", patient_body("SITEA", birth_date="1955-01-02", **fields), format="json"
    )

    assert response.status_code == 400
    assert response.json() == errors
    assert not Patient.objects.exists()


def test_investigators_get_the_status_and_its_day_count_not_the_date(personas, index):
    EncounterFactory(procedure=index, date=index.date + datetime.timedelta(days=14))
    patient = index.patient
    services.patient_update(
        user=None,
        patient=patient,
        data={"status": "lost_to_follow_up", "status_date": index.date + datetime.timedelta(days=40)},
        reason="No answer",
    )

    seen = client_for(personas["ivy"]).get(f"/api/patients/{patient.pk}/").json()
    staff = client_for(personas["alice"]).get(f"/api/patients/{patient.pk}/").json()

    assert (seen["status"], seen["status_days_from_index"]) == ("lost_to_follow_up", 40)
    assert "status_date" not in seen
    assert str(index.date + datetime.timedelta(days=40)) not in str(seen)
    assert staff["status_date"] == str(index.date + datetime.timedelta(days=40))
    assert "status_days_from_index" not in staff


def test_an_admin_signs_off_and_unlocks_through_the_api(personas, index):
    root = client_for(personas["root"])
    url = f"/api/procedures/{index.pk}/"

    wrong = root.post(f"{url}sign-off/", {"password": "guess"}, format="json")
    signed = root.post(f"{url}sign-off/", {"password": PASSWORD}, format="json")
    refused = client_for(personas["alice"]).patch(
        url, {"service": "interventional_radiology", "change_reason": "Typo"}, format="json"
    )
    seen = client_for(personas["ivy"]).get(url).json()
    no_reason = root.post(f"{url}unlock/", {"change_reason": " "}, format="json")
    unlocked = root.post(f"{url}unlock/", {"change_reason": "Late follow-up"}, format="json")

    assert (wrong.status_code, wrong.json()) == (400, {"password": ["The password is not correct."]})
    assert signed.status_code == 200
    assert signed.json()["signed_off"] is True
    assert signed.json()["signed_off_at"] is not None
    assert (refused.status_code, refused.json()) == (400, {"non_field_errors": [SIGNED_OFF]})
    assert seen["signed_off"] is True
    assert "signed_off_at" not in seen
    assert no_reason.status_code == 400
    assert set(no_reason.json()) == {"change_reason"}
    assert unlocked.status_code == 200
    assert (unlocked.json()["signed_off"], unlocked.json()["signed_off_at"]) == (False, None)
    assert Procedure.objects.get(pk=index.pk).signed_off_at is None


def test_sign_off_refusals(personas, index, site_b):
    recent = ProcedureFactory(patient=PatientFactory(site=site_b), date=days_ago(30))
    url = f"/api/procedures/{index.pk}/sign-off/"

    clinician = client_for(personas["alice"]).post(url, {"password": PASSWORD}, format="json")
    investigator = client_for(personas["ivy"]).post(url, {"password": PASSWORD}, format="json")
    other_site = client_for(personas["charlie"]).post(url, {"password": PASSWORD}, format="json")
    too_early = client_for(personas["root"]).post(
        f"/api/procedures/{recent.pk}/sign-off/", {"password": PASSWORD}, format="json"
    )
    unknown_field = client_for(personas["root"]).post(url, {"password": PASSWORD, "when": "now"}, format="json")

    assert clinician.status_code == 403
    assert investigator.status_code == 403
    assert other_site.status_code == 404
    assert too_early.status_code == 400
    assert list(too_early.json()) == ["non_field_errors"]
    assert unknown_field.status_code == 400
    assert unknown_field.json() == {"when": ["Unknown field."]}
    assert not Procedure.objects.filter(signed_off_at__isnull=False).exists()


def test_a_patient_followed_again_loses_the_status_date(personas, index):
    services.patient_update(
        user=None, patient=index.patient, data={"status": "lost_to_follow_up", "status_date": days_ago(9)}, reason="x"
    )

    response = client_for(personas["alice"]).patch(
        f"/api/patients/{index.patient_id}/", {"status": "active", "change_reason": "Back in clinic"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_date"]) == ("active", None)
    assert Patient.objects.get(pk=index.patient_id).status_date is None

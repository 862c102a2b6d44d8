"""The pages of the follow-up loop: marking a visit not done (from the worklist and the timeline),
the patient's follow-up status on the form and the timeline, and signing a record off."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes import services as outcome_services
from outcomes.models import VisitNotDone
from registry import sign_off
from registry.models import Patient, Procedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(50))


# --- Visit not done ---------------------------------------------------------------------------


def test_marking_a_visit_not_done_from_the_worklist_goes_back_to_it(client, personas, procedure):
    client.force_login(personas["alice"])
    url = reverse("visit_not_done_create", args=[procedure.pk])

    form = client.get(url, {"visit": "week2", "next": "/worklist/?site=SITEA"})
    saved = client.post(url, {"visit": "week2", "reason": "too_ill", "note": "", "next": "/worklist/?site=SITEA"})
    listed = client.get(reverse("worklist")).context["rows"]

    assert form.status_code == 200
    assert form.context["form"]["visit"].value() == "week2"
    assert (saved.status_code, saved["Location"]) == (302, "/worklist/?site=SITEA")
    assert VisitNotDone.objects.get().reason == "too_ill"
    assert [row.visit.visit.key for row in listed] == ["month1"]


def test_the_page_goes_back_only_to_the_worklist(client, personas, procedure):
    client.force_login(personas["alice"])
    url = reverse("visit_not_done_create", args=[procedure.pk])

    page = client.get(url, {"next": "javascript:alert(1)"}).content.decode()
    saved = client.post(url, {"visit": "week2", "reason": "declined", "next": "https://evil.example/"})

    assert "javascript:" not in page
    assert saved["Location"] == f"{reverse('patient_detail', args=[procedure.patient_id])}#procedure-{procedure.pk}"


def test_service_errors_show_beside_their_fields(client, personas, procedure):
    EncounterFactory(procedure=procedure, date=procedure.date + datetime.timedelta(days=14))
    client.force_login(personas["alice"])
    url = reverse("visit_not_done_create", args=[procedure.pk])

    other = client.post(url, {"visit": "month1", "reason": "other", "note": ""})
    done = client.post(url, {"visit": "week2", "reason": "declined"})

    assert other.status_code == 200
    assert other.context["form"].errors == {"note": ["Say why the visit was not done when the reason is 'other'."]}
    assert list(done.context["form"].errors) == ["visit"]
    assert not VisitNotDone.objects.exists()


def test_editing_needs_a_reason_and_others_cannot_reach_it(client, personas, procedure):
    record = outcome_services.visit_not_done_create(user=None, procedure=procedure, visit="week2", reason="too_ill")
    url = reverse("visit_not_done_edit", args=[record.pk])
    client.force_login(personas["bob"])

    no_reason = client.post(url, {"visit": "week2", "reason": "declined", "version": 1, "change_reason": ""})
    saved = client.post(url, {"visit": "week2", "reason": "declined", "version": 1, "change_reason": "Misheard"})
    client.force_login(personas["charlie"])
    other_site = client.get(url)
    client.force_login(personas["ivy"])
    investigator = client.get(url)

    assert "change_reason" in no_reason.context["form"].errors
    assert saved.status_code == 302
    record.refresh_from_db()
    assert (record.reason, record.version) == ("declined", 2)
    assert other_site.status_code == 404
    assert investigator.status_code == 403


def test_the_timeline_lists_visits_not_done_in_their_windows_place(client, personas, procedure):
    outcome_services.visit_not_done_create(
        user=None, procedure=procedure, visit="week2", reason="other", note="Moved abroad"
    )
    EncounterFactory(procedure=procedure, date=procedure.date + datetime.timedelta(days=30))
    client.force_login(personas["alice"])

    response = client.get(reverse("patient_detail", args=[procedure.patient_id]))
    page = response.content.decode()
    client.force_login(personas["ivy"])
    deidentified = client.get(reverse("patient_detail", args=[procedure.patient_id])).content.decode()

    items = response.context["timeline"][0]["items"]
    assert [item["type"] for item in items] == ["not_done", "encounter"]
    start = procedure.date + datetime.timedelta(days=7)
    assert f"{start:%Y-%m-%d} to {procedure.date + datetime.timedelta(days=21):%Y-%m-%d}" in page
    assert "1-2 weeks visit not done" in page
    assert "Other. Moved abroad" in page
    assert "1-2 weeks visit not done" in deidentified
    assert "day +7 to day +21" in deidentified
    assert "Moved abroad" not in deidentified


# --- Follow-up status -------------------------------------------------------------------------


def test_a_clinician_records_a_withdrawal_on_the_patient_form(client, personas, procedure):
    patient = procedure.patient
    client.force_login(personas["alice"])
    data = {
        "site": patient.site_id,
        "mrn": patient.mrn,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "primary_cancer": patient.primary_cancer,
        "primary_cancer_detail": "",
        "death_date": "",
        "status": "withdrawn",
        "status_date": "",
        "version": patient.version,
        "change_reason": "Consent withdrawn",
    }

    missing_date = client.post(reverse("patient_edit", args=[patient.pk]), data)
    saved = client.post(reverse("patient_edit", args=[patient.pk]), {**data, "status_date": days_ago(5).isoformat()})
    timeline = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()

    assert missing_date.context["form"].errors == {
        "status_date": ["Give the date the patient withdrew or was lost to follow-up."]
    }
    assert saved.status_code == 302
    patient = Patient.objects.get(pk=patient.pk)
    assert (patient.status, patient.status_date) == ("withdrawn", days_ago(5))
    assert f"Withdrawn since {days_ago(5):%Y-%m-%d}" in timeline
    # Withdrawn on day 45, the last day of the 1-month window: only the 1-2 week visit, missed
    # before, is left to deal with.
    rows = client.get(reverse("worklist")).context["rows"]
    assert [(row.procedure.pk, row.visit.visit.key) for row in rows] == [(procedure.pk, "week2")]


# --- Sign-off ---------------------------------------------------------------------------------


def test_an_admin_signs_off_from_the_timeline_and_everyone_sees_it(client, personas, site_a):
    index = ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(200))
    detail = reverse("patient_detail", args=[index.patient_id])
    client.force_login(personas["root"])

    before = client.get(detail).content.decode()
    wrong = client.post(reverse("procedure_sign_off", args=[index.pk]), {"password": "guess"})
    signed = client.post(reverse("procedure_sign_off", args=[index.pk]), {"password": PASSWORD})
    after = client.get(detail).content.decode()
    client.force_login(personas["alice"])
    clinician = client.get(detail).content.decode()
    refused = client.post(reverse("procedure_sign_off", args=[index.pk]), {"password": PASSWORD})

    assert f'action="{reverse("procedure_sign_off", args=[index.pk])}"' in before
    assert wrong.status_code == 400
    assert wrong.context["form"].errors == {"password": ["The password is not correct."]}
    assert signed.status_code == 302
    assert Procedure.objects.get(pk=index.pk).signed_off_by == personas["root"]
    assert "Signed off as complete" in after
    assert f'action="{reverse("procedure_unlock", args=[index.pk])}"' in after
    assert "Signed off as complete" in clinician
    assert 'name="password"' not in clinician
    assert reverse("encounter_create", args=[index.pk]) in before
    assert reverse("encounter_create", args=[index.pk]) not in clinician  # nothing new until unlocked
    assert refused.status_code == 403


def test_a_signed_off_record_refuses_a_change_on_its_form_and_an_admin_unlocks_it(client, personas, site_a):
    index = ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(200))
    sign_off.procedure_sign_off(user=personas["root"], procedure=index, password=PASSWORD)
    client.force_login(personas["alice"])

    refused = client.post(reverse("visit_not_done_create", args=[index.pk]), {"visit": "month3", "reason": "declined"})
    client.force_login(personas["root"])
    no_reason = client.post(reverse("procedure_unlock", args=[index.pk]), {"change_reason": ""})
    unlocked = client.post(reverse("procedure_unlock", args=[index.pk]), {"change_reason": "Late visit found"})

    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [
        "This record is signed off as complete; a registry admin must unlock it first."
    ]
    assert not VisitNotDone.objects.exists()
    assert no_reason.status_code == 400
    assert unlocked.status_code == 302
    assert Procedure.objects.get(pk=index.pk).signed_off_at is None


def test_before_its_window_closes_the_timeline_says_when_it_can_be_signed_off(client, personas, procedure):
    client.force_login(personas["root"])

    page = client.get(reverse("patient_detail", args=[procedure.patient_id])).content.decode()

    assert "can be signed off as complete once its 3-month window has closed" in page
    assert 'name="password"' not in page

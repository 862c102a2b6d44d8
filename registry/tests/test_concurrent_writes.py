"""A record deleted by a concurrent request while another request changes it: a 404, never a 500."""

import datetime

import pytest

from outcomes import services as outcome_services
from outcomes.models import Encounter
from registry import services
from registry.models import Patient
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

GONE = "This record no longer exists: someone deleted it."


def test_a_patch_whose_record_is_deleted_after_it_committed_is_a_404(personas, site_a, monkeypatch):
    patient = PatientFactory(site=site_a, mrn="C-1")
    original = services.patient_update

    def update_then_deleted_by_another_request(**kwargs):
        updated = original(**kwargs)
        original_delete(user=None, patient=updated, reason="Duplicate")  # the concurrent DELETE
        return updated

    original_delete = services.patient_delete
    monkeypatch.setattr(services, "patient_update", update_then_deleted_by_another_request)

    response = client_for(personas["alice"]).patch(
        f"/api/patients/{patient.pk}/", {"mrn": "C-2", "change_reason": "Typo"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": GONE}
    assert not Patient.objects.filter(pk=patient.pk).exists()


def test_a_patch_whose_record_is_deleted_before_the_lock_is_a_404(personas, site_a, monkeypatch):
    patient = PatientFactory(site=site_a, mrn="C-1")
    original = services.patient_update

    def deleted_by_another_request_first(**kwargs):
        Patient.objects.filter(pk=kwargs["patient"].pk).delete()
        return original(**kwargs)

    monkeypatch.setattr(services, "patient_update", deleted_by_another_request_first)

    response = client_for(personas["alice"]).patch(
        f"/api/patients/{patient.pk}/", {"mrn": "C-2", "change_reason": "Typo"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": GONE}


def test_an_encounter_deleted_before_the_lock_is_a_404(personas, site_a, monkeypatch):
    encounter = EncounterFactory(procedure=ProcedureFactory(patient=PatientFactory(site=site_a)))
    original = outcome_services.encounter_update

    def deleted_by_another_request_first(**kwargs):
        Encounter.objects.filter(pk=kwargs["encounter"].pk).delete()
        return original(**kwargs)

    monkeypatch.setattr(outcome_services, "encounter_update", deleted_by_another_request_first)

    response = client_for(personas["alice"]).patch(
        f"/api/encounters/{encounter.pk}/", {"msts_pain": 0, "change_reason": "Typo"}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": GONE}
    assert Encounter.objects.count() == 0


def test_the_web_edit_of_a_record_deleted_meanwhile_is_a_404(client, personas, site_a, monkeypatch):
    patient = PatientFactory(site=site_a, mrn="C-1", birth_date=datetime.date(1950, 1, 2))
    original = services.patient_update

    def deleted_by_another_request_first(**kwargs):
        Patient.objects.filter(pk=kwargs["patient"].pk).delete()
        return original(**kwargs)

    monkeypatch.setattr(services, "patient_update", deleted_by_another_request_first)
    client.force_login(personas["alice"])

    response = client.post(
        f"/patients/{patient.pk}/edit/",
        {
            "site": site_a.pk,
            "mrn": "C-2",
            "birth_date": "1950-01-02",
            "sex": patient.sex,
            "primary_cancer": patient.primary_cancer,
            "primary_cancer_detail": patient.primary_cancer_detail,
            "version": 1,
            "change_reason": "Typo",
        },
    )

    assert response.status_code == 404

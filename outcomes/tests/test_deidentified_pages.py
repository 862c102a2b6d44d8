"""Investigators' pages show the same de-identified view as the API (docs/contract.md): days from
the index procedure, no calendar date, no free text, no audit trail link."""

import datetime
import re

import pytest

from outcomes import services as outcome_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PLANTED = "John Smith note"


@pytest.fixture
def patient(site_a):
    patient = PatientFactory(
        site=site_a,
        birth_date=datetime.date(1950, 3, 4),
        death_date=datetime.date(2023, 9, 1),
        primary_cancer="other",
        primary_cancer_detail=PLANTED,
    )
    index = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))
    second = ProcedureFactory(patient=patient, date=datetime.date(2023, 5, 1))
    EncounterFactory(procedure=index, kind="baseline", date=datetime.date(2023, 2, 20))
    EncounterFactory(procedure=second, kind="followup", date=datetime.date(2023, 6, 1))
    outcome_services.secondary_procedure_create(
        user=None, procedure=index, date=datetime.date(2023, 4, 10), kind="radiation", reason=PLANTED
    )
    outcome_services.complication_create(
        user=None, procedure=second, date=datetime.date(2023, 6, 15), kind="infection", description=PLANTED
    )
    return patient


def dates_of(patient) -> set[str]:
    days = {patient.birth_date, patient.death_date, patient.created_at.date(), patient.updated_at.date()}
    for procedure in patient.procedures.all():
        days |= {procedure.date, procedure.created_at.date()}
        for related in (procedure.encounters, procedure.secondary_procedures, procedure.complications):
            days |= {record.date for record in related.all()} | {record.created_at.date() for record in related.all()}
    return {day.isoformat() for day in days}


def page_text(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_an_investigator_reads_the_patient_page_without_dates_or_free_text(client, personas, patient):
    text = page_text(client, personas["ivy"], f"/patients/{patient.pk}/")

    assert PLANTED not in text
    assert [day for day in dates_of(patient) if day in text] == []
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    for day in ("day -9", "day +0", "day +61", "day +40", "day +92", "day +106", "day +184"):
        assert day in text
    assert "/history/" not in text


def test_an_investigator_reads_the_patient_list_without_dates_or_free_text(client, personas, patient):
    text = page_text(client, personas["ivy"], "/patients/")

    assert patient.study_id in text
    assert PLANTED not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_a_clinician_still_reads_the_dates_and_the_free_text(client, personas, patient):
    text = page_text(client, personas["alice"], f"/patients/{patient.pk}/")

    assert text.count(PLANTED) == 3
    for day in ("1950-03-04", "2023-03-01", "2023-02-20", "2023-04-10", "2023-06-15", "2023-09-01"):
        assert day in text

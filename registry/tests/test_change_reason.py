"""Every update and deletion of a clinical record needs a reason (docs/contract.md, "Reason for
change"): the services refuse a blank one before writing anything, so the API, the web forms, the
admin and the commands all ask for it. Sites are not clinical records."""

import datetime

import pytest

from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure
from registry import services
from registry.models import Patient, Procedure, Site
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

MESSAGE = "Give the reason for this change; it is kept in the audit trail."


@pytest.fixture
def records(site_a):
    patient = PatientFactory(site=site_a)
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))
    encounter = EncounterFactory(procedure=procedure)
    secondary = outcome_services.secondary_procedure_create(
        user=None, procedure=procedure, date=datetime.date(2023, 6, 1), kind="radiation", reason="pain"
    )
    complication = outcome_services.complication_create(
        user=None, procedure=procedure, date=datetime.date(2023, 6, 2), kind="infection"
    )
    return {
        "patients": (patient, {"sex": "female" if patient.sex == "male" else "male"}),
        "procedures": (procedure, {"ablation": "cryo"}),
        "encounters": (encounter, {"msts_pain": 0}),
        "secondary-procedures": (secondary, {"kind": "neurolysis"}),
        "complications": (complication, {"resolved": True}),
    }


def snapshot(record) -> dict:
    fresh = type(record).objects.get(pk=record.pk)
    return {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}


RESOURCES = ["patients", "procedures", "encounters", "secondary-procedures", "complications"]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_the_api_refuses_an_update_without_a_reason(personas, records, resource, reason):
    record, change = records[resource]
    before = snapshot(record)
    body = change if reason is None else {**change, "change_reason": reason}

    response = client_for(personas["alice"]).patch(f"/api/{resource}/{record.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"change_reason": [MESSAGE]}
    assert snapshot(record) == before


@pytest.mark.parametrize("resource", RESOURCES)
def test_the_api_updates_with_a_reason_and_keeps_it(personas, records, resource):
    record, change = records[resource]
    body = {**change, "change_reason": "  Corrected from the chart  "}

    response = client_for(personas["alice"]).patch(f"/api/{resource}/{record.pk}/", body, format="json")

    assert response.status_code == 200
    fresh = type(record).objects.get(pk=record.pk)
    assert fresh.version == record.version + 1
    event = type(record).pgh_event_models["update"].objects.filter(pgh_obj_id=record.pk).latest("pgh_id")
    assert event.pgh_context.metadata["reason"] == "Corrected from the chart"


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("query", ["", "?change_reason=", "?change_reason=%20%20"])
def test_the_api_refuses_a_deletion_without_a_reason(personas, records, resource, query):
    record, _ = records[resource]
    counts = {
        model: model.objects.count() for model in (Patient, Procedure, Encounter, SecondaryProcedure, Complication)
    }

    response = client_for(personas["alice"]).delete(f"/api/{resource}/{record.pk}/{query}")

    assert response.status_code == 400
    assert response.json() == {"change_reason": [MESSAGE]}
    assert {model: model.objects.count() for model in counts} == counts


@pytest.mark.parametrize("resource", RESOURCES)
def test_the_api_deletes_with_a_reason(personas, records, resource):
    record, _ = records[resource]

    response = client_for(personas["alice"]).delete(f"/api/{resource}/{record.pk}/?change_reason=Entered%20twice")

    assert response.status_code == 204
    assert not type(record).objects.filter(pk=record.pk).exists()


def test_a_put_without_a_reason_is_refused(personas, records):
    patient, _ = records["patients"]
    body = {
        "site": "SITEA",
        "mrn": "NEW-MRN",
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "primary_cancer": patient.primary_cancer,
    }

    response = client_for(personas["alice"]).put(f"/api/patients/{patient.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"change_reason": [MESSAGE]}
    assert Patient.objects.get(pk=patient.pk).mrn == patient.mrn


def _service_calls(records):
    patient, _ = records["patients"]
    procedure, _ = records["procedures"]
    encounter, _ = records["encounters"]
    secondary, _ = records["secondary-procedures"]
    complication, _ = records["complications"]
    return {
        "patient_update": lambda reason: services.patient_update(
            user=None, patient=patient, data={"mrn": "X-2"}, reason=reason
        ),
        "patient_delete": lambda reason: services.patient_delete(user=None, patient=patient, reason=reason),
        "procedure_update": lambda reason: services.procedure_update(
            user=None, procedure=procedure, data={"ablation": "rfa"}, reason=reason
        ),
        "procedure_update_screws": lambda reason: services.procedure_update(
            user=None, procedure=procedure, data={}, screws=[], reason=reason
        ),
        "procedure_delete": lambda reason: services.procedure_delete(user=None, procedure=procedure, reason=reason),
        "encounter_update": lambda reason: outcome_services.encounter_update(
            user=None, encounter=encounter, data={"msts_gait": 0}, reason=reason
        ),
        "encounter_delete": lambda reason: outcome_services.encounter_delete(
            user=None, encounter=encounter, reason=reason
        ),
        "secondary_procedure_update": lambda reason: outcome_services.secondary_procedure_update(
            user=None, secondary_procedure=secondary, data={"kind": "other"}, reason=reason
        ),
        "secondary_procedure_delete": lambda reason: outcome_services.secondary_procedure_delete(
            user=None, secondary_procedure=secondary, reason=reason
        ),
        "complication_update": lambda reason: outcome_services.complication_update(
            user=None, complication=complication, data={"resolved": True}, reason=reason
        ),
        "complication_delete": lambda reason: outcome_services.complication_delete(
            user=None, complication=complication, reason=reason
        ),
    }


SERVICE_CALLS = [
    "patient_update",
    "patient_delete",
    "procedure_update",
    "procedure_update_screws",
    "procedure_delete",
    "encounter_update",
    "encounter_delete",
    "secondary_procedure_update",
    "secondary_procedure_delete",
    "complication_update",
    "complication_delete",
]


@pytest.mark.parametrize("call", SERVICE_CALLS)
@pytest.mark.parametrize("reason", ["", "  \t", None])
def test_every_clinical_update_and_deletion_service_needs_a_reason(records, call, reason):
    from django.core.exceptions import ValidationError

    tracked = [record for record, _ in records.values()]
    before = [snapshot(record) for record in tracked]

    with pytest.raises(ValidationError) as caught:
        _service_calls(records)[call](reason)

    assert caught.value.message_dict == {"change_reason": [MESSAGE]}
    assert [snapshot(record) for record in tracked] == before


def test_a_reason_longer_than_the_audit_trail_keeps_is_refused(records):
    from django.core.exceptions import ValidationError

    patient, _ = records["patients"]

    with pytest.raises(ValidationError) as caught:
        services.patient_update(user=None, patient=patient, data={"mrn": "X-2"}, reason="x" * 501)

    assert caught.value.message_dict == {"change_reason": ["Ensure this field has no more than 500 characters."]}
    assert Patient.objects.get(pk=patient.pk).mrn == patient.mrn


def test_sites_are_not_clinical_records_and_need_no_reason(personas, site_a):
    response = client_for(personas["root"]).patch(f"/api/sites/{site_a.pk}/", {"name": "Renamed"}, format="json")

    assert response.status_code == 200
    assert Site.objects.get(pk=site_a.pk).name == "Renamed"
    empty = services.site_create(code="EMPTY", name="Empty site")
    assert client_for(personas["root"]).delete(f"/api/sites/{empty.pk}/").status_code == 204
    assert not Site.objects.filter(code="EMPTY").exists()


def test_the_web_edit_form_requires_a_reason(client, personas, records):
    patient, _ = records["patients"]
    client.force_login(personas["alice"])
    page = client.get(f"/patients/{patient.pk}/edit/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.fields["change_reason"].required is True

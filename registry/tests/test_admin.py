"""The admin writes through the services: same rules, same audit trail."""

import datetime

import pytest
from django.contrib.messages import get_messages

from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure
from registry import services
from registry.models import Patient, Procedure, Site
from registry.tests.factories import EncounterFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas["root"])
    return client


def test_the_admin_lists_and_finds_patients_by_study_id_and_mrn(admin_client, site_a):
    wanted = PatientFactory(site=site_a, mrn="777001")
    PatientFactory(site=site_a, mrn="777002")

    by_mrn = admin_client.get("/admin/registry/patient/", {"q": "777001"})
    by_study_id = admin_client.get("/admin/registry/patient/", {"q": wanted.study_id})

    assert by_mrn.status_code == 200
    assert [p.pk for p in by_mrn.context["cl"].result_list] == [wanted.pk]
    assert [p.pk for p in by_study_id.context["cl"].result_list] == [wanted.pk]


def test_adding_a_patient_in_the_admin_uses_the_service(admin_client, site_a, personas):
    response = admin_client.post(
        "/admin/registry/patient/add/",
        {
            "site": site_a.pk,
            "mrn": "A-1",
            "birth_date": "1950-02-03",
            "sex": "female",
            "primary_cancer": "other",
            "primary_cancer_detail": "",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "primary_cancer_detail": ["Describe the primary cancer when it is 'other'."]
    }
    assert Patient.objects.count() == 0

    response = admin_client.post(
        "/admin/registry/patient/add/",
        {"site": site_a.pk, "mrn": "A-1", "birth_date": "1950-02-03", "sex": "female", "primary_cancer": "lung"},
    )

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert patient.study_id.startswith("SAC-")
    event = Patient.pgh_event_models["insert"].objects.get()
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["action"] == "patient_create"
    assert event.pgh_context.metadata["username"] == "root"


def test_a_duplicate_mrn_shows_beside_the_field(admin_client, site_a):
    PatientFactory(site=site_a, mrn="DUP")

    response = admin_client.post(
        "/admin/registry/patient/add/",
        {"site": site_a.pk, "mrn": "DUP", "birth_date": "1950-02-03", "sex": "male", "primary_cancer": "renal"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "mrn": ["A patient with this MRN already exists at this site."]
    }
    assert Patient.objects.count() == 1


def _procedure_post(patient, treatment, screws):
    data = {
        "patient": patient.pk,
        "date": "2023-04-05",
        "treatment": treatment,
        "fracture_status": "pathological",
        "ablation": "none",
        "service": "orthopaedics",
        "indications": "",
        "screws-TOTAL_FORMS": str(len(screws)),
        "screws-INITIAL_FORMS": "0",
        "screws-MIN_NUM_FORMS": "0",
        "screws-MAX_NUM_FORMS": "1000",
    }
    for i, screw in enumerate(screws):
        data.update({f"screws-{i}-{key}": value for key, value in screw.items()})
    return data


def test_a_psfs_procedure_with_screws_is_saved_by_the_service(admin_client, site_a):
    patient = PatientFactory(site=site_a)
    screw = {"corridor": "S1", "trajectory": "iliosacral", "side": "left", "diameter_mm": "7.3", "fully_threaded": "on"}

    refused = admin_client.post("/admin/registry/procedure/add/", _procedure_post(patient, "psfs", []))
    assert refused.status_code == 200
    assert refused.context["inline_admin_formsets"][0].formset.non_form_errors() == [
        "A PSFS procedure needs at least one screw."
    ]
    assert Procedure.objects.count() == 0

    saved = admin_client.post("/admin/registry/procedure/add/", _procedure_post(patient, "psfs", [screw, screw]))

    assert saved.status_code == 302
    procedure = Procedure.objects.get()
    assert procedure.screws.count() == 2
    assert procedure.version == 1


# --- Reason for change and optimistic locking in the admin -------------------------------------

REASON_MESSAGE = "Give the reason for this change; it is kept in the audit trail."


def _patient_change_post(page, **changes) -> dict:
    """The change form as the browser would post it back, from the page it rendered."""
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            value = ""
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        data[name] = value
    data.update(changes)
    return data


def test_the_patient_change_form_asks_for_a_reason(admin_client, site_a):
    patient = PatientFactory(site=site_a, mrn="R-1")
    url = f"/admin/registry/patient/{patient.pk}/change/"
    page = admin_client.get(url)
    assert page.context["adminform"].form.fields["change_reason"].required is True

    refused = admin_client.post(url, _patient_change_post(page, mrn="R-2", change_reason="  "))

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"change_reason": ["This field is required."]}
    assert Patient.objects.get(pk=patient.pk).mrn == "R-1"

    saved = admin_client.post(url, _patient_change_post(page, mrn="R-2", change_reason="Typo in the MRN"))

    assert saved.status_code == 302
    fresh = Patient.objects.get(pk=patient.pk)
    assert (fresh.mrn, fresh.version) == ("R-2", 2)
    event = Patient.pgh_event_models["update"].objects.filter(pgh_obj_id=patient.pk).latest("pgh_id")
    assert event.pgh_context.metadata["reason"] == "Typo in the MRN"
    assert event.pgh_context.metadata["username"] == "root"


def test_the_admin_refuses_a_stale_patient_change_form(admin_client, site_a, personas):
    patient = PatientFactory(site=site_a, mrn="S-1")
    url = f"/admin/registry/patient/{patient.pk}/change/"
    page = admin_client.get(url)
    services.patient_update(user=personas["alice"], patient=patient, data={"mrn": "S-CLINICIAN"}, reason="Chart")

    response = admin_client.post(url, _patient_change_post(page, mrn="S-ADMIN", change_reason="Cleanup"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == [
        "This record was changed by someone else (version 1 was edited, the record is now at version 2). "
        "Reload it and apply your change again."
    ]
    fresh = Patient.objects.get(pk=patient.pk)
    assert (fresh.mrn, fresh.version) == ("S-CLINICIAN", 2)


def test_the_admin_refuses_a_stale_procedure_change_form(admin_client, site_a, personas):
    patient = PatientFactory(site=site_a)
    screw = {"corridor": "S1", "trajectory": "iliosacral", "side": "left", "diameter_mm": "7.3", "fully_threaded": True}
    procedure = services.procedure_create(
        user=None,
        patient=patient,
        date=datetime.date(2023, 4, 5),
        treatment="psfs",
        fracture_status="pathological",
        service="orthopaedics",
        screws=[screw],
    )
    url = f"/admin/registry/procedure/{procedure.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["adminform"].form["edited_version"].value() == 1
    services.procedure_update(user=personas["alice"], procedure=procedure, data={"ablation": "rfa"}, reason="Op note")

    data = _procedure_post(patient, "psfs", [{**screw, "fully_threaded": "on"}])
    data.update({"ablation": "cryo", "edited_version": "1", "change_reason": "Cleanup"})
    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This record was changed by someone else (version 1 was edited, the record is now at version 2). "
        "Reload it and apply your change again."
    ]
    fresh = Procedure.objects.get(pk=procedure.pk)
    assert (fresh.ablation, fresh.version, fresh.screws.count()) == ("rfa", 2, 1)


def test_the_admin_refuses_a_stale_encounter_change_form(admin_client, site_a, personas):
    encounter = EncounterFactory(procedure__patient__site=site_a, msts_pain=3)
    url = f"/admin/outcomes/encounter/{encounter.pk}/change/"
    page = admin_client.get(url)
    outcome_services.encounter_update(user=personas["alice"], encounter=encounter, data={"msts_pain": 1}, reason="x")

    response = admin_client.post(url, _patient_change_post(page, msts_pain="5", change_reason="Cleanup"))

    assert response.status_code == 200
    assert len(response.context["adminform"].form.non_field_errors()) == 1
    fresh = Encounter.objects.get(pk=encounter.pk)
    assert (fresh.msts_pain, fresh.version) == (1, 2)


@pytest.mark.parametrize(
    "path",
    [
        "registry/patient",
        "registry/procedure",
        "outcomes/encounter",
        "outcomes/secondaryprocedure",
        "outcomes/complication",
    ],
)
def test_every_clinical_change_form_carries_the_version_and_a_reason(admin_client, site_a, path):
    encounter = EncounterFactory(procedure__patient__site=site_a)
    procedure = encounter.procedure
    secondary = outcome_services.secondary_procedure_create(
        user=None, procedure=procedure, date=procedure.date + datetime.timedelta(days=40), kind="radiation"
    )
    complication = outcome_services.complication_create(
        user=None, procedure=procedure, date=procedure.date + datetime.timedelta(days=41), kind="infection"
    )
    record = {
        "registry/patient": procedure.patient,
        "registry/procedure": procedure,
        "outcomes/encounter": encounter,
        "outcomes/secondaryprocedure": secondary,
        "outcomes/complication": complication,
    }[path]

    page = admin_client.get(f"/admin/{path}/{record.pk}/change/")

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert form.fields["change_reason"].required is True
    assert form["edited_version"].value() == record.version
    assert 'name="edited_version"' in page.content.decode()
    assert 'name="change_reason"' in page.content.decode()
    add_page = admin_client.get(f"/admin/{path}/add/")
    assert "change_reason" not in add_page.context["adminform"].form.fields


@pytest.mark.parametrize(
    "path",
    [
        "registry/patient",
        "registry/procedure",
        "outcomes/encounter",
        "outcomes/secondaryprocedure",
        "outcomes/complication",
    ],
)
def test_the_admin_retracts_a_clinical_record_one_at_a_time_and_only_with_a_reason(admin_client, site_a, path):
    encounter = EncounterFactory(procedure__patient__site=site_a)
    procedure = encounter.procedure
    secondary = outcome_services.secondary_procedure_create(
        user=None, procedure=procedure, date=procedure.date + datetime.timedelta(days=40), kind="radiation"
    )
    complication = outcome_services.complication_create(
        user=None, procedure=procedure, date=procedure.date + datetime.timedelta(days=41), kind="infection"
    )
    record = {
        "registry/patient": procedure.patient,
        "registry/procedure": procedure,
        "outcomes/encounter": encounter,
        "outcomes/secondaryprocedure": secondary,
        "outcomes/complication": complication,
    }[path]
    model = type(record)

    page = admin_client.get(f"/admin/{path}/{record.pk}/delete/")
    without_reason = admin_client.post(f"/admin/{path}/{record.pk}/delete/", {"post": "yes", "change_reason": " "})
    bulk = admin_client.post(
        f"/admin/{path}/", {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"}
    )
    changelist = admin_client.get(f"/admin/{path}/")

    assert page.status_code == 200
    assert 'name="change_reason"' in page.content.decode()
    assert without_reason.status_code == 200
    assert without_reason.context["form"].errors == {"change_reason": ["This field is required."]}
    assert "delete_selected" not in changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert bulk.status_code in (200, 302)
    assert model.objects.filter(pk=record.pk).exists()
    assert Patient.objects.count() == 1
    assert (Encounter.objects.count(), SecondaryProcedure.objects.count(), Complication.objects.count()) == (1, 1, 1)

    retracted = admin_client.post(
        f"/admin/{path}/{record.pk}/delete/", {"post": "yes", "change_reason": "Entered in error: duplicate"}
    )

    assert retracted.status_code == 302
    assert retracted["Location"] == f"/admin/{path}/"
    assert not model.objects.filter(pk=record.pk).exists()
    event = model.pgh_event_model.objects.get(pgh_obj_id=record.pk, pgh_label="delete")
    assert event.pgh_context.metadata["reason"] == "Entered in error: duplicate"


def test_the_admin_retract_page_lists_what_goes_with_a_patient(admin_client, site_a):
    encounter = EncounterFactory(procedure__patient__site=site_a)
    patient = encounter.procedure.patient

    page = admin_client.get(f"/admin/registry/patient/{patient.pk}/delete/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Procedures: 1" in text
    assert "Encounters: 1" in text


def test_a_change_slipping_in_after_the_form_check_is_refused(admin_client, site_a, personas, monkeypatch):
    from django import forms

    from registry import admin as registry_admin

    patient = PatientFactory(site=site_a, mrn="L-1")
    url = f"/admin/registry/patient/{patient.pk}/change/"
    page = admin_client.get(url)
    services.patient_update(user=personas["alice"], patient=patient, data={"mrn": "L-CLINICIAN"}, reason="Chart")
    # The form's own check passes (as if the clinician saved between the check and the save).
    monkeypatch.setattr(registry_admin.ClinicalChangeForm, "clean", forms.ModelForm.clean)

    response = admin_client.post(url, _patient_change_post(page, mrn="L-ADMIN", change_reason="Cleanup"))

    assert response.status_code == 302
    assert response["Location"] == url
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "This record was changed by someone else (version 1 was edited, the record is now at version 2). "
        "Reload it and apply your change again."
    ]
    fresh = Patient.objects.get(pk=patient.pk)
    assert (fresh.mrn, fresh.version) == ("L-CLINICIAN", 2)


def test_a_site_code_differing_only_in_case_is_a_duplicate_beside_the_field(admin_client, site_a):
    """Site codes are matched in any case everywhere: "sitea" is SITEA, and the admin says so."""
    before = sorted(Site.objects.values_list("code", flat=True))

    response = admin_client.post("/admin/registry/site/add/", {"code": "sitea", "name": "Another hospital"})

    assert response.status_code == 200
    assert "Site with this Code already exists." in response.content.decode()
    assert sorted(Site.objects.values_list("code", flat=True)) == before


def test_a_new_site_code_is_stored_upper_case_from_the_admin(admin_client):
    response = admin_client.post("/admin/registry/site/add/", {"code": " mcw ", "name": "Medical College"})

    assert response.status_code == 302
    assert Site.objects.get(name="Medical College").code == "MCW"

"""The admin writes through the services: same rules, same audit trail."""

import pytest

from registry.models import Patient, Procedure
from registry.tests.factories import PatientFactory

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

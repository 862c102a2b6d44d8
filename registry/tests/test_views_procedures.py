"""Procedure form with its screws: the service's rules beside the fields, stale edits refused."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from core.web import STALE_MESSAGE
from registry.models import Procedure, Screw
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a)


def procedure_data(**changes):
    data = {
        "date": "2024-01-10",
        "treatment": "psfs",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "rfa",
        "prior_local_radiation": "on",
        "cement_volume_ml": "12.5",
        "approach": "",
        "indications": ["destructive_lesion", "mechanical_pain"],
        "screws-TOTAL_FORMS": "2",
        "screws-INITIAL_FORMS": "0",
        "screws-MIN_NUM_FORMS": "0",
        "screws-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


def screw(index, corridor="S1", trajectory="transsacral", side="left", diameter="7.3", fully_threaded=True):
    data = {
        f"screws-{index}-corridor": corridor,
        f"screws-{index}-trajectory": trajectory,
        f"screws-{index}-side": side,
        f"screws-{index}-diameter_mm": diameter,
    }
    if fully_threaded:
        data[f"screws-{index}-fully_threaded"] = "on"
    return data


def snapshot():
    return (list(Procedure.objects.order_by("pk").values()), list(Screw.objects.order_by("pk").values()))


def test_a_clinician_records_a_psfs_procedure_with_two_screws(client, personas, patient_a):
    client.force_login(personas["alice"])
    data = procedure_data(**screw(0), **screw(1, corridor="S2", trajectory="iliosacral", side="right", diameter="8.0"))

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), data)

    procedure = Procedure.objects.get()
    assert response.status_code == 302
    assert response.url == f"{reverse('patient_detail', args=[patient_a.pk])}#procedure-{procedure.pk}"
    assert (procedure.treatment, procedure.ablation, procedure.prior_local_radiation) == ("psfs", "rfa", True)
    assert procedure.indications == ["destructive_lesion", "mechanical_pain"]
    assert procedure.cement_volume_ml == Decimal("12.5")
    assert list(procedure.screws.values_list("corridor", "trajectory", "side", "diameter_mm", "fully_threaded")) == [
        ("S1", "transsacral", "left", Decimal("7.3"), True),
        ("S2", "iliosacral", "right", Decimal("8.0"), True),
    ]


def test_the_page_names_the_treatment_with_screws_for_its_script(client, personas, patient_a):
    """forms.js shows the screw rows for the treatment the page names, not for a copy of the code."""
    client.force_login(personas["alice"])

    response = client.get(reverse("procedure_create", args=[patient_a.pk]))

    assert response.status_code == 200
    assert 'data-screws data-screws-for="psfs"' in response.content.decode()


def test_psfs_without_a_screw_is_refused_and_nothing_is_stored(client, personas, patient_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), procedure_data())

    assert response.status_code == 200
    assert response.context["screw_errors"] == ["A PSFS procedure needs at least one screw."]
    assert "A PSFS procedure needs at least one screw." in response.content.decode()
    assert snapshot() == ([], [])


def test_sacroplasty_with_a_screw_is_refused(client, personas, patient_a):
    client.force_login(personas["alice"])

    response = client.post(
        reverse("procedure_create", args=[patient_a.pk]), procedure_data(treatment="sacroplasty", **screw(0))
    )

    assert response.status_code == 200
    assert response.context["screw_errors"] == ["Sacroplasty alone has no screws: remove them or choose PSFS."]
    assert snapshot() == ([], [])


def test_a_sacroplasty_whose_screw_rows_were_not_sent_is_saved_without_screws(client, personas, patient_a):
    """The form disables the screw fieldset for sacroplasty, so the browser sends no screw field."""
    client.force_login(personas["alice"])

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), procedure_data(treatment="sacroplasty"))

    assert response.status_code == 302
    assert Procedure.objects.get().treatment == "sacroplasty"
    assert not Screw.objects.exists()


def test_a_bad_screw_and_a_bad_date_are_shown_and_entries_kept(client, personas, patient_a):
    client.force_login(personas["alice"])
    data = procedure_data(date="1950-01-01", **screw(0, diameter="14"))

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].errors["date"] == ["Procedure date cannot be before the patient's date of birth."]
    assert response.context["screw_errors"] == [
        "Screw 1, diameter_mm: Screw diameter must be more than 0 and at most 12 mm."
    ]
    assert 'value="14"' in response.content.decode()
    assert snapshot() == ([], [])


def test_the_edit_page_shows_the_screws_and_one_empty_row(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2024, 1, 10))
    client.force_login(personas["alice"])

    response = client.get(reverse("procedure_edit", args=[procedure.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="screws-TOTAL_FORMS" value="2"' in page
    assert '<option value="S1" selected>' in page
    assert 'name="version" value="1"' in page
    assert 'name="change_reason"' in page


def test_an_edit_without_screw_changes_leaves_the_screws_alone(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2024, 1, 10))
    screw_ids = list(procedure.screws.values_list("pk", flat=True))
    client.force_login(personas["alice"])
    data = procedure_data(
        ablation="none",
        **screw(0),
        **{"screws-INITIAL_FORMS": "2", "version": "1", "change_reason": "ablation was not done"},
    )

    response = client.post(reverse("procedure_edit", args=[procedure.pk]), data)

    assert response.status_code == 302
    assert list(procedure.screws.values_list("pk", flat=True)) == screw_ids


def test_editing_replaces_the_screws_and_records_the_reason(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2024, 1, 10))
    client.force_login(personas["bob"])
    data = procedure_data(
        **screw(0),
        **screw(1, corridor="S2"),
        **{"screws-INITIAL_FORMS": "1", "version": "1", "change_reason": "second screw missed"},
    )

    response = client.post(reverse("procedure_edit", args=[procedure.pk]), data)

    procedure.refresh_from_db()
    assert response.status_code == 302
    assert procedure.version == 2
    assert list(procedure.screws.values_list("corridor", flat=True)) == ["S1", "S2"]


def test_a_stale_procedure_edit_is_refused_with_the_fields_both_changed(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2024, 1, 10))
    client.force_login(personas["bob"])
    client.post(
        reverse("procedure_edit", args=[procedure.pk]),
        procedure_data(**screw(0), **{"screws-INITIAL_FORMS": "1", "version": "1", "change_reason": "ablation"}),
    )
    saved = snapshot()
    client.force_login(personas["alice"])

    response = client.post(
        reverse("procedure_edit", args=[procedure.pk]),
        procedure_data(
            ablation="cryo",
            **screw(0, diameter="6.5"),
            **{"screws-INITIAL_FORMS": "1", "version": "1", "change_reason": "x"},
        ),
    )

    assert response.status_code == 409
    assert response.context["stale"]["message"] == STALE_MESSAGE
    # Both changed the ablation; the screws only alice changed (bob saved them as loaded): no conflict.
    assert response.context["stale"]["differences"] == [("Ablation", "Radiofrequency (RFA)", "Cryoablation")]
    assert snapshot() == saved


def test_other_sites_and_investigators_cannot_record_a_procedure(client, personas, patient_a):
    before = snapshot()
    data = procedure_data(**screw(0))

    client.force_login(personas["charlie"])
    charlie = client.post(reverse("procedure_create", args=[patient_a.pk]), data)
    client.force_login(personas["ivy"])
    ivy = client.post(reverse("procedure_create", args=[patient_a.pk]), data)
    client.logout()
    anonymous = client.post(reverse("procedure_create", args=[patient_a.pk]), data)

    assert (charlie.status_code, ivy.status_code, anonymous.status_code) == (404, 403, 302)
    assert snapshot() == before


def test_charlie_cannot_edit_a_site_a_procedure(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a)
    before = snapshot()
    client.force_login(personas["charlie"])

    get = client.get(reverse("procedure_edit", args=[procedure.pk]))
    post = client.post(reverse("procedure_edit", args=[procedure.pk]), procedure_data(**screw(0), version="1"))

    assert (get.status_code, post.status_code) == (404, 404)
    assert snapshot() == before


def test_the_procedure_history_includes_its_screws(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2024, 1, 10))
    client.force_login(personas["alice"])

    response = client.get(reverse("record_history", args=["procedure", procedure.pk]))

    whats = [entry["what"] for entry in response.context["entries"]]
    assert response.status_code == 200
    assert whats == [f"procedure {procedure.pk}", f"screw {procedure.screws.get().pk}"]

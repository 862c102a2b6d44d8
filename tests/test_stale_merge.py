"""Two users edit one record: the second save merges field by field with the first (core.merge).

Fields only the other user changed keep their values, fields only this user changed are applied,
fields both changed differently are the only conflicts listed, and saving again never reverts the
other user's change. alice and bob: clinicians of site A.
"""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.urls import reverse

from core.web import STALE_MESSAGE
from outcomes.models import Encounter
from registry.models import Patient, Procedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def loaded(client, url) -> dict:
    """What the browser posts back for the edit page at ``url`` as it loads (its form and formset)."""
    response = client.get(url)
    assert response.status_code == 200
    form, formset = response.context["form"], response.context.get("formset")
    data = {}
    bound = list(form)
    if formset is not None:
        bound += list(formset.management_form) + [field for row in formset.forms for field in row]
    for field in bound:
        value = field.value()
        if isinstance(field.field, forms.BooleanField):
            if value:
                data[field.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[field.html_name] = [str(item) for item in value]
        elif value is None:
            data[field.html_name] = ""
        else:
            data[field.html_name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return {**data, "change_reason": "checked against the chart"}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def patient(site_a):
    return PatientFactory(site=site_a, sex="female", primary_cancer="breast")


def test_edits_of_different_fields_are_both_kept(client, personas, patient):
    url = reverse("patient_edit", args=[patient.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    bob = client.post(url, {**loaded(client, url), "primary_cancer": "lung"})
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "sex": "male"})

    patient.refresh_from_db()
    assert (bob.status_code, response.status_code) == (302, 302)
    assert (patient.sex, patient.primary_cancer, patient.version) == ("male", "lung", 3)
    assert (
        "Merged with the changes bob saved while you were editing: Primary cancer kept the value bob saved."
        in messages_of(response)
    )


def test_only_the_fields_both_changed_are_listed_and_saving_again_keeps_the_others(client, personas, patient):
    url = reverse("patient_edit", args=[patient.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "primary_cancer": "lung", "death_date": "2024-05-01"})
    saved = list(Patient.objects.values())
    client.force_login(personas["alice"])

    conflict = client.post(url, {**alice, "sex": "male", "primary_cancer": "renal"})

    assert conflict.status_code == 409
    assert conflict.context["stale"]["message"] == STALE_MESSAGE
    assert conflict.context["stale"]["differences"] == [("Primary cancer", "Lung", "Renal")]
    assert conflict.context["stale"]["taken"] == ["Death date"]
    assert conflict.context["stale"]["editors"] == ["bob"]
    assert list(Patient.objects.values()) == saved
    page = conflict.content.decode()
    assert 'name="merge_primary_cancer" value="theirs"' in page
    assert 'name="merge_version" value="2"' in page
    assert 'name="death_date" value="2024-05-01"' in page  # bob's value, shown in the form
    assert 'name="version" value="1"' in page

    # Saving again without choosing changes nothing and asks again.
    again = client.post(url, {**alice, "sex": "male", "primary_cancer": "renal"})
    assert again.status_code == 409
    assert list(Patient.objects.values()) == saved

    chosen = client.post(
        url, {**alice, "sex": "male", "primary_cancer": "renal", "merge_primary_cancer": "theirs", "merge_version": "2"}
    )

    patient.refresh_from_db()
    assert chosen.status_code == 302
    assert (patient.sex, patient.primary_cancer, patient.death_date) == ("male", "lung", datetime.date(2024, 5, 1))


def test_use_mine_saves_mine_for_a_conflict(client, personas, patient):
    url = reverse("patient_edit", args=[patient.pk])
    client.force_login(personas["alice"])
    alice = {**loaded(client, url), "primary_cancer": "renal"}
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "primary_cancer": "lung"})
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "merge_primary_cancer": "mine", "merge_version": "2"})

    patient.refresh_from_db()
    assert response.status_code == 302
    assert patient.primary_cancer == "renal"


def test_a_choice_made_before_a_further_change_is_asked_again(client, personas, patient):
    url = reverse("patient_edit", args=[patient.pk])
    client.force_login(personas["alice"])
    alice = {**loaded(client, url), "primary_cancer": "renal"}
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "primary_cancer": "lung"})
    client.post(url, {**loaded(client, url), "primary_cancer": "prostate"})  # after alice saw "lung"
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "merge_primary_cancer": "mine", "merge_version": "2"})

    patient.refresh_from_db()
    assert response.status_code == 409
    assert response.context["stale"]["differences"] == [("Primary cancer", "Prostate", "Renal")]
    assert patient.primary_cancer == "prostate"


def test_a_procedures_screws_merge_like_a_field(client, personas, patient):
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))
    url = reverse("procedure_edit", args=[procedure.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    bob = client.post(url, {**loaded(client, url), "screws-0-diameter_mm": "6.5"})
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "ablation": "cryo"})

    procedure.refresh_from_db()
    assert (bob.status_code, response.status_code) == (302, 302)
    assert procedure.ablation == "cryo"
    assert list(procedure.screws.values_list("diameter_mm", flat=True)) == [Decimal("6.5")]
    assert "Merged with the changes bob saved while you were editing: Screws kept the value bob saved." in messages_of(
        response
    )


def test_screws_both_changed_are_a_conflict(client, personas, patient):
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))
    url = reverse("procedure_edit", args=[procedure.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "screws-0-diameter_mm": "6.5"})
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "screws-0-diameter_mm": "8.0"})

    assert response.status_code == 409
    assert response.context["stale"]["differences"] == [
        ("Screws", "S1 Transiliac-transsacral left 6.5 mm", "S1 Transiliac-transsacral left 8.0 mm")
    ]
    assert list(Procedure.objects.get().screws.values_list("diameter_mm", flat=True)) == [Decimal("6.5")]


def test_two_users_score_different_domains_of_one_visit(client, personas, patient):
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))
    encounter = EncounterFactory(procedure=procedure, date=datetime.date(2024, 2, 9))
    url = reverse("encounter_edit", args=[encounter.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "msts_pain": "5"})
    client.force_login(personas["alice"])

    response = client.post(url, {**alice, "msts_gait": "1"})

    encounter = Encounter.objects.get()
    assert response.status_code == 302
    assert (encounter.msts_pain, encounter.msts_gait, encounter.version) == (5, 1, 3)


def test_without_the_loaded_version_in_the_audit_every_difference_is_a_conflict(client, personas, patient):
    url = reverse("patient_edit", args=[patient.pk])
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "primary_cancer": "lung"})
    client.force_login(personas["alice"])
    alice = {**loaded(client, url), "primary_cancer": "breast", "sex": "male", "version": "7"}  # no such version

    response = client.post(url, alice)

    patient.refresh_from_db()
    assert response.status_code == 409
    assert response.context["stale"]["differences"] == [("Sex", "Female", "Male"), ("Primary cancer", "Lung", "Breast")]
    assert (patient.sex, patient.primary_cancer) == ("female", "lung")


def test_the_other_users_screws_are_shown_when_the_page_asks_about_another_field(client, personas, patient):
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))
    url = reverse("procedure_edit", args=[procedure.pk])
    client.force_login(personas["alice"])
    alice = loaded(client, url)
    client.force_login(personas["bob"])
    client.post(url, {**loaded(client, url), "screws-0-diameter_mm": "6.5", "ablation": "rfa"})
    client.force_login(personas["alice"])

    conflict = client.post(url, {**alice, "ablation": "cryo"})
    chosen = client.post(
        url, {**loaded(client, url) | alice, "ablation": "cryo", "merge_ablation": "mine", "merge_version": "2"}
    )

    assert conflict.status_code == 409
    assert conflict.context["stale"]["differences"] == [("Ablation", "Radiofrequency (RFA)", "Cryoablation")]
    assert conflict.context["stale"]["taken"] == ["Screws"]
    assert conflict.context["formset"].forms[0]["diameter_mm"].value() == Decimal("6.5")
    procedure.refresh_from_db()
    assert chosen.status_code == 302
    assert (procedure.ablation, list(procedure.screws.values_list("diameter_mm", flat=True))) == (
        "cryo",
        [Decimal("6.5")],
    )

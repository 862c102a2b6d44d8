"""The pages staff use every day: a message after each save, required fields marked for eyes and
screen readers, error lists the inputs point at, distinct titles, the patient list's order."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "A-1001",
    "birth_date": "1958-04-02",
    "sex": "male",
    "primary_cancer": "renal",
    "primary_cancer_detail": "",
    "death_date": "",
}
SCORES = {
    "msts_pain": "1",
    "msts_function": "2",
    "msts_emotional_acceptance": "3",
    "msts_supports": "4",
    "msts_walking": "5",
    "msts_gait": "0",
}


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2024, 1, 10))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def title_of(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()


# --- A message after each save ------------------------------------------------------------


def test_saving_a_new_patient_says_so_on_the_patient_page(client, personas, site_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("patient_create"), {**NEW_PATIENT, "site": site_a.pk}, follow=True)

    patient = response.context["patient"]
    assert response.redirect_chain == [(reverse("patient_detail", args=[patient.pk]), 302)]
    assert f"Patient {patient.study_id} saved." in response.content.decode()


def test_saving_a_followup_says_so_on_the_timeline(client, personas, procedure):
    client.force_login(personas["alice"])
    data = {"kind": "followup", "date": "2024-01-24", **SCORES, "narcotic_change": "decreased"}

    response = client.post(reverse("encounter_create", args=[procedure.pk]), data)

    assert response.status_code == 302
    assert messages_of(response) == ["Follow-up saved."]


def test_saving_a_baseline_says_baseline_saved(client, personas, procedure):
    client.force_login(personas["alice"])
    data = {"kind": "baseline", "date": "2024-01-08", **SCORES}

    response = client.post(reverse("encounter_create", args=[procedure.pk]), data)

    assert response.status_code == 302
    assert messages_of(response) == ["Baseline saved."]


def test_saving_a_complication_says_so(client, personas, procedure):
    client.force_login(personas["alice"])
    complication = {"date": "2024-02-01", "kind": "infection", "description": ""}

    saved = client.post(reverse("event_create", args=[procedure.pk, "complication"]), complication)

    assert saved.status_code == 302, saved.context["form"].errors
    assert messages_of(saved) == ["Complication saved."]


def test_saving_a_procedure_says_so(client, personas, procedure):
    client.force_login(personas["alice"])
    edit = {
        "date": "2024-01-10",
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "none",
        "approach": "",
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
        "version": procedure.version,
        "change_reason": "screws were never placed",
        "confirm_warnings": "1",
    }
    response = client.post(reverse("procedure_edit", args=[procedure.pk]), edit)
    assert response.status_code == 302
    assert messages_of(response) == ["Procedure saved."]


def test_a_refused_save_shows_no_saved_message(client, personas, site_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("patient_create"), {**NEW_PATIENT, "site": site_a.pk, "sex": ""})

    assert response.status_code == 200
    assert "Patient SAC" not in response.content.decode()
    assert messages_of(response) == []


# --- Required fields ------------------------------------------------------------------------


def test_required_fields_carry_a_star_and_aria_required_optional_ones_neither(client, personas):
    client.force_login(personas["alice"])

    page = client.get(reverse("patient_create")).content.decode()

    mrn = re.search(r'<div class="field required" id="field-mrn">.*?</div>', page, re.S).group(0)
    assert '<span class="required-mark" aria-hidden="true">*</span>' in mrn
    assert re.search(r'<input[^>]*name="mrn"[^>]*aria-required="true"', mrn)
    death = re.search(r'<div class="field" id="field-death_date">.*?</div>', page, re.S).group(0)
    assert "required-mark" not in death and "aria-required" not in death
    assert "Fields marked * are required." in page


def test_a_radio_group_marks_its_legend_and_each_choice(client, personas, procedure):
    client.force_login(personas["alice"])

    page = client.get(reverse("encounter_create", args=[procedure.pk])).content.decode()

    assert re.search(r'<legend>Kind <span class="required-mark" aria-hidden="true">\*</span></legend>', page)
    assert re.search(r'<input type="radio" name="kind" value="followup"[^>]*aria-required="true"', page)
    assert not re.search(r'name="msts_pain"[^>]*aria-required', page)  # a domain may stay unscored


def test_an_error_list_has_the_id_the_input_points_at(client, personas, site_a):
    client.force_login(personas["alice"])

    page = client.post(reverse("patient_create"), {**NEW_PATIENT, "site": site_a.pk, "mrn": ""}).content.decode()

    described = re.search(r'<input[^>]*name="mrn"[^>]*aria-describedby="([^"]+)"', page).group(1)
    assert described.split() == ["id_mrn_helptext", "id_mrn_error"] or described.split() == ["id_mrn_error"]
    for target in described.split():
        assert f'id="{target}"' in page

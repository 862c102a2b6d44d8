"""The pages staff use every day: a message after each save, required fields marked for eyes and
screen readers, error lists the inputs point at, distinct titles, the patient list's order."""

import datetime
import os
import re
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from outcomes.models import Encounter
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent

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


# --- The patient list's order -------------------------------------------------------------------


@pytest.fixture
def three_patients(site_a, site_b):
    """Entered in this order: the oldest patient first, the youngest last."""
    first = PatientFactory(site=site_b, birth_date=datetime.date(1940, 1, 1))
    second = PatientFactory(site=site_a, birth_date=datetime.date(1980, 1, 1))
    third = PatientFactory(site=site_a, birth_date=datetime.date(1960, 1, 1))
    return first, second, third


def listed(response) -> list[str]:
    return [patient.study_id for patient in response.context["page"].object_list]


def test_the_patient_list_shows_the_newest_patient_first(client, personas, three_patients):
    client.force_login(personas["root"])

    response = client.get(reverse("patient_list"))

    first, second, third = three_patients
    assert listed(response) == [third.study_id, second.study_id, first.study_id]
    page = response.content.decode()
    assert re.search(
        r'<th scope="col" class="sortable nowrap" aria-sort="descending"><a href="\?sort=created">Entered', page
    )


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("study_id", (0, 1, 2)),
        ("-study_id", (2, 1, 0)),
        ("site", (1, 2, 0)),
        ("birth_date", (0, 2, 1)),
        ("-birth_date", (1, 2, 0)),
        ("created", (0, 1, 2)),
    ],
)
def test_each_column_sorts_the_patient_list(client, personas, three_patients, sort, order):
    client.force_login(personas["root"])

    response = client.get(reverse("patient_list"), {"sort": sort})

    assert listed(response) == [three_patients[i].study_id for i in order]


def test_a_sort_link_keeps_the_filters_and_goes_back_to_the_first_page(client, personas, three_patients):
    client.force_login(personas["root"])

    page = client.get(reverse("patient_list"), {"site": "SITEA", "sort": "study_id", "page": "1"}).content.decode()

    assert 'aria-sort="ascending"><a href="?site=SITEA&amp;sort=-study_id">Study ID' in page
    assert '<input type="hidden" name="sort" value="study_id">' in page


def test_investigators_sort_by_age_and_never_by_a_date(client, personas, three_patients):
    client.force_login(personas["ivy"])

    by_age = client.get(reverse("patient_list"), {"sort": "age"})
    by_birth = client.get(reverse("patient_list"), {"sort": "birth_date"})

    assert listed(by_age) == [three_patients[i].study_id for i in (1, 2, 0)]
    assert by_birth.context["sort"] == "-created"  # a column they do not see: the default order
    page = by_age.content.decode()
    assert "Entered" not in page and "Birth date" not in page


# --- Titles, icon, the audit trail's refusal ----------------------------------------------------


def test_every_page_of_a_patient_has_a_title_of_its_own(client, personas, procedure):
    client.force_login(personas["alice"])
    encounter = EncounterFactory(procedure=procedure)
    study_id = procedure.patient.study_id
    pages = {
        reverse("worklist"): "Follow-up worklist",
        reverse("patient_list"): "Patients",
        reverse("patient_create"): "New patient",
        reverse("patient_detail", args=[procedure.patient_id]): f"Patient {study_id}",
        reverse("patient_edit", args=[procedure.patient_id]): f"Edit patient {study_id}",
        reverse("procedure_create", args=[procedure.patient_id]): f"New procedure for {study_id}",
        reverse("procedure_edit", args=[procedure.pk]): f"Edit procedure of {study_id}",
        reverse("encounter_create", args=[procedure.pk]): f"New encounter for {study_id}",
        reverse("encounter_edit", args=[encounter.pk]): f"Edit encounter of {study_id}",
        reverse("event_create", args=[procedure.pk, "complication"]): f"New complication for {study_id}",
        reverse("event_create", args=[procedure.pk, "secondary-procedure"]): f"New secondary procedure for {study_id}",
        reverse("record_history", args=["encounter", encounter.pk]): f"History of encounter {encounter.pk}",
    }

    titles = {url: title_of(client.get(url).content.decode()) for url in pages}

    assert titles == {url: f"{title} · Sacral metastasis registry" for url, title in pages.items()}


def test_pages_link_the_icon_and_favicon_ico_leads_to_it(client, personas):
    client.force_login(personas["alice"])

    page = client.get(reverse("patient_list")).content.decode()
    icon = client.get("/favicon.ico")

    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    assert (icon.status_code, icon.url) == (301, "/static/img/favicon.ico")
    assert client.get("/static/img/favicon.svg").status_code == 200


def test_an_investigator_is_told_the_audit_trail_is_not_for_their_role(client, personas, procedure):
    client.force_login(personas["ivy"])

    response = client.get(reverse("record_history", args=["procedure", procedure.pk]))

    page = response.content.decode()
    assert response.status_code == 403
    assert "The audit trail is read-only, and it is not available to your role" in page
    assert "may not change" not in page


# --- The timeline: indications, times in the sites' time zone ----------------------------------


def test_the_timeline_shows_each_procedure_s_indications(client, personas, site_a):
    patient = PatientFactory(site=site_a)
    ProcedureFactory(patient=patient, indications=["mechanical_pain", "destructive_lesion"])
    ProcedureFactory(patient=patient, date=datetime.date(2023, 9, 1), indications=[])
    client.force_login(personas["ivy"])  # coded values, not free text: investigators see them too

    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()

    assert "<dt>Indications</dt><dd>Large destructive lesion, Mechanical pain limiting ambulation</dd>" in page
    assert "<dt>Indications</dt><dd>—</dd>" in page


@pytest.mark.parametrize("zone", ["America/Chicago", "Europe/Berlin"])
def test_entry_and_audit_times_are_shown_in_the_sites_time_zone(client, personas, site_a, settings, zone):
    settings.TIME_ZONE = zone
    patient = PatientFactory(site=site_a)
    client.force_login(personas["alice"])

    timeline = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    history = client.get(reverse("record_history", args=["patient", patient.pk])).content.decode()

    local = timezone.localtime(patient.created_at, zoneinfo.ZoneInfo(zone))
    assert local.utcoffset() != datetime.timedelta(0)
    assert f'<dt>Entered</dt><dd><time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M %Z}</time>' in timeline
    assert f"{local:%Y-%m-%d %H:%M}" in history and f" {local:%Z}</td>" in history
    assert "UTC" not in history


def test_investigators_see_no_entry_time(client, personas, site_a):
    patient = PatientFactory(site=site_a)
    client.force_login(personas["ivy"])

    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()

    assert "Entered" not in page and "Last changed" not in page


def test_the_sites_time_zone_is_the_setting_or_the_machines_and_a_wrong_one_stops_the_start():
    from django.conf import settings

    assert settings.USE_TZ is True

    def zone_with(**env):
        environment = {key: value for key, value in os.environ.items() if key != "TIME_ZONE"} | env
        code = "import config.settings as s; print(s.TIME_ZONE)"
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
        )
        return done.stdout.strip()

    assert zone_with(TIME_ZONE="Europe/Berlin") == "Europe/Berlin"
    machine = zone_with()
    assert (
        zoneinfo.ZoneInfo(machine).utcoffset(datetime.datetime(2026, 1, 1))
        == datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).astimezone().utcoffset()
    )
    env = {**os.environ, "TIME_ZONE": "Mars/Olympus_Mons"}
    process = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert process.returncode != 0
    assert "TIME_ZONE must be an IANA time zone name" in process.stderr


# --- MSTS: unscored at first, a partial score asked about ------------------------------------


def test_each_msts_domain_starts_as_not_scored(client, personas, procedure):
    client.force_login(personas["alice"])

    form = client.get(reverse("encounter_create", args=[procedure.pk])).context["form"]

    for field in SCORES:
        assert [(radio.data["value"], radio.data["selected"]) for radio in form[field]][-1] == ("", True)
        assert not any(radio.data["selected"] for radio in form[field] if radio.data["value"] != "")


PARTIAL = {**SCORES, "msts_walking": "", "msts_gait": ""}
PARTIAL_WARNING = (
    "MSTS: 4 of 6 domains scored (not scored: walking ability, gait); "
    "the total stays undefined until all six are scored."
)


def test_a_partial_msts_asks_for_confirmation_and_saves_nothing(client, personas, procedure):
    client.force_login(personas["alice"])
    data = {"kind": "followup", "date": "2024-01-24", **PARTIAL, "narcotic_change": "decreased"}

    response = client.post(reverse("encounter_create", args=[procedure.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].confirmation_warnings == [PARTIAL_WARNING]
    page = response.content.decode()
    assert PARTIAL_WARNING in page and 'name="confirm_warnings"' in page
    assert not Encounter.objects.exists()


def test_a_confirmed_partial_msts_is_saved_without_a_total(client, personas, procedure):
    client.force_login(personas["alice"])
    data = {"kind": "followup", "date": "2024-01-24", **PARTIAL, "narcotic_change": "decreased"}

    response = client.post(reverse("encounter_create", args=[procedure.pk]), {**data, "confirm_warnings": "1"})

    assert response.status_code == 302
    encounter = Encounter.objects.get()
    assert (encounter.msts_walking, encounter.msts_gait, encounter.msts_total) == (None, None, None)
    assert encounter.msts_pain == 1


def test_no_question_for_a_complete_or_an_unscored_msts(client, personas, procedure):
    client.force_login(personas["alice"])
    unscored = dict.fromkeys(SCORES, "")

    complete = client.post(
        reverse("encounter_create", args=[procedure.pk]), {"kind": "baseline", "date": "2024-01-08", **SCORES}
    )
    none = client.post(
        reverse("encounter_create", args=[procedure.pk]),
        {"kind": "followup", "date": "2024-01-24", **unscored, "narcotic_change": "decreased"},
    )

    assert (complete.status_code, none.status_code) == (302, 302)
    assert Encounter.objects.count() == 2


def test_an_edit_that_leaves_a_partial_score_alone_is_not_asked_again(client, personas, procedure):
    encounter = EncounterFactory(procedure=procedure, msts_walking=None, msts_gait=None, narcotic_change="stable")
    client.force_login(personas["alice"])
    data = {
        "kind": "followup",
        "date": encounter.date.isoformat(),
        **PARTIAL,
        "msts_pain": "3",
        "msts_function": "3",
        "msts_emotional_acceptance": "3",
        "msts_supports": "3",
        "narcotic_change": "decreased",
        "version": encounter.version,
        "change_reason": "narcotics were in fact reduced",
    }

    kept = client.post(reverse("encounter_edit", args=[encounter.pk]), data)
    encounter.refresh_from_db()
    rescored = client.post(
        reverse("encounter_edit", args=[encounter.pk]), {**data, "msts_pain": "2", "version": encounter.version}
    )

    assert kept.status_code == 302
    assert rescored.status_code == 200
    assert rescored.context["form"].confirmation_warnings == [PARTIAL_WARNING]
    encounter.refresh_from_db()
    assert (encounter.narcotic_change, encounter.msts_pain) == ("decreased", 3)

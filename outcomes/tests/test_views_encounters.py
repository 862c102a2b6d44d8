"""Encounter (MSTS), secondary procedure and complication forms, for each persona."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.web import STALE_MESSAGE
from outcomes.models import Complication, Encounter, SecondaryProcedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PROCEDURE_DAY = datetime.date(2024, 1, 10)
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
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=PROCEDURE_DAY)


def snapshot():
    return (
        list(Encounter.objects.order_by("pk").values()),
        list(SecondaryProcedure.objects.order_by("pk").values()),
        list(Complication.objects.order_by("pk").values()),
    )


def encounter_data(**changes):
    data = {
        "kind": "followup",
        "date": "2024-01-24",
        **SCORES,
        "narcotic_change": "decreased",
        "opioid_mme_per_day": "",
    }
    return {**data, **changes}


def test_the_form_offers_each_domain_0_to_5_with_the_descriptors(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.get(reverse("encounter_create", args=[procedure.pk]), {"kind": "followup", "date": "2024-01-20"})

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"]["kind"].value() == "followup"
    assert response.context["form"]["date"].value() == datetime.date(2024, 1, 20)
    assert page.count('type="radio" name="msts_pain"') == 7  # 0-5 and "not scored"
    assert '<span class="descriptor">Severe, disabling</span>' in page
    assert '<span class="descriptor">Two canes or crutches</span>' in page
    assert page.count('<span class="descriptor">in between</span>') == 12  # 2 and 4 of six domains
    assert "Total: not defined (0 of 6 domains scored)" in page
    assert 'src="/static/js/forms.js"' in page and "<script>" not in page and "onclick" not in page


def test_a_clinician_records_a_followup_with_its_msts(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.post(reverse("encounter_create", args=[procedure.pk]), encounter_data(opioid_mme_per_day="30"))

    encounter = Encounter.objects.get()
    assert response.status_code == 302
    assert response.url == f"{reverse('patient_detail', args=[procedure.patient_id])}#procedure-{procedure.pk}"
    assert (encounter.kind, encounter.msts_total, encounter.msts_percent) == ("followup", 15, 50.0)
    assert (encounter.narcotic_change, str(encounter.opioid_mme_per_day)) == ("decreased", "30.0")


def test_an_unscored_domain_leaves_the_total_undefined(client, personas, procedure):
    client.force_login(personas["alice"])

    # A partial score is asked about first (tests/test_staff_pages.py); here it is confirmed.
    client.post(reverse("encounter_create", args=[procedure.pk]), encounter_data(msts_gait="", confirm_warnings="1"))

    encounter = Encounter.objects.get()
    assert (encounter.msts_gait, encounter.msts_total) == (None, None)


def test_the_rules_of_the_service_are_shown_beside_their_fields_and_entries_kept(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.post(
        reverse("encounter_create", args=[procedure.pk]),
        encounter_data(kind="baseline", date="2024-01-24", narcotic_change="stable"),
    )

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert errors["date"] == ["A baseline encounter must be on or before the procedure date."]
    assert errors["narcotic_change"] == ["Narcotic change is recorded at follow-ups only."]
    page = response.content.decode()
    assert 'value="2024-01-24"' in page
    assert "Total: 15 / 30 (50.0%)" in page
    assert 'name="msts_walking" value="5" data-msts-domain="msts_walking" id="id_msts_walking_5" checked' in page
    assert snapshot() == ([], [], [])


def test_an_out_of_range_score_is_refused(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.post(reverse("encounter_create", args=[procedure.pk]), encounter_data(msts_pain="6"))

    assert response.status_code == 200
    assert response.context["form"].errors["msts_pain"] == [
        "Select a valid choice. 6 is not one of the available choices."
    ]
    assert snapshot() == ([], [], [])


def test_a_second_baseline_is_refused(client, personas, procedure):
    EncounterFactory(procedure=procedure, kind="baseline")
    before = snapshot()
    client.force_login(personas["alice"])

    response = client.post(
        reverse("encounter_create", args=[procedure.pk]),
        encounter_data(kind="baseline", date="2024-01-09", narcotic_change=""),
    )

    assert response.context["form"].errors["kind"] == ["This procedure already has a baseline encounter."]
    assert snapshot() == before


def test_a_colleague_edits_an_encounter_and_a_stale_edit_is_refused(client, personas, procedure):
    encounter = EncounterFactory(procedure=procedure, date=datetime.date(2024, 1, 24))
    client.force_login(personas["bob"])
    bob = client.post(
        reverse("encounter_edit", args=[encounter.pk]),
        encounter_data(msts_pain="5", version="1", change_reason="pain misread"),
    )
    saved = snapshot()
    client.force_login(personas["alice"])

    alice = client.post(
        reverse("encounter_edit", args=[encounter.pk]),
        encounter_data(msts_pain="0", version="1", change_reason="late entry"),
    )

    assert bob.status_code == 302
    assert alice.status_code == 409
    assert alice.context["stale"]["message"] == STALE_MESSAGE
    assert alice.context["stale"]["differences"] == [("Pain", "5", "0")]
    assert snapshot() == saved
    encounter.refresh_from_db()
    assert (encounter.msts_pain, encounter.version) == (5, 2)


@pytest.mark.parametrize(
    ("user", "status"),
    [("charlie", 404), ("ivy", 403)],
)
def test_other_sites_and_investigators_cannot_use_the_outcome_forms(client, personas, procedure, user, status):
    encounter = EncounterFactory(procedure=procedure, date=datetime.date(2024, 1, 24))
    complication = Complication.objects.create(procedure=procedure, date=datetime.date(2024, 2, 1), kind="infection")
    before = snapshot()
    client.force_login(personas[user])
    posts = [
        (reverse("encounter_create", args=[procedure.pk]), encounter_data()),
        (reverse("encounter_edit", args=[encounter.pk]), encounter_data(version="1", change_reason="x")),
        (
            reverse("event_create", args=[procedure.pk, "secondary-procedure"]),
            {"date": "2024-02-01", "kind": "radiation"},
        ),
        (reverse("event_create", args=[procedure.pk, "complication"]), {"date": "2024-02-01", "kind": "infection"}),
        (
            reverse("event_edit", args=["complication", complication.pk]),
            {"date": "2024-02-01", "kind": "other", "version": "1", "change_reason": "x"},
        ),
    ]

    statuses = [client.post(url, data).status_code for url, data in posts]
    gets = [client.get(url).status_code for url, _ in posts]

    assert statuses == [status] * 5
    assert gets == [status] * 5
    assert snapshot() == before


def test_a_clinician_records_a_secondary_procedure_and_a_complication(client, personas, procedure):
    client.force_login(personas["alice"])

    secondary = client.post(
        reverse("event_create", args=[procedure.pk, "secondary-procedure"]),
        {"date": "2024-04-10", "kind": "si_joint_injection", "reason": "persistent SI pain"},
    )
    complication = client.post(
        reverse("event_create", args=[procedure.pk, "complication"]),
        {"date": "2024-06-10", "kind": "screw_backout", "description": "S1 screw", "resolved": "on"},
    )

    assert (secondary.status_code, complication.status_code) == (302, 302)
    assert list(SecondaryProcedure.objects.values_list("kind", "reason")) == [
        ("si_joint_injection", "persistent SI pain")
    ]
    assert list(Complication.objects.values_list("kind", "description", "resolved")) == [
        ("screw_backout", "S1 screw", True)
    ]
    page = client.get(reverse("patient_detail", args=[procedure.patient_id])).content.decode()
    assert "Secondary procedure: Sacroiliac joint steroid injection" in page
    assert "Complication: Screw back-out" in page


def test_an_event_before_the_procedure_is_refused(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.post(
        reverse("event_create", args=[procedure.pk, "complication"]), {"date": "2024-01-10", "kind": "infection"}
    )

    assert response.context["form"].errors["date"] == ["The date must be after the procedure date."]
    assert snapshot() == ([], [], [])


def test_a_stale_complication_edit_keeps_the_change_it_did_not_make(client, personas, procedure):
    complication = Complication.objects.create(procedure=procedure, date=datetime.date(2024, 2, 1), kind="infection")
    Complication.objects.filter(pk=complication.pk).update(version=2, resolved=True)
    before = snapshot()
    client.force_login(personas["alice"])

    # alice loaded version 1 (not resolved) and changed nothing: saving must not undo "resolved".
    response = client.post(
        reverse("event_edit", args=["complication", complication.pk]),
        {"date": "2024-02-01", "kind": "infection", "description": "", "version": "1", "change_reason": "x"},
    )

    assert response.status_code == 302
    assert snapshot() == before
    assert (
        "Merged with the changes someone else saved while you were editing: Resolved kept the value someone else saved."
        in [str(m) for m in get_messages(response.wsgi_request)]
    )


def test_the_edit_page_shows_the_current_scores_and_total(client, personas, procedure):
    encounter = EncounterFactory(procedure=procedure, date=datetime.date(2024, 1, 24), msts_gait=0)
    client.force_login(personas["bob"])

    response = client.get(reverse("encounter_edit", args=[encounter.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Total: 15 / 30 (50.0%)" in page
    assert 'value="0" data-msts-domain="msts_gait" id="id_msts_gait_0" checked' in page
    assert 'name="version" value="1"' in page


def test_the_history_of_a_complication_shows_the_reason_of_each_change(client, personas, procedure):
    client.force_login(personas["alice"])
    client.post(
        reverse("event_create", args=[procedure.pk, "complication"]),
        {"date": "2024-02-01", "kind": "infection", "description": "wound"},
    )
    complication = Complication.objects.get()
    client.post(
        reverse("event_edit", args=["complication", complication.pk]),
        {
            "date": "2024-02-01",
            "kind": "infection",
            "description": "wound",
            "resolved": "on",
            "version": "1",
            "change_reason": "healed at review",
        },
    )

    response = client.get(reverse("record_history", args=["complication", complication.pk]))
    client.force_login(personas["ivy"])
    refused = client.get(reverse("record_history", args=["complication", complication.pk]))
    client.force_login(personas["charlie"])
    hidden = client.get(reverse("record_history", args=["complication", complication.pk]))

    entries = [(e["label"], e["username"], e["reason"], e["changes"]) for e in response.context["entries"]]
    assert entries == [
        (
            "insert",
            "alice",
            "",
            [
                ("date", None, "2024-02-01"),
                ("kind", None, "Infection"),
                ("description", None, "wound"),
                ("resolved", None, "no"),
            ],
        ),
        ("update", "alice", "healed at review", [("resolved", "no", "yes")]),
    ]
    assert (refused.status_code, hidden.status_code) == (403, 404)

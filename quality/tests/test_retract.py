"""Retraction ("entered in error") of every record a clinician edits: the page, its reason and
confirmation, the cascade's audit, the history readable afterwards and the timeline's list.

alice and bob: clinicians of site A; charlie: clinician of site B; ivy: investigator; root: admin.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from quality.selectors_retracted import event_model
from registry.models import Patient, PhiAccess, Procedure, Screw
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

REASON = "duplicate follow-up entered twice"


@pytest.fixture
def patient(site_a):
    return PatientFactory(site=site_a, mrn="MRN-R-1")


@pytest.fixture
def procedure(patient):
    return ProcedureFactory(patient=patient, date=datetime.date(2024, 1, 10))


@pytest.fixture
def records(procedure):
    """One record of each kind that hangs on a procedure."""
    return {
        "encounter": EncounterFactory(procedure=procedure, date=datetime.date(2024, 2, 9)),
        "secondary-procedure": outcome_services.secondary_procedure_create(
            user=None, procedure=procedure, date=datetime.date(2024, 3, 1), kind="radiation", reason="pain"
        ),
        "complication": outcome_services.complication_create(
            user=None, procedure=procedure, date=datetime.date(2024, 2, 1), kind="infection", description="wound"
        ),
        "visit-not-done": outcome_services.visit_not_done_create(
            user=None, procedure=procedure, visit="month3", reason="too_ill"
        ),
    }


def counts() -> dict:
    models = (Patient, Procedure, Screw, Encounter, SecondaryProcedure, Complication, VisitNotDone)
    return {model.__name__: model.objects.count() for model in models}


def delete_events(model):
    return list(event_model(model).objects.filter(pgh_label="delete").select_related("pgh_context"))


# --- The page and the service behind it -------------------------------------------------------

KIND_MESSAGES = {
    "encounter": "Follow-up retracted.",
    "secondary-procedure": "Secondary procedure retracted.",
    "complication": "Complication retracted.",
    "visit-not-done": "Visit not done retracted.",
}


@pytest.mark.parametrize("kind", list(KIND_MESSAGES))
def test_a_clinician_retracts_a_record_with_a_reason(client, personas, procedure, records, kind):
    record = records[kind]
    client.force_login(personas["alice"])

    page = client.get(reverse("record_retract", args=[kind, record.pk]))
    response = client.post(reverse("record_retract", args=[kind, record.pk]), {"change_reason": REASON})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response.url == f"{reverse('patient_detail', args=[procedure.patient_id])}#retracted"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [KIND_MESSAGES[kind]]
    assert not type(record).objects.filter(pk=record.pk).exists()
    (event,) = delete_events(type(record))
    assert event.pgh_obj_id == record.pk
    assert event.pgh_context.metadata["reason"] == REASON
    assert event.pgh_context.metadata["username"] == "alice"


@pytest.mark.parametrize("kind", list(KIND_MESSAGES))
def test_a_retraction_needs_a_reason(client, personas, records, kind):
    record = records[kind]
    before = counts()
    client.force_login(personas["alice"])

    response = client.post(reverse("record_retract", args=[kind, record.pk]), {"change_reason": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["change_reason"] == ["This field is required."]
    assert counts() == before


def test_the_page_shows_the_record_and_asks_for_the_reason(client, personas, records):
    client.force_login(personas["alice"])

    response = client.get(reverse("record_retract", args=["complication", records["complication"].pk]))

    page = response.content.decode()
    assert "Retract complication (entered in error)" in page
    assert ("Kind", "Infection") in response.context["summary"]
    assert ("Date", "2024-02-01") in response.context["summary"]
    assert 'name="change_reason"' in page
    assert response.context["groups"] == []
    assert "confirm_dependents" not in response.context["form"].fields


def test_a_procedure_lists_what_goes_with_it_and_asks_for_confirmation(client, personas, procedure, records):
    client.force_login(personas["alice"])
    url = reverse("record_retract", args=["procedure", procedure.pk])
    before = counts()

    page = client.get(url)
    unconfirmed = client.post(url, {"change_reason": REASON})

    groups = {g.label: list(g.rows) for g in page.context["groups"]}
    assert groups == {
        "Screws": ["S1 Transiliac-transsacral left 7.3 mm"],
        "Encounters": ["2024-02-09 · Follow-up"],
        "Visits not done": ["3 months"],
        "Secondary procedures": ["2024-03-01 · Radiotherapy"],
        "Complications": ["2024-02-01 · Infection"],
    }
    assert "I understand that the 5 records listed above are retracted with it." in page.content.decode()
    assert unconfirmed.status_code == 200
    assert unconfirmed.context["form"].errors["confirm_dependents"] == [
        "Confirm that the records listed above are retracted with it."
    ]
    assert counts() == before

    confirmed = client.post(url, {"change_reason": REASON, "confirm_dependents": "on"})

    assert confirmed.status_code == 302
    assert [str(m) for m in get_messages(confirmed.wsgi_request)] == ["Procedure retracted."]
    assert counts() == {**before, "Procedure": 0, "Screw": 0, "Encounter": 0, "SecondaryProcedure": 0,
                        "Complication": 0, "VisitNotDone": 0}  # fmt: skip


def test_a_patient_goes_with_everything_and_every_deletion_is_audited_with_the_reason(
    client, personas, patient, procedure, records
):
    second = ProcedureFactory(patient=patient, date=datetime.date(2024, 6, 1), treatment="sacroplasty")
    screw = procedure.screws.get()
    client.force_login(personas["bob"])
    url = reverse("record_retract", args=["patient", patient.pk])

    page = client.get(url)
    response = client.post(url, {"change_reason": "test patient created by mistake", "confirm_dependents": "on"})

    groups = {g.label: g.count for g in page.context["groups"]}
    assert groups == {
        "Procedures": 2,
        "Screws": 1,
        "Encounters": 1,
        "Visits not done": 1,
        "Secondary procedures": 1,
        "Complications": 1,
    }
    assert "2024-06-01 · Sacroplasty alone" in [row for g in page.context["groups"] for row in g.rows]
    assert response.status_code == 302
    assert response.url == reverse("patient_list")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Patient {patient.study_id} retracted."]
    assert counts() == dict.fromkeys(counts(), 0)
    # The cascade: every row deleted with the patient carries the same context, reason and user.
    events = [(model, e) for model in (Patient, Procedure, Screw, Encounter, SecondaryProcedure, Complication,
                                      VisitNotDone) for e in delete_events(model)]  # fmt: skip
    assert sorted((model.__name__, e.pgh_obj_id) for model, e in events) == sorted(
        [
            ("Patient", patient.pk),
            ("Procedure", procedure.pk),
            ("Procedure", second.pk),
            ("Screw", screw.pk),
            ("Encounter", records["encounter"].pk),
            ("SecondaryProcedure", records["secondary-procedure"].pk),
            ("Complication", records["complication"].pk),
            ("VisitNotDone", records["visit-not-done"].pk),
        ]
    )
    assert len({e.pgh_context_id for _, e in events}) == 1
    assert {
        (e.pgh_context.metadata["action"], e.pgh_context.metadata["username"], e.pgh_context.metadata["reason"])
        for _, e in events
    } == {("patient_delete", "bob", "test patient created by mistake")}


@pytest.mark.parametrize(("user", "status"), [("charlie", 404), ("ivy", 403)])
@pytest.mark.parametrize("kind", ["patient", "procedure", *KIND_MESSAGES])
def test_other_sites_and_investigators_cannot_retract(
    client, personas, patient, procedure, records, kind, user, status
):
    record = {"patient": patient, "procedure": procedure, **records}[kind]
    before = counts()
    client.force_login(personas[user])
    url = reverse("record_retract", args=[kind, record.pk])

    get = client.get(url)
    post = client.post(url, {"change_reason": REASON, "confirm_dependents": "on"})

    assert (get.status_code, post.status_code) == (status, status)
    assert counts() == before


def test_an_unknown_kind_is_a_404(client, personas, patient):
    client.force_login(personas["alice"])

    assert client.get(reverse("record_retract", args=["screw", 1])).status_code == 404


# --- History after retraction ---------------------------------------------------------------------


def _retract(client, user, kind, pk, reason=REASON):
    client.force_login(user)
    response = client.post(
        reverse("record_retract", args=[kind, pk]), {"change_reason": reason, "confirm_dependents": "on"}
    )
    assert response.status_code == 302


def test_the_history_of_a_retracted_record_stays_readable_with_the_retraction(client, personas, records):
    encounter = records["encounter"]
    _retract(client, personas["alice"], "encounter", encounter.pk)
    client.force_login(personas["bob"])

    response = client.get(reverse("record_history", args=["encounter", encounter.pk]))

    assert response.status_code == 200
    entries = response.context["entries"]
    assert [(e["label"], e["username"], e["reason"], e["action"]) for e in entries] == [
        ("insert", None, "", "encounter_record"),
        ("delete", "alice", REASON, "encounter_delete"),
    ]
    page = response.content.decode()
    assert "was retracted (entered in error)" in page
    assert PhiAccess.objects.filter(
        username="bob", action=PhiAccess.Action.VIEW_HISTORY, patient_id=encounter.procedure.patient_id
    ).exists()


def test_the_history_of_a_record_retracted_with_its_patient_stays_readable(client, personas, patient, procedure):
    screw = procedure.screws.get()
    _retract(client, personas["alice"], "patient", patient.pk)
    client.force_login(personas["root"])

    patient_page = client.get(reverse("record_history", args=["patient", patient.pk]))
    procedure_page = client.get(reverse("record_history", args=["procedure", procedure.pk]))

    assert (patient_page.status_code, procedure_page.status_code) == (200, 200)
    assert patient_page.context["entries"][-1]["label"] == "delete"
    assert [e["what"] for e in procedure_page.context["entries"] if e["label"] == "delete"] == [
        f"procedure {procedure.pk}",
        f"screw {screw.pk}",
    ]
    assert reverse("retracted_patients") in patient_page.content.decode()  # no link to a gone timeline


@pytest.mark.parametrize(("user", "status"), [("charlie", 404), ("ivy", 403)])
def test_other_sites_and_investigators_do_not_read_a_retracted_records_history(client, personas, records, user, status):
    encounter = records["encounter"]
    _retract(client, personas["alice"], "encounter", encounter.pk)
    client.force_login(personas[user])
    logged = PhiAccess.objects.count()

    response = client.get(reverse("record_history", args=["encounter", encounter.pk]))

    assert response.status_code == status
    assert PhiAccess.objects.count() == logged


def test_a_record_that_never_existed_has_no_history(client, personas):
    client.force_login(personas["root"])

    assert client.get(reverse("record_history", args=["encounter", 987654])).status_code == 404


def test_another_sites_living_record_is_still_a_404(client, personas, records):
    client.force_login(personas["charlie"])

    assert client.get(reverse("record_history", args=["encounter", records["encounter"].pk])).status_code == 404


# --- The timeline's list and the retracted patients ------------------------------------------------


def test_the_timeline_lists_retracted_entries_with_who_when_why(client, personas, patient, procedure, records):
    second = ProcedureFactory(patient=patient, date=datetime.date(2024, 6, 1))
    EncounterFactory(procedure=second, date=datetime.date(2024, 7, 1))
    _retract(client, personas["alice"], "complication", records["complication"].pk, reason="wrong patient")
    _retract(client, personas["bob"], "procedure", second.pk, reason="entered twice")

    response = client.get(reverse("patient_detail", args=[patient.pk]))

    entries = response.context["retractions"]
    assert [(e.kind, e.description, e.username, e.reason, e.with_it) for e in entries] == [
        ("procedure", "2024-06-01 · PSFS (screw fixation with sacroplasty)", "bob", "entered twice",
         ("1 screw", "1 encounter")),
        ("complication", "2024-02-01 · Infection", "alice", "wrong patient", ()),
    ]  # fmt: skip
    page = response.content.decode()
    assert 'id="retracted"' in page
    when = timezone.localtime(entries[0].when)  # the sites' time zone (TIME_ZONE), not UTC
    assert f"<td>{when:%Y-%m-%d %H:%M %Z}</td>" in page
    assert reverse("record_history", args=["procedure", second.pk]) in page
    assert reverse("record_history", args=["complication", records["complication"].pk]) in page


def test_screws_replaced_by_an_edit_are_not_listed_as_retracted(client, personas, patient, procedure):
    from registry import services

    services.procedure_update(
        user=None,
        procedure=procedure,
        data={},
        screws=[{"corridor": "S2", "trajectory": "transsacral", "side": "right", "diameter_mm": Decimal("7.3"),
                 "fully_threaded": True}],
        reason="S2, not S1",
    )  # fmt: skip
    client.force_login(personas["alice"])

    response = client.get(reverse("patient_detail", args=[patient.pk]))

    assert response.context["retractions"] == []
    assert 'id="retracted"' not in response.content.decode()


def test_investigators_see_no_retracted_entries(client, personas, patient, records):
    _retract(client, personas["alice"], "complication", records["complication"].pk, reason="wrong patient")
    client.force_login(personas["ivy"])

    response = client.get(reverse("patient_detail", args=[patient.pk]))

    assert response.status_code == 200
    assert response.context["retractions"] == []
    assert "wrong patient" not in response.content.decode()


def test_retracted_patients_are_listed_for_the_staff_of_their_site(client, personas, patient, site_b):
    other = PatientFactory(site=site_b)
    _retract(client, personas["alice"], "patient", patient.pk, reason="duplicate of an existing patient")
    _retract(client, personas["charlie"], "patient", other.pk, reason="test entry")

    client.force_login(personas["bob"])
    bob = client.get(reverse("retracted_patients"))
    client.force_login(personas["root"])
    root = client.get(reverse("retracted_patients"))
    client.force_login(personas["ivy"])
    ivy = client.get(reverse("retracted_patients"))

    assert [(row.study_id, site.code, row.username, row.reason) for row, site in bob.context["page"]] == [
        (patient.study_id, "SITEA", "alice", "duplicate of an existing patient")
    ]
    assert reverse("record_history", args=["patient", patient.pk]) in bob.content.decode()
    assert {row.study_id for row, _ in root.context["page"]} == {patient.study_id, other.study_id}
    assert ivy.status_code == 403


def test_a_retracted_patient_leaves_the_patient_list(client, personas, patient):
    _retract(client, personas["alice"], "patient", patient.pk)

    response = client.get(reverse("patient_list"))

    assert list(response.context["page"].object_list) == []
    assert client.get(reverse("patient_detail", args=[patient.pk])).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "kind", "key"),
    [
        ("patient_edit", "patient", "patient"),
        ("procedure_edit", "procedure", "procedure"),
        ("encounter_edit", "encounter", "encounter"),
        ("visit_not_done_edit", "visit-not-done", "visit-not-done"),
    ],
)
def test_each_edit_page_links_to_its_retraction(client, personas, patient, procedure, records, url_name, kind, key):
    record = {"patient": patient, "procedure": procedure, **records}[key]
    client.force_login(personas["alice"])

    page = client.get(reverse(url_name, args=[record.pk])).content.decode()

    assert f'href="{reverse("record_retract", args=[kind, record.pk])}">Retract (entered in error)</a>' in page


def test_the_event_pages_and_the_patient_list_link_to_retraction(client, personas, records):
    client.force_login(personas["alice"])
    complication = records["complication"]

    page = client.get(reverse("event_edit", args=["complication", complication.pk])).content.decode()
    listing = client.get(reverse("patient_list")).content.decode()

    assert f'href="{reverse("record_retract", args=["complication", complication.pk])}"' in page
    assert f'href="{reverse("retracted_patients")}"' in listing


def test_a_signed_off_record_is_not_retracted_and_the_page_says_why(client, personas, procedure, records):
    from registry.sign_off import SIGNED_OFF

    Procedure.objects.filter(pk=procedure.pk).update(signed_off_at=timezone.now(), signed_off_by=personas["root"])
    before = counts()
    client.force_login(personas["alice"])

    response = client.post(
        reverse("record_retract", args=["encounter", records["encounter"].pk]), {"change_reason": REASON}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [SIGNED_OFF]
    assert "Not retracted." in response.content.decode()
    assert counts() == before

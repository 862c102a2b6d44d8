"""The follow-up worklist: due and overdue visits per site, a fixed number of queries."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from outcomes.msts import MSTS_FIELDS
from registry import services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def operated(site, days: int, **patient):
    return ProcedureFactory(patient=PatientFactory(site=site, **patient), date=days_ago(days))


def listed(response):
    return [(row.patient.study_id, row.visit.visit.key, row.visit.status) for row in response.context["rows"]]


def test_a_clinician_sees_the_due_and_overdue_visits_of_her_site(client, personas, site_a, site_b):
    due = operated(site_a, 10)
    overdue = operated(site_a, 50)
    done = operated(site_a, 15)
    EncounterFactory(procedure=done, date=days_ago(2))
    operated(site_b, 10)  # charlie's patient
    client.force_login(personas["alice"])

    response = client.get(reverse("worklist"))

    assert response.status_code == 200
    # The 1-2 week visit of the day-50 procedure was missed too: it stays listed (the oldest first).
    assert listed(response) == [
        (overdue.patient.study_id, "week2", "overdue"),
        (overdue.patient.study_id, "month1", "overdue"),
        (due.patient.study_id, "week2", "due"),
    ]
    page = response.content.decode()
    today = timezone.localdate().isoformat()
    assert f'href="{reverse("encounter_create", args=[due.pk])}?kind=followup&amp;date={today}"' in page
    assert "overdue by 5 days" in page


def test_deceased_patients_are_not_listed(client, personas, site_a):
    procedure = operated(site_a, 10)
    services.patient_update(
        user=None, patient=procedure.patient, data={"death_date": days_ago(1)}, reason="Death recorded"
    )
    client.force_login(personas["alice"])

    assert listed(client.get(reverse("worklist"))) == []


def test_only_the_latest_procedure_of_a_patient_is_followed(client, personas, site_a):
    first = operated(site_a, 50)
    second = ProcedureFactory(patient=first.patient, date=days_ago(10), treatment="sacroplasty")
    client.force_login(personas["alice"])

    rows = client.get(reverse("worklist")).context["rows"]

    assert [(row.procedure.pk, row.visit.visit.key) for row in rows] == [(second.pk, "week2")]


def test_charlie_sees_only_site_b(client, personas, site_a, site_b):
    operated(site_a, 10)
    at_b = operated(site_b, 10)
    client.force_login(personas["charlie"])

    assert listed(client.get(reverse("worklist"))) == [(at_b.patient.study_id, "week2", "due")]


def test_an_admin_sees_every_site_and_can_filter(client, personas, site_a, site_b):
    at_a = operated(site_a, 10)
    at_b = operated(site_b, 10)
    client.force_login(personas["root"])

    everything = client.get(reverse("worklist"))
    only_b = client.get(reverse("worklist"), {"site": "SITEB"})
    all_sites = client.get(reverse("worklist"), {"site": ""})

    assert listed(everything) == [(at_a.patient.study_id, "week2", "due"), (at_b.patient.study_id, "week2", "due")]
    assert listed(all_sites) == listed(everything)
    assert listed(only_b) == [(at_b.patient.study_id, "week2", "due")]
    assert "SITEA · Site A hospital" in everything.content.decode()


def test_the_site_filter_takes_a_code_in_any_case_and_shows_it_chosen(client, personas, site_a, site_b):
    operated(site_a, 10)
    at_b = operated(site_b, 10)
    client.force_login(personas["root"])

    response = client.get(reverse("worklist"), {"site": " siteB "})

    assert listed(response) == [(at_b.patient.study_id, "week2", "due")]
    assert '<option value="SITEB" selected>' in response.content.decode()
    assert '<option value="SITEA">' in response.content.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("root", "NOPE"), ("alice", "SITEB"), ("alice", "siteb"), ("charlie", "SITEA"), ("alice", "id of site A")],
)
def test_an_unknown_or_unseen_site_is_not_found(client, personas, site_a, site_b, name, value):
    operated(site_a, 10)
    client.force_login(personas[name])

    response = client.get(reverse("worklist"), {"site": str(site_a.pk) if value == "id of site A" else value})

    assert response.status_code == 404


def test_an_investigator_has_no_worklist_and_anonymous_goes_to_login(client, personas):
    anonymous = client.get(reverse("worklist"))
    client.force_login(personas["ivy"])

    assert anonymous.status_code == 302
    assert client.get(reverse("worklist")).status_code == 403


def test_recording_the_followup_from_the_worklist_clears_the_row(client, personas, site_a):
    procedure = operated(site_a, 10)
    client.force_login(personas["alice"])
    form = client.get(reverse("encounter_create", args=[procedure.pk]), {"kind": "followup", "date": days_ago(0)})
    data = {
        "kind": form.context["form"]["kind"].value(),
        "date": form.context["form"]["date"].value().isoformat(),
        # Every domain scored: a partial MSTS would first ask the clinician to confirm it.
        **dict.fromkeys(MSTS_FIELDS, "3"),
    }

    saved = client.post(reverse("encounter_create", args=[procedure.pk]), data)

    assert saved.status_code == 302
    assert listed(client.get(reverse("worklist"))) == []


@pytest.mark.parametrize("count", [3, 30])
def test_the_worklist_costs_the_same_queries_for_3_or_30_patients(
    client, personas, site_a, count, django_assert_num_queries
):
    for n in range(count):
        procedure = operated(site_a, 10 + n)
        if n % 3 == 0:
            EncounterFactory(procedure=procedure, date=days_ago(1))
    client.force_login(personas["alice"])

    # session, user, staff profile, member sites and sites (filter), member sites (selector),
    # the procedures with their follow-up dates, the open data queries per site (member sites, counts),
    # and the session renewal (savepoint, update, release)
    with django_assert_num_queries(12):
        response = client.get(reverse("worklist"))

    assert response.status_code == 200
    assert len(response.context["rows"]) > 0


def test_a_missed_visit_stays_listed_until_a_followup_in_its_window_or_marked_not_done(client, personas, site_a):
    from outcomes import services as outcome_services

    procedure = operated(site_a, 200)
    EncounterFactory(procedure=procedure, date=days_ago(200 - 30))  # the 1-month visit, in its window
    EncounterFactory(procedure=procedure, date=days_ago(200 - 60))  # after it: stands in for nothing
    client.force_login(personas["alice"])

    before = client.get(reverse("worklist"))
    outcome_services.visit_not_done_create(user=personas["alice"], procedure=procedure, visit="week2", reason="too_ill")
    after = client.get(reverse("worklist"))

    study_id = procedure.patient.study_id
    assert [
        (r.patient.study_id, r.visit.visit.key, r.visit.status, r.visit.days_overdue) for r in before.context["rows"]
    ] == [
        (study_id, "week2", "overdue", 179),
        (study_id, "month3", "overdue", 80),
    ]
    assert listed(after) == [(study_id, "month3", "overdue")]


@pytest.mark.parametrize(
    ("status", "stopped_days_ago", "expected"),
    [
        # Withdrawn 10 days after the procedure (before the 1-2 week window closed): nothing due.
        ("withdrawn", 40, []),
        # Lost 30 days after it: the 1-2 week visit was missed before, and stays to be dealt with.
        ("lost_to_follow_up", 20, [("week2", "overdue")]),
        ("active", None, [("week2", "overdue"), ("month1", "overdue")]),
    ],
)
def test_withdrawn_and_lost_patients_have_no_visits_due_from_then_on(
    client, personas, site_a, status, stopped_days_ago, expected
):
    procedure = operated(site_a, 50)
    if stopped_days_ago is not None:
        services.patient_update(
            user=None,
            patient=procedure.patient,
            data={"status": status, "status_date": days_ago(stopped_days_ago)},
            reason="Follow-up status",
        )
    client.force_login(personas["alice"])

    rows = client.get(reverse("worklist")).context["rows"]

    assert [(row.visit.visit.key, row.visit.status) for row in rows] == expected


def test_a_death_after_a_missed_visit_leaves_that_visit_listed(client, personas, site_a):
    procedure = operated(site_a, 50)
    services.patient_update(user=None, patient=procedure.patient, data={"death_date": days_ago(20)}, reason="Died")
    client.force_login(personas["alice"])

    assert listed(client.get(reverse("worklist"))) == [(procedure.patient.study_id, "week2", "overdue")]


def test_each_row_links_to_mark_the_visit_not_done(client, personas, site_a):
    procedure = operated(site_a, 10)
    client.force_login(personas["alice"])

    page = client.get(reverse("worklist"), {"site": "SITEA"}).content.decode()

    url = reverse("visit_not_done_create", args=[procedure.pk])
    assert f'href="{url}?visit=week2&amp;next=/worklist/%3Fsite%3DSITEA"' in page
    assert ">Mark not done</a>" in page


def test_the_worklist_downloads_as_csv_with_the_same_rows_and_filter(client, personas, site_a, site_b):
    from registry.models import PhiAccess

    due = operated(site_a, 10, mrn="=HYPERLINK(1)")
    overdue = operated(site_a, 50)
    operated(site_b, 10)
    client.force_login(personas["root"])

    response = client.get(reverse("worklist_csv"), {"site": "sitea"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="worklist-SITEA-{today:%Y-%m-%d}.csv"'
    lines = response.content.decode().splitlines()
    d = overdue.date
    assert lines == [
        "site,study_id,mrn,status,days_overdue,procedure_date,treatment,visit,window_start,window_end",
        f"SITEA,{overdue.patient.study_id},{overdue.patient.mrn},overdue,29,{d},psfs,week2,"
        f"{d + datetime.timedelta(days=7)},{d + datetime.timedelta(days=21)}",
        f"SITEA,{overdue.patient.study_id},{overdue.patient.mrn},overdue,5,{d},psfs,month1,"
        f"{d + datetime.timedelta(days=22)},{d + datetime.timedelta(days=45)}",
        f"SITEA,{due.patient.study_id},'=HYPERLINK(1),due,,{due.date},psfs,week2,"
        f"{due.date + datetime.timedelta(days=7)},{due.date + datetime.timedelta(days=21)}",
    ]
    access = PhiAccess.objects.get()
    assert (access.username, access.action, access.what) == (
        "root",
        "export_identified",
        f"worklist-SITEA-{today:%Y-%m-%d}.csv (3 visits)",
    )


def test_the_csv_is_scoped_like_the_page(client, personas, site_a, site_b):
    operated(site_a, 10)
    client.force_login(personas["charlie"])
    assert client.get(reverse("worklist_csv")).content.decode().splitlines()[1:] == []
    assert client.get(reverse("worklist_csv"), {"site": "SITEA"}).status_code == 404
    client.force_login(personas["ivy"])
    assert client.get(reverse("worklist_csv")).status_code == 403

"""The follow-up worklist: due and overdue visits per site, a fixed number of queries."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

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
    assert listed(response) == [
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
        "msts_pain": "3",
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

"""The data query pages: the data manager's list (filters, counts, bulk close, CSV), one query's
answer and close forms, each record's queries on the patient's timeline, the counts on the worklist."""

import csv
import io

import pytest
from django.urls import reverse

from quality.models import DataQuery
from quality.tests.queries_support import closed, encounter_at, make_query
from registry.models import PhiAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def encounter_a(site_a):
    return encounter_at(site_a)


@pytest.fixture
def query_a(encounter_a):
    return make_query(encounter_a, days_old=10)


@pytest.fixture
def query_b(site_b):
    return make_query(encounter_at(site_b), rule="msts_incomplete", field=None, message="Two domains unscored.")


def listed(response) -> list[int]:
    return [query.pk for query in response.context["page"].object_list]


def as_user(client, user):
    client.force_login(user)
    return client


# --- The list ------------------------------------------------------------------------------


def test_a_clinician_lists_the_queries_of_her_sites(client, personas, query_a, query_b):
    response = as_user(client, personas["alice"]).get(reverse("query_list"))

    assert response.status_code == 200
    assert listed(response) == [query_a.pk]
    page = response.content.decode()
    assert "MME above 1,000 a day: check the dose." in page
    assert "Two domains unscored." not in page
    assert f'href="{reverse("encounter_edit", args=[query_a.record])}#field-opioid_mme_per_day"' in page
    assert 'name="ids"' not in page  # no bulk close for clinicians
    assert response.context["by_site"] == [{"site": "SITEA", "open": 1, "answered": 0, "closed": 0, "total": 1}]


def test_investigators_get_403_and_no_link(client, personas, query_a):
    client = as_user(client, personas["ivy"])

    assert client.get(reverse("query_list")).status_code == 403
    assert client.get(reverse("query_csv")).status_code == 403
    assert client.get(reverse("query_detail", args=[query_a.pk])).status_code == 403
    assert f'href="{reverse("query_list")}"' not in client.get(reverse("patient_list")).content.decode()


def test_the_nav_links_the_list_for_clinicians(client, personas):
    page = as_user(client, personas["alice"]).get(reverse("patient_list")).content.decode()

    assert f'<a href="{reverse("query_list")}">Queries</a>' in page


def test_the_list_filters_by_site_rule_status_and_age(client, personas, site_a, query_a, query_b):
    new = make_query(encounter_at(site_a), rule="manual", field=None, days_old=1)
    done = closed(make_query(encounter_at(site_a), rule="visit_missed", days_old=20))
    client = as_user(client, personas["root"])
    url = reverse("query_list")

    assert listed(client.get(url)) == [query_a.pk, new.pk, query_b.pk]  # not closed, oldest first
    assert listed(client.get(url, {"site": "siteb"})) == [query_b.pk]
    assert listed(client.get(url, {"rule": "manual"})) == [new.pk]
    assert listed(client.get(url, {"status": "closed"})) == [done.pk]
    assert listed(client.get(url, {"status": "any", "older_than": "7"})) == [done.pk, query_a.pk]
    assert client.get(url, {"site": "NOPE"}).status_code == 404
    bad_age = client.get(url, {"older_than": "-3"})
    assert bad_age.status_code == 200 and "older_than" in bad_age.context["form"].errors
    assert listed(bad_age) == [query_a.pk, new.pk, query_b.pk]  # the bad filter is left out
    counts = client.get(url, {"site": "SITEA"}).context
    assert counts["by_site"] == [{"site": "SITEA", "open": 2, "answered": 0, "closed": 1, "total": 3}]
    assert counts["by_rule"] == [
        {"rule": "manual", "open": 1, "answered": 0, "closed": 0, "total": 1},
        {"rule": "mme_unusual", "open": 1, "answered": 0, "closed": 0, "total": 1},
        {"rule": "visit_missed", "open": 0, "answered": 0, "closed": 1, "total": 1},
    ]


def test_an_unseen_site_is_a_404_for_clinicians(client, personas, query_b):
    assert as_user(client, personas["alice"]).get(reverse("query_list"), {"site": "SITEB"}).status_code == 404


def test_a_registry_admin_bulk_closes(client, personas, query_a, query_b):
    client = as_user(client, personas["root"])
    back = reverse("query_list") + "?site=SITEA"
    page = client.get(back).content.decode()
    assert f'name="ids" value="{query_a.pk}"' in page

    response = client.post(
        reverse("query_bulk_close"), {"ids": [query_a.pk, query_b.pk], "resolution": "confirmed", "next": back}
    )

    assert response.status_code == 302 and response.url == back
    assert dict(DataQuery.objects.values_list("pk", "resolution")) == {query_a.pk: "confirmed", query_b.pk: "confirmed"}
    assert "2 queries closed as confirmed as correct." in client.get(back).content.decode()


def test_bulk_close_refuses_clinicians_and_an_empty_choice(client, personas, query_a):
    assert (
        as_user(client, personas["alice"])
        .post(reverse("query_bulk_close"), {"ids": [query_a.pk], "resolution": "fixed"})
        .status_code
        == 403
    )
    client = as_user(client, personas["root"])
    response = client.post(reverse("query_bulk_close"), {"resolution": "fixed", "next": "https://evil.example/"})
    assert response.url == reverse("query_list")
    assert "Nothing closed: Tick at least one query to close." in client.get(reverse("query_list")).content.decode()
    assert client.get(reverse("query_bulk_close")).status_code == 405
    assert DataQuery.objects.get().status == "open"


def test_the_csv_holds_the_filtered_list_with_formulas_neutralised(client, personas, site_a, query_a, query_b):
    make_query(encounter_at(site_a), rule="manual", field=None, message='=HYPERLINK("http://evil.example","x")')
    client = as_user(client, personas["root"])

    response = client.get(reverse("query_csv"), {"site": "SITEA", "rule": "manual"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="queries.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "site", "study_id", "mrn"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["message"] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row["site"], row["rule"], row["status"], row["resolution"]) == ("SITEA", "manual", "open", "")
    assert PhiAccess.objects.filter(action="export_identified", what="queries.csv").count() == 1


def test_the_csv_of_a_clinician_holds_only_her_sites(client, personas, query_a, query_b):
    response = as_user(client, personas["alice"]).get(reverse("query_csv"))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == [str(query_a.pk)]


# --- One query: answer and close -------------------------------------------------------------


def test_a_clinician_answers_and_goes_back(client, personas, query_a):
    client = as_user(client, personas["alice"])
    url = reverse("query_detail", args=[query_a.pk])
    back = reverse("patient_detail", args=[query_a.patient_id])
    page = client.get(url, {"next": back}).content.decode()
    assert 'name="answer"' in page and 'name="resolution"' not in page

    response = client.post(url, {"action": "answer", "answer": "Confirmed: 1,400 MME.", "next": back})

    assert response.status_code == 302 and response.url == back
    query_a.refresh_from_db()
    assert (query_a.status, query_a.answer, query_a.answered_by) == (
        "answered",
        "Confirmed: 1,400 MME.",
        personas["alice"],
    )


def test_a_blank_answer_is_shown_with_its_error(client, personas, query_a):
    response = as_user(client, personas["alice"]).post(
        reverse("query_detail", args=[query_a.pk]), {"action": "answer", "answer": "   "}
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    query_a.refresh_from_db()
    assert query_a.status == "open"


def test_other_sites_get_404_and_clinicians_may_not_close(client, personas, query_a):
    url = reverse("query_detail", args=[query_a.pk])

    assert as_user(client, personas["charlie"]).get(url).status_code == 404
    assert as_user(client, personas["alice"]).post(url, {"action": "close", "resolution": "fixed"}).status_code == 403
    query_a.refresh_from_db()
    assert query_a.status == "open"


def test_a_registry_admin_closes_one_query(client, personas, query_a):
    client = as_user(client, personas["root"])
    url = reverse("query_detail", args=[query_a.pk])
    assert 'name="resolution"' in client.get(url).content.decode()

    response = client.post(url, {"action": "close", "resolution": "withdrawn"})

    assert response.status_code == 302 and response.url == url
    query_a.refresh_from_db()
    assert (query_a.status, query_a.resolution, query_a.closed_by) == ("closed", "withdrawn", personas["root"])
    page = client.get(url).content.decode()
    assert "Query closed as withdrawn." in page
    assert 'name="answer"' not in page and 'name="resolution"' not in page


# --- The timeline and the worklist -----------------------------------------------------------


def test_the_timeline_shows_a_query_beside_its_record(client, personas, encounter_a, query_a):
    patient = encounter_a.procedure.patient
    on_patient = make_query(patient, kind="patient", rule="manual", field="birth_date", message="Born 1960?")
    closed(make_query(encounter_a, rule="msts_incomplete", message="Closed long ago."))

    page = as_user(client, personas["alice"]).get(reverse("patient_detail", args=[patient.pk])).content.decode()

    encounter_row = page.index(f'href="{reverse("encounter_edit", args=[encounter_a.pk])}"')
    beside = page.index(f'id="query-{query_a.pk}"')
    assert encounter_row < beside < page.index("</table>", encounter_row)
    assert page.index(f'id="query-{on_patient.pk}"') < page.index("<h2>Timeline</h2>")
    detail = reverse("query_detail", args=[query_a.pk])
    assert (
        f'href="{detail}?next={reverse("patient_detail", args=[patient.pk])}%23query-{query_a.pk}">Answer</a>' in page
    )
    assert f'href="{reverse("encounter_edit", args=[encounter_a.pk])}#field-opioid_mme_per_day">Fix</a>' in page
    assert f'href="{reverse("patient_edit", args=[patient.pk])}#field-birth_date">Fix</a>' in page
    assert "Closed long ago." not in page


def test_investigators_see_no_query_on_the_timeline(client, personas, encounter_a, query_a):
    page = (
        as_user(client, personas["ivy"])
        .get(reverse("patient_detail", args=[encounter_a.procedure.patient_id]))
        .content.decode()
    )

    assert "MME above 1,000" not in page
    assert "record-queries" not in page


def test_the_worklist_counts_open_queries_per_site(client, personas, site_a, query_a, query_b):
    make_query(encounter_at(site_a), status="answered", answer="ok")

    page = as_user(client, personas["alice"]).get(reverse("worklist")).content.decode()

    assert f'href="{reverse("query_list")}?site=SITEA&amp;status=open">1 open query</a>' in page
    assert f'href="{reverse("query_list")}?site=SITEA&amp;status=answered">1 answered</a>' in page
    assert "SITEB" not in page


def test_a_missing_visit_is_fixed_by_recording_it(client, personas, encounter_a):
    procedure = encounter_a.procedure
    baseline = make_query(procedure, kind="procedure", rule="baseline_missing", field=None)
    missed = make_query(procedure, kind="procedure", rule="visit_missed", field="week2")
    other = make_query(procedure, kind="procedure", rule="manual", field="cement_volume_ml")

    page = as_user(client, personas["alice"]).get(reverse("query_list")).content.decode()

    create = reverse("encounter_create", args=[procedure.pk])
    assert f'<a href="{create}?kind=baseline">Fix</a>' in page
    assert f'<a href="{create}?kind=followup">Fix</a>' in page
    not_done = reverse("visit_not_done_create", args=[procedure.pk])
    assert f'<a href="{not_done}?visit=week2">Mark not done</a>' in page
    assert page.count("Mark not done") == 1
    assert f'<a href="{reverse("procedure_edit", args=[procedure.pk])}#field-cement_volume_ml">Fix</a>' in page
    assert [q.pk for q in as_user(client, personas["alice"]).get(reverse("query_list")).context["page"]] == [
        baseline.pk,
        missed.pk,
        other.pk,
    ]


# --- A person raises a query ----------------------------------------------------------------


def test_a_clinician_raises_a_query_on_a_record_of_the_patient(client, personas, encounter_a):
    patient = encounter_a.procedure.patient
    client = as_user(client, personas["alice"])
    url = reverse("query_create", args=[patient.pk])
    assert (
        f'href="{url}">Raise a query</a>' in client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    )
    form = client.get(url, {"record": f"encounter:{encounter_a.pk}"}).context["form"]
    assert [value for value, _ in form.fields["record"].choices] == [
        f"patient:{patient.pk}",
        f"procedure:{encounter_a.procedure_id}",
        f"encounter:{encounter_a.pk}",
    ]

    response = client.post(
        url, {"record": f"encounter:{encounter_a.pk}", "field": "msts_gait", "message": "Gait 0 but walking 5?"}
    )

    query = DataQuery.objects.get()
    assert response.status_code == 302
    assert response.url == f"{reverse('patient_detail', args=[patient.pk])}#query-{query.pk}"
    assert (query.rule, query.kind, query.record, query.field, query.message, query.opened_by) == (
        "manual",
        "encounter",
        encounter_a.pk,
        "msts_gait",
        "Gait 0 but walking 5?",
        personas["alice"],
    )


def test_raising_shows_the_services_errors_beside_the_fields(client, personas, encounter_a):
    patient = encounter_a.procedure.patient

    response = as_user(client, personas["alice"]).post(
        reverse("query_create", args=[patient.pk]),
        {"record": f"encounter:{encounter_a.pk}", "field": "colour", "message": "?"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["field"][0].startswith("Name a field of the encounter: procedure, date,")
    assert DataQuery.objects.count() == 0


def test_raising_is_for_the_patients_site_staff(client, personas, encounter_a):
    url = reverse("query_create", args=[encounter_a.procedure.patient_id])

    assert as_user(client, personas["charlie"]).get(url).status_code == 404
    assert as_user(client, personas["ivy"]).get(url).status_code == 403

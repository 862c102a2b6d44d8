"""The study report: who may read it, what it shows of a snapshot, and what it never shows."""

import datetime
import re

import pytest
from django.utils import timezone

from analysis.dashboard import Table, dashboard_tables
from analysis.models import Snapshot
from analysis.report import index_span, paper_tables, report_view_model
from analysis.services import stats_refresh
from demo.loader import demo_cohort_load
from outcomes import services as outcome_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

BIRTH = datetime.date(1951, 7, 19)
FREE_TEXT = ("PHI-CANCER-DETAIL", "PHI-SECONDARY-REASON", "PHI-COMPLICATION-TEXT")


def _cohort(site, n, first_day=datetime.date(2021, 3, 10)):
    """n patients of ``site``, their index procedures from ``first_day`` a month apart, with free text."""
    for i in range(n):
        day = first_day + datetime.timedelta(days=31 * i)
        procedure = ProcedureFactory(
            patient=PatientFactory(
                site=site,
                mrn=f"PHI-MRN-{site.code}-{i}",
                birth_date=BIRTH,
                primary_cancer="other",
                primary_cancer_detail=f"{FREE_TEXT[0]} {i}",
            ),
            date=day,
            treatment="psfs" if i % 2 else "sacroplasty",
        )
        EncounterFactory(procedure=procedure, kind="baseline", date=day, msts_pain=1)
        EncounterFactory(procedure=procedure, kind="followup", date=day + datetime.timedelta(days=30), msts_pain=4)
        if i == 0:
            outcome_services.secondary_procedure_create(
                user=None,
                procedure=procedure,
                date=day + datetime.timedelta(days=20),
                kind="other",
                reason=FREE_TEXT[1],
            )
            outcome_services.complication_create(
                user=None,
                procedure=procedure,
                date=day + datetime.timedelta(days=10),
                kind="other",
                description=FREE_TEXT[2],
            )


@pytest.fixture
def snapshot(site_a, site_b):
    _cohort(site_a, 4)  # index procedures March to June 2021
    _cohort(site_b, 2, first_day=datetime.date(2022, 9, 5))  # September and October 2022
    stats_refresh()


# --- Who may read it ---------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client, snapshot):
    response = client.get("/dashboard/report")

    assert response.status_code == 302
    assert response.url == "/login/?next=/dashboard/report"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["ivy", "alice", "root"])
def test_every_role_of_the_dashboard_reads_the_report_without_phi(client, personas, snapshot, persona):
    client.force_login(personas[persona])

    response = client.get("/dashboard/report")

    page = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert '<h1>Study report <span class="scope">whole registry</span></h1>' in page
    assert "PHI-MRN" not in page
    # The birth year as a word of its own: a timestamp's microseconds or the fingerprint may hold the digits.
    assert BIRTH.isoformat() not in page and re.search(r"\b1951\b", page) is None
    for text in FREE_TEXT:
        assert text not in page
    assert 'src="/static/analysis/report.js"' in page
    assert 'href="/static/analysis/report.css"' in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "code"), [("alice", "SITEB"), ("charlie", "SITEA"), ("ivy", "NOPE")])
def test_a_scope_the_user_may_not_see_is_not_found(client, personas, snapshot, persona, code):
    client.force_login(personas[persona])

    assert client.get("/dashboard/report", {"site": code}).status_code == 404


@pytest.mark.django_db
def test_a_site_scope_reports_that_sites_snapshot(client, personas, snapshot, site_b):
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/report", {"site": " siteb "}).content.decode()

    stored = Snapshot.objects.get(site=site_b)
    assert "SITEB · Site B hospital" in page
    assert "<dt>Patients</dt><dd>2</dd>" in page
    assert f'<dd class="fingerprint">{stored.fingerprint}</dd>' in page
    assert f"{timezone.localtime(stored.computed_at):%Y-%m-%d %H:%M:%S %Z}" in page  # the sites' time zone
    assert 'href="/dashboard/?site=SITEB">Back to the dashboard' in page


@pytest.mark.django_db
def test_before_the_first_refresh_the_report_says_so(client, personas, site_a):
    client.force_login(personas["alice"])

    response = client.get("/dashboard/report?site=SITEA")

    page = response.content.decode()
    assert response.status_code == 200
    assert "No statistics have been computed yet" in page
    assert "Print / save as PDF" not in page
    assert "Methods" not in page


@pytest.mark.django_db
def test_the_dashboard_links_to_the_report_of_its_scope(client, personas, snapshot):
    client.force_login(personas["alice"])

    page = client.get("/dashboard/?site=SITEA").content.decode()

    assert '<a href="/dashboard/report?site=SITEA">Study report of this scope</a>' in page


# --- The calendar span: PHI rights at every site of the scope ------------------------------

MONTHS_A = "The index procedures took place between March 2021 and June 2021."
MONTHS_ALL = "The index procedures took place between March 2021 and October 2022."
SPAN_A = "The index procedures took place over a span of 3 months (calendar dates are shown only to users with"
SPAN_ALL = "The index procedures took place over a span of 1 year and 7 months (calendar dates"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "code", "expected", "unexpected"),
    [
        ("root", "", MONTHS_ALL, "over a span"),
        ("alice", "SITEA", MONTHS_A, "over a span"),
        ("alice", "", SPAN_ALL, "2021"),  # PHI rights at site A only, not at every site of the registry
        ("ivy", "SITEA", SPAN_A, "2021"),
        ("ivy", "", SPAN_ALL, "2022"),
    ],
)
def test_the_months_of_the_index_procedures_only_with_phi_rights_at_every_site(
    client, personas, snapshot, persona, code, expected, unexpected
):
    client.force_login(personas[persona])

    page = client.get("/dashboard/report", {"site": code}).content.decode()

    assert expected in page
    assert unexpected not in page
    # The enrolment chart's month axis dates the procedures too.
    assert ('id="enrolment"' in page) is (expected.startswith("The index procedures took place between"))


# --- What it holds --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_cohorts_report_shows_the_papers_figures(client, personas):
    demo_cohort_load()
    stats_refresh()
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/report?site=DEMO").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    assert (
        "Pathological fractures: post-operative MSTS total 22.6 after PSFS and 18.1 after sacroplasty; "
        "ANCOVA p = 0.005." in text
    )
    # The study's layout: measure, PSFS pre, PSFS post, p, sacroplasty pre, sacroplasty post.
    assert "Total (0-30) 7.2 22.6 0.005 10.7 18.1" in text
    assert "Deaths 1 4 Median survival, days 216 308" in text  # the dashboard's survival table
    for title in (
        "Methods",
        "Demographics",
        "Pathological fractures",
        "Impending fractures",
        "Beyond the study",
        "Overall survival (Kaplan-Meier)",
        "Complications",
        "Source of the numbers",
    ):
        assert f">{title}<" in page, title
    assert "Kaplan-Meier" in text and "Aalen-Johansen" in text and "ANCOVA" in text
    assert re.search(r"Software: Python 3\.\d+\.\d+, Django 5\.2\.\d+, numpy [\d.]+, scipy [\d.]+, statsmodels", text)
    assert "1-2 weeks (days 7 to 21), 1 month (days 22 to 45) and 3 months (days 75 to 120)" in text
    assert page.count('<svg class="chart"') >= 6  # at least slope, domain profile and secondary-free curve a stratum
    assert "DEMO-0" not in page


def test_a_document_with_every_later_key_reports_each_and_names_its_test():
    document = {
        "n_patients": 3,
        "strata": {"pathological": {"improvement_test": {"test": "welch_t", "p_value": 0.0049}}},
        "trajectory": {
            "pathological": {
                "difference": 4.25,
                "ci_low": 1.0,
                "ci_high": 7.5,
                "p_value": 0.01,
                "n_patients": 21,
                "n_visits": 55,
            },
            "impending": {"difference": None, "note": "not enough data"},
        },
        "responders": {
            "pathological": {
                "mcid": 1.94,
                "p_value": 0.0204,
                "psfs": {"responders": 8, "n": 9, "rate": 8 / 9},
                "sacroplasty": {"responders": 5, "n": 12, "rate": 5 / 12},
            }
        },
        "completeness": {"week2": {"expected": 23, "done": 20, "not_done": 0, "missed": 3, "pending": 0}},
    }

    model = report_view_model(document, show_months=False)

    sections = {section["id"]: section for section in model["sections"]}
    assert list(sections) == [
        "methods",
        "demographics",
        "stratum-pathological",
        "stratum-impending",
        "beyond-the-study",
        "follow-up-flow",
        "complications",
    ]
    methods = " ".join(sections["methods"]["paragraphs"])
    assert "Welch's t-test" in methods and "linear mixed model" in methods and "Fisher's exact test" in methods
    assert "Kaplan-Meier" not in methods  # no survival key, no survival method
    assert (
        "Improvement, PSFS against sacroplasty (Welch's t-test): p = 0.005."
        in sections["stratum-pathological"]["paragraphs"]
    )
    tables = dashboard_tables(document)
    assert sections["beyond-the-study"]["tables"] == [tables["trajectory"], tables["responders"]]
    trajectory, responders = sections["beyond-the-study"]["tables"]
    assert trajectory.rows[0] == ["Pathological fractures", "4.3", "1.0 to 7.5", "0.010", "21", "55"]
    assert responders.rows[0] == ["Pathological fractures", "1.9", "8 / 9 (89%)", "5 / 12 (42%)", "0.020"]
    assert sections["beyond-the-study"]["figures"] == []  # no survival, incidence or visits to draw
    # The contract's completeness, as the dashboard shows it: one row per window, with its flow diagram.
    flow = sections["follow-up-flow"]
    assert flow["tables"] == [tables["completeness"]]
    assert flow["tables"][0].rows[0] == ["1-2 weeks (days 7-21)", *["—"] * 5, "23", "20", "0", "3", "0"]
    assert [row[0] for row in flow["tables"][0].rows] == [
        "1-2 weeks (days 7-21)",
        "1 month (days 22-45)",
        "3 months (days 75-120)",
    ]
    assert "<title>Follow-up flow</title>" in flow["figures"][0]


def test_an_empty_document_gives_a_report_without_later_sections_or_months():
    model = report_view_model({}, show_months=True)

    assert [section["id"] for section in model["sections"]] == [
        "methods",
        "demographics",
        "stratum-pathological",
        "stratum-impending",
        "complications",
        "enrolment",
    ]
    assert "No index procedure is recorded in this scope." in model["sections"][0]["paragraphs"][0]


@pytest.mark.parametrize(
    ("months", "show", "expected"),
    [
        (["2019-03", "2023-11"], True, "between March 2019 and November 2023."),
        (["2023-11", "2019-03"], False, "over a span of 4 years and 8 months (calendar"),
        (["2019-03", "2020-03"], False, "over a span of 1 year (calendar"),
        (["2019-03"], False, "over a single calendar month (calendar"),
        (["2019-03"], True, "took place in March 2019."),
    ],
)
def test_the_span_of_the_index_procedures(months, show, expected):
    document = {"enrolment": [{"month": month, "psfs": 1, "sacroplasty": 0} for month in months]}

    assert expected in index_span(document, show_months=show)


def test_the_dashboards_msts_table_in_the_studys_layout_and_its_ancova_beside_it():
    msts = Table(
        "msts-pathological",
        "Pathological fractures: MSTS before and after, ANCOVA",
        ["Measure", "PSFS pre", "PSFS post", "Sacroplasty pre", "Sacroplasty post", "Difference", "95% CI", "p", "n"],
        rows=[["Total", "7.3", "22.6", "10.7", "18.1", "5.3", "1.8 to 8.9", "0.005", "21"]],
        notes=["Pain: a note"],
    )

    paper, ancova = paper_tables(msts)

    assert paper.title == "Pathological fractures: MSTS before and after (the study's layout)"
    assert paper.header == ["", "PSFS pre", "PSFS post", "p", "Sacroplasty pre", "Sacroplasty post"]
    assert paper.rows == [["Total", "7.3", "22.6", "0.005", "10.7", "18.1"]]
    assert ancova.header == ["Measure", "Difference", "95% CI", "p", "n"]
    assert ancova.rows == [["Total", "5.3", "1.8 to 8.9", "0.005", "21"]]
    assert ancova.notes == ["Pain: a note"]
    assert paper_tables(Table("x", "X", ["Measure", "Pre", "Post"])) == [Table("x", "X", ["Measure", "Pre", "Post"])]

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.models import Snapshot
from analysis.services import stats_refresh
from analysis.tasks import refresh_cohort_stats
from demo.loader import demo_cohort_load
from registry.models import Patient, Procedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _cohort(site, n):
    for i in range(n):
        procedure = ProcedureFactory(
            patient=PatientFactory(site=site, mrn=f"PHI-MRN-{site.code}-{i}", birth_date=datetime.date(1951, 7, 19)),
            treatment="psfs" if i % 2 else "sacroplasty",
        )
        EncounterFactory(procedure=procedure, kind="baseline", msts_pain=1)
        EncounterFactory(procedure=procedure, kind="followup", msts_pain=4)


@pytest.fixture
def snapshot(site_a, site_b):
    _cohort(site_a, 4)
    _cohort(site_b, 2)
    stats_refresh()


@pytest.mark.parametrize("persona", ["alice", "ivy", "root"])
def test_every_role_sees_the_dashboard_without_phi(client, personas, snapshot, persona):
    client.force_login(personas[persona])

    response = client.get("/dashboard/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cohort dashboard" in page
    assert "PHI-MRN" not in page
    # The birth year as a word of its own: a timestamp's microseconds or a fingerprint may hold the digits.
    assert re.search(r"\b1951\b", page) is None
    assert "Up to date." in page
    assert 'src="/static/analysis/dashboard.js"' in page


def test_anonymous_users_are_sent_to_login(client, snapshot):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_sites_scope_by_role(client, personas, snapshot):
    client.force_login(personas["alice"])
    assert client.get("/dashboard/?site=SITEA").status_code == 200
    assert client.get("/dashboard/?site=SITEB").status_code == 404
    assert client.get("/dashboard/tables/demographics.csv?site=SITEB").status_code == 404

    client.force_login(personas["ivy"])
    page = client.get("/dashboard/?site=SITEB").content.decode()
    assert "SITEB · Site B hospital" in page


def test_a_site_code_of_any_case_chooses_the_scope_and_shows_it_chosen(client, personas, snapshot):
    client.force_login(personas["alice"])

    response = client.get("/dashboard/", {"site": " sitea "})
    every = client.get("/dashboard/", {"site": ""})

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["site"].code == "SITEA"
    assert '<option value="SITEA" selected>' in page
    assert 'data-panel-url="/dashboard/panel?site=SITEA"' in page
    assert (every.status_code, every.context["site"]) == (200, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [("root", "NOPE"), ("alice", "siteb"), ("charlie", "SITEA"), ("ivy", "id of site A"), ("ivy", "SITEA\x00")],
)
def test_an_unknown_or_unseen_site_is_not_found_on_every_dashboard_url(client, personas, snapshot, site_a, name, value):
    value = str(site_a.pk) if value == "id of site A" else value
    client.force_login(personas[name])

    for url in ("/dashboard/", "/dashboard/panel", "/dashboard/status", "/dashboard/stats.json"):
        assert client.get(url, {"site": value}).status_code == 404, url


def test_the_site_scope_shows_that_sites_numbers(client, personas, snapshot):
    client.force_login(personas["ivy"])

    registry = client.get("/dashboard/stats.json").json()
    site_b = client.get("/dashboard/stats.json?site=SITEB").json()

    assert (registry["n_patients"], site_b["n_patients"]) == (6, 2)


def test_the_panel_drawn_once_per_snapshot_shows_each_scope_and_each_new_snapshot(client, personas, snapshot, site_a):
    client.force_login(personas["ivy"])
    patients = "<dt>Patients</dt><dd>{}</dd>"

    registry = client.get("/dashboard/panel").content.decode()
    site_b = client.get("/dashboard/panel?site=SITEB").content.decode()
    registry_again = client.get("/dashboard/").content.decode()
    EncounterFactory(procedure=ProcedureFactory(patient=PatientFactory(site=site_a)), kind="baseline")
    stats_refresh()
    after = client.get("/dashboard/panel").content.decode()
    site_b_after = client.get("/dashboard/panel?site=SITEB").content.decode()

    assert patients.format(6) in registry
    assert patients.format(2) in site_b
    assert patients.format(6) in registry_again
    assert patients.format(7) in after
    assert patients.format(2) in site_b_after
    assert 'href="/dashboard/stats.json?site=SITEB"' in site_b
    assert 'href="/dashboard/stats.json"' in registry


def test_the_panel_is_drawn_once_a_snapshot_and_kept_in_the_cache_one_entry_a_scope(
    client, personas, snapshot, site_a, monkeypatch
):
    """Django's cache (settings.CACHES) holds the drawn panel: the same for every user of a scope,
    drawn again only for a newer snapshot of the scope, which replaces the older in the cache."""
    from django.core.cache import cache

    from analysis import views

    drawn = []
    render_to_string = views.render_to_string
    monkeypatch.setattr(views, "render_to_string", lambda *a, **k: drawn.append(a[0]) or render_to_string(*a, **k))
    cache.clear()
    client.force_login(personas["ivy"])

    first = client.get("/dashboard/panel").content
    for url in ("/dashboard/", "/dashboard/panel", "/dashboard/panel?site=SITEB", "/dashboard/?site=SITEB"):
        client.get(url)
    client.force_login(personas["root"])

    def shared(panel):  # the part every user of the scope shares: the table by site depends on the role
        return panel.split(b'<section class="sites-completeness"')[0]

    assert shared(client.get("/dashboard/panel").content) == shared(first)
    assert drawn == ["analysis/_panel_body.html"] * 2  # the registry's and site B's
    entries = len(cache._cache)  # the LocMemCache of settings.CACHES

    EncounterFactory(procedure=ProcedureFactory(patient=PatientFactory(site=site_a)), kind="baseline")
    stats_refresh()
    client.get("/dashboard/panel")
    client.get("/dashboard/panel")
    assert len(drawn) == 3
    assert len(cache._cache) == entries  # the new snapshot's panel took the place of the old one's

    cache.clear()
    client.get("/dashboard/panel")
    assert len(drawn) == 4


def test_a_table_downloads_as_the_page_shows_it(client, personas, snapshot):
    client.force_login(personas["ivy"])

    response = client.get("/dashboard/tables/demographics.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # Each word of the name once: not "sacral-registry-registry-demographics".
    name = response["Content-Disposition"].removeprefix('attachment; filename="').removesuffix('.csv"')
    words = [word for word in name.split("-") if not word.isdigit()]
    assert words == ["sacral", "registry", "demographics"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["treatment", "n", "age_mean", "male"]
    assert rows[1][:2] == ["PSFS", "3"]
    assert rows[2][:2] == ["Sacroplasty", "3"]
    assert float(rows[1][2]) == Snapshot.objects.get(site=None).document["demographics"]["psfs"]["age_mean"]
    assert client.get("/dashboard/tables/nothing.csv").status_code == 404


def test_csv_downloads_hold_numbers_in_columns_of_their_own(client, personas, snapshot):
    client.force_login(personas["alice"])

    response = client.get("/dashboard/tables/msts-pathological.csv?site=SITEA")

    name = response["Content-Disposition"].removeprefix('attachment; filename="').removesuffix('.csv"')
    assert name.startswith("sacral-registry-SITEA-msts-pathological-")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, total = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert header[-5:] == ["difference", "ci_low", "ci_high", "p_value", "n"]
    document = Snapshot.objects.get(site__code="SITEA").document
    pre = document["strata"]["pathological"]["groups"]["psfs"]["msts_pre"]["total"]
    assert float(total["psfs_pre_mean"]) == pre
    ancova = document["strata"]["pathological"]["ancova"]["total"]
    assert total["difference"] == ("" if ancova.get("difference") is None else str(ancova["difference"]))
    assert not any("±" in cell or " to " in cell or cell == "—" for row in rows for cell in row)


def test_the_whole_document_downloads_as_json(client, personas, snapshot):
    client.force_login(personas["ivy"])

    response = client.get("/dashboard/stats.json")

    assert response.status_code == 200
    assert response.json() == Snapshot.objects.get(site=None).document


def test_status_tells_a_new_snapshot_apart(client, personas, snapshot, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(refresh_cohort_stats, "apply_async", lambda **kwargs: None)  # the broker is outside
    client.force_login(personas["ivy"])
    before = client.get("/dashboard/status").json()

    with django_capture_on_commit_callbacks(execute=True):
        EncounterFactory(procedure=Procedure.objects.first(), date=datetime.date(2023, 9, 1), msts_gait=5)
    stale = client.get("/dashboard/status").json()
    stats_refresh()
    after = client.get("/dashboard/status").json()

    assert before["status"] == "fresh"
    assert stale["status"] == "stale"
    assert stale["version"] == before["version"]
    assert after["status"] == "fresh"
    assert after["version"] != before["version"]


def test_before_the_first_refresh_the_page_says_so(client, personas):
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/").content.decode()

    assert "No statistics yet" in page
    assert client.get("/dashboard/stats.json").status_code == 404


def _dashboard_queries(client) -> int:
    """Queries of the three dashboard requests once warm (the drawing of a new snapshot is
    cached after its first request, and the session is renewed at most once a minute)."""
    for url in ("/dashboard/", "/dashboard/panel", "/dashboard/status"):
        client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/").status_code == 200
        assert client.get("/dashboard/panel").status_code == 200
        assert client.get("/dashboard/status").status_code == 200
    return len(queries)


def test_the_dashboard_reads_the_same_few_queries_for_10_and_1000_patients(client, personas, site_a):
    _cohort(site_a, 10)
    stats_refresh()
    client.force_login(personas["ivy"])
    small = _dashboard_queries(client)

    template = Patient.objects.first()
    Patient.objects.bulk_create(
        Patient(
            study_id=f"BULK-{i}",
            site=site_a,
            mrn=f"BULK{i}",
            birth_date=template.birth_date,
            sex="male",
            primary_cancer="lung",
        )
        for i in range(990)
    )
    stats_refresh()
    large = _dashboard_queries(client)

    assert Snapshot.objects.get(site=None).document["n_patients"] == 1000
    assert small == large
    assert large <= 3 * 12  # session, user and role, sites, refresh state, snapshot: per request


def test_the_demo_cohort_page_draws_survival_and_incidence_with_the_documents_numbers_at_risk(client, personas):
    demo_cohort_load()
    stats_refresh()
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/").content.decode()

    document = Snapshot.objects.get(site=None).document
    start = page.index('<section class="followup"')
    section = page[start : page.index("</section>", start)]
    survival_svg = section[section.index("<svg ") : section.index("</svg>") + 6]
    assert 'class="ci-band"' in survival_svg
    shown = dict(re.findall(r'data-treatment="sacroplasty" data-day="(\d+)"[^>]*>(\d+)</text>', survival_svg))
    expected = document["survival"]["sacroplasty"]["at_risk"]
    assert {day: int(n) for day, n in shown.items() if day in ("0", "90", "180", "365")} == {
        day: expected[day] for day in ("0", "90", "180", "365")
    }
    assert "Cumulative incidence of a first secondary procedure" in section
    assert "MSTS trajectory over every follow-up: adjusted difference" in section
    assert "Responders: final MSTS total at least the MCID above baseline" in section
    assert "not computed yet" not in section


def test_a_snapshot_from_before_the_follow_up_keys_says_not_computed_yet(client, personas, snapshot):
    old = Snapshot.objects.get(site=None)
    for key in ("survival", "secondary_procedure_incidence", "trajectory", "responders"):
        old.document.pop(key, None)
    old.fingerprint = "older"
    old.save()
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/").content.decode()

    for text in ("Survival", "Incidence of a secondary procedure", "Trajectory", "Responders"):
        assert f"{text}: not computed yet." in page
    assert client.get("/dashboard/tables/survival.csv").status_code == 404


def test_an_empty_scope_reads_as_text_not_field_names(client, personas, snapshot):
    empty = SiteFactory(code="SITEE", name="Empty hospital")
    stats_refresh()
    client.force_login(personas["root"])

    page = client.get("/dashboard/?site=SITEE").content.decode()

    assert "Cohort dashboard" in page and "SITEE" in page
    assert Snapshot.objects.get(site=empty).document["n_patients"] == 0
    both = "needs patients of both treatments (PSFS: no patients, Sacroplasty: no patients)"
    assert f"All: Not enough data: {both}" in page
    assert "All: Not enough data: no patient in this group" in page
    for internal in ("age_mean:", "psfs 0", "sacroplasty 0", "ci_at_days"):
        assert internal not in page

"""The dashboard's follow-up flow diagram and its table, the by-site table (completeness for registry
admins, sign-off for investigators too) and its cost in queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.services import stats_refresh
from analysis.tests.test_completeness_cohort import PASSWORD, _patient
from outcomes import services as outcome_services
from registry.sign_off import procedure_sign_off, procedure_unlock
from registry.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

BY_SITE_ADMIN = "Follow-up completeness and sign-off by site"
BY_SITE = "Patients signed off by site"


@pytest.fixture
def registry(site_a, site_b, personas):
    """Site A: one patient done / missed / done, one missed / not done (too ill) / lost; site B: one
    missed three times and signed off."""
    _patient(site_a, days_ago=130, stratum="pathological", treatment="psfs", followups=(14, 100))
    _patient(
        site_a,
        days_ago=100,
        stratum="impending",
        treatment="psfs",
        status=("lost_to_follow_up", 80),
        not_done={"month1": "too_ill"},
    )
    signed = _patient(site_b, days_ago=200, stratum="impending", treatment="sacroplasty")
    procedure_sign_off(user=personas["root"], procedure=signed, password=PASSWORD)
    stats_refresh()
    return signed


def row_cells(page: str, label: str) -> list[str]:
    """The cells of the table row headed ``label`` (the first such row of the page)."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page, re.S)
    assert match, label
    return re.findall(r"<td>(.*?)</td>", match.group(1))


def test_the_flow_diagram_and_its_table_show_the_scopes_counts(client, personas, registry):
    client.force_login(personas["alice"])

    page = client.get("/dashboard/").content.decode()

    assert '<svg class="chart" viewBox="0 0 660 346"' in page
    assert "<title>Follow-up flow</title>" in page
    assert ">Index procedures: 3<" in page
    # Index procedures, not yet open, died, withdrew, lost; expected, done, not done, missed, pending.
    assert row_cells(page, "1-2 weeks (days 7-21)") == ["3", "0", "0", "0", "0", "3", "1", "0", "2", "0"]
    assert row_cells(page, "1 month (days 22-45)") == ["3", "0", "0", "0", "0", "3", "0", "1", "2", "0"]
    assert row_cells(page, "3 months (days 75-120)") == ["3", "0", "0", "0", "1", "2", "1", "0", "1", "0"]
    assert "1 month, not done: too ill 1." in page
    assert "Index procedures signed off as complete: <strong>1</strong> of 3." in page
    assert BY_SITE_ADMIN not in page and BY_SITE not in page  # clinicians: no table by site


def test_registry_admins_see_completeness_by_site(client, personas, registry):
    client.force_login(personas["root"])

    page = client.get("/dashboard/").content.decode()
    panel = client.get("/dashboard/panel").content.decode()

    assert BY_SITE_ADMIN in page and BY_SITE_ADMIN in panel  # the panel swapped in live carries it too
    # Index procedures, signed off; per window expected, done, not done, missed, pending.
    assert row_cells(page, "SITEA · Site A hospital") == [
        *("2", "0"),
        *("2", "1", "0", "1", "0"),
        *("2", "0", "1", "1", "0"),
        *("1", "1", "0", "0", "0"),
    ]
    assert row_cells(page, "SITEB · Site B hospital")[:4] == ["1", "1", "1", "0"]
    assert client.get("/dashboard/?site=SITEA").content.decode().count(BY_SITE_ADMIN) == 0


def test_investigators_see_the_counts_signed_off_by_site_but_not_completeness_by_site(client, personas, registry):
    client.force_login(personas["ivy"])

    page = client.get("/dashboard/").content.decode()

    assert BY_SITE_ADMIN not in page
    assert BY_SITE in page
    assert row_cells(page, "SITEA · Site A hospital") == ["2", "0"]
    assert row_cells(page, "SITEB · Site B hospital") == ["1", "1"]
    assert ">Index procedures: 3<" in page  # the flow's counts, no dates


def test_a_visit_marked_not_done_changes_the_flow_in_the_next_panel(client, personas, registry):
    client.force_login(personas["root"])
    before = client.get("/dashboard/panel").content.decode()
    procedure_unlock(user=personas["root"], procedure=registry, reason="late news from the family doctor")
    outcome_services.visit_not_done_create(user=None, procedure=registry, visit="month3", reason="too_ill")

    stats_refresh()

    after = client.get("/dashboard/panel").content.decode()
    assert row_cells(before, "3 months (days 75-120)")[5:] == ["2", "1", "0", "1", "0"]
    assert row_cells(after, "3 months (days 75-120)")[5:] == ["2", "1", "1", "0", "0"]
    assert "3 months, not done: too ill 1." in after


def _queries(client) -> int:
    for url in ("/dashboard/", "/dashboard/panel"):
        client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/").status_code == 200
        assert client.get("/dashboard/panel").status_code == 200
    return len(queries)


def test_the_table_by_site_costs_the_same_queries_for_two_sites_and_for_six(client, personas, registry):
    client.force_login(personas["root"])
    two = _queries(client)
    for n in range(4):
        site = SiteFactory(code=f"MORE{n}")
        _patient(site, days_ago=30 + n, stratum="pathological", treatment="psfs")
    stats_refresh()

    six = _queries(client)
    page = client.get("/dashboard/").content.decode()

    assert row_cells(page, "MORE3 · Hospital MORE3")[:2] == ["1", "0"]
    assert two == six

"""The follow-up loop in a real headless Chromium: a missed visit is on the worklist, the clinician
marks it "not done: too ill" through the page, its visit_missed query closes itself, and the
dashboard left open in another tab shows the flow's new counts without a reload."""

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from analysis.services import stats_refresh
from quality.models import DataQuery
from quality.runs import rules_check_all, rules_check_changed
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
WEEK2 = "1-2 weeks (days 7-21)"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def flow_row(page, label: str):
    """The cells of one window's row of the completeness table (index procedures ... pending)."""
    return page.locator("#completeness table tbody tr").filter(has=page.locator(f"th:text-is('{label}')")).locator("td")


def test_a_missed_visit_marked_not_done_leaves_the_worklist_closes_its_query_and_moves_the_flow(
    page, live_server, personas, site_a, artifacts
):
    # Operated 60 days ago, seen at day 30 (the 1-month visit): the 1-2 week visit was missed.
    today = timezone.localdate()
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=today - datetime.timedelta(days=60))
    EncounterFactory(procedure=procedure, kind="baseline")
    EncounterFactory(procedure=procedure, kind="followup", date=procedure.date + datetime.timedelta(days=30))
    rules_check_all()  # the nightly run opens the visit_missed query of the closed window
    stats_refresh()  # what the Celery worker does after a change
    query = DataQuery.objects.get(rule="visit_missed", patient=procedure.patient)
    assert query.status == "open"

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    dashboard = page.context.new_page()
    dashboard.goto(f"{live_server.url}/dashboard/?site=SITEA")
    # Index procedures, not yet open, died, withdrew, lost; expected, done, not done, missed, pending.
    expect(flow_row(dashboard, WEEK2)).to_have_text(["1", "0", "0", "0", "0", "1", "0", "0", "1", "0"])
    dashboard.evaluate("window.__sameDocument = true")  # lost if the page reloads

    page.goto(f"{live_server.url}/worklist/")
    row = page.locator("tr").filter(has_text=procedure.patient.study_id).filter(has_text="1-2 weeks")
    expect(row).to_have_count(1)
    page.screenshot(path=str(artifacts / "completeness-worklist-missed.png"), full_page=True)
    row.locator("a:has-text('Mark not done')").click()
    page.check("input[name='reason'][value='too_ill']")
    page.click("button:has-text('Save')")
    expect(page).to_have_url(f"{live_server.url}/worklist/")
    expect(page.locator("tr").filter(has_text=procedure.patient.study_id).filter(has_text="1-2 weeks")).to_have_count(0)

    rules_check_changed()  # what the Celery worker does after the change
    query.refresh_from_db()
    assert (query.status, query.resolution) == ("closed", "fixed")
    stats_refresh()

    expect(flow_row(dashboard, WEEK2)).to_have_text(["1", "0", "0", "0", "0", "1", "0", "1", "0", "0"], timeout=15_000)
    expect(dashboard.locator("#completeness")).to_contain_text("1-2 weeks, not done: too ill 1.")
    expect(dashboard.locator("#completeness svg")).to_contain_text("Not done: 1")
    assert dashboard.evaluate("window.__sameDocument") is True
    dashboard.screenshot(path=str(artifacts / "completeness-dashboard-after.png"), full_page=True)


@pytest.mark.parametrize("width", [390, 768])
def test_the_flow_and_the_table_by_site_fit_a_phone_without_scrolling_sideways(
    chromium, live_server, personas, site_a, site_b, width
):
    today = timezone.localdate()
    for site in (site_a, site_b):
        procedure = ProcedureFactory(patient=PatientFactory(site=site), date=today - datetime.timedelta(days=60))
        EncounterFactory(procedure=procedure, kind="followup", date=procedure.date + datetime.timedelta(days=30))
    stats_refresh()
    client = Client()
    client.force_login(personas["root"])  # a registry admin, second factor included (conftest)
    context = chromium.new_context(viewport={"width": width, "height": 800})
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()

    page.goto(f"{live_server.url}/dashboard/")

    expect(page.locator("#completeness svg")).to_be_visible()
    expect(page.locator("#sites-completeness table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()

"""A new user's first look, in a real headless Chromium (issue: data entry staff can trust, item 15):
on a fresh demo the clinician's worklist holds the demo clinic's visits due and overdue today, and
once real patients are there the dashboard leaves the demo patients out, with a toggle."""

import io

import pytest
from django.core.management import call_command

from analysis import services as analysis_services
from demo.management.commands import setup_demo
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory, SiteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture
def demo_accounts(monkeypatch, tmp_path):
    monkeypatch.setattr(setup_demo, "ACCOUNTS_FILE", tmp_path / "demo-accounts.txt")
    call_command("setup_demo", stdout=io.StringIO())
    return {line.split()[1]: line.split()[2] for line in setup_demo.ACCOUNTS_FILE.read_text().splitlines()}


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button:has-text('Log in')")


def test_the_demo_clinicians_worklist_shows_the_clinics_visits_due_and_overdue(page, live_server, demo_accounts):
    log_in(page, live_server, "demo-clinician", demo_accounts["demo-clinician"])
    page.goto(f"{live_server.url}/worklist/?site=DEMO-CLINIC")

    clinic = page.locator("section.worklist-site", has_text="DEMO-CLINIC")
    expect(clinic.locator("h2")).to_contain_text("DEMO-CLINIC")
    assert clinic.locator("tr.status-due").count() == 5
    assert clinic.locator("tr.status-overdue").count() >= 3
    expect(clinic.locator("tr.status-overdue").first.locator(".tag")).to_contain_text("overdue by")


def test_with_real_patients_the_dashboard_leaves_the_demo_ones_out_until_asked(page, live_server, demo_accounts):
    hospital = SiteFactory(code="HOSP")
    for _ in range(2):
        procedure = ProcedureFactory(patient=PatientFactory(site=hospital))
        EncounterFactory(procedure=procedure, kind="baseline")
        EncounterFactory(procedure=procedure, kind="followup")
    analysis_services.stats_refresh()

    log_in(page, live_server, "demo-investigator", demo_accounts["demo-investigator"])
    page.goto(f"{live_server.url}/dashboard/")
    toggle = page.locator("#demo-toggle")
    expect(toggle).to_contain_text("Demo patients are left out")

    toggle.locator("text=Include the demo patients").click()

    expect(page.locator("#demo-toggle")).to_contain_text("Demo patients are included")
    assert page.url.endswith("/dashboard/?demo=include")

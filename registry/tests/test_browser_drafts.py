"""What a clinician typed survives a reload and a session that ended before the save."""

import datetime

import pytest

from outcomes.models import Encounter
from registry.tests.factories import ProcedureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, live_server):
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")


def test_entries_come_back_after_a_reload_and_can_be_discarded(page, live_server, personas, site_a):
    procedure = ProcedureFactory(patient__site=site_a, date=datetime.date(2024, 1, 10))
    form_url = f"{live_server.url}/procedures/{procedure.pk}/encounters/new/"
    page.goto(form_url)
    log_in(page, live_server)
    page.goto(form_url)
    page.check("#id_msts_pain_4")
    page.check("#id_msts_gait_2")
    page.fill("#id_opioid_mme_per_day", "35")

    page.reload()

    expect(page.locator("[data-draft-notice]")).to_contain_text("Restored your unsaved entries")
    assert page.is_checked("#id_msts_pain_4")
    assert page.is_checked("#id_msts_gait_2")
    assert page.input_value("#id_opioid_mme_per_day") == "35"
    expect(page.locator("[data-msts-total]")).to_have_text("Total: not defined (2 of 6 domains scored)")

    page.click("text=Discard them")
    expect(page.locator("[data-draft-notice]")).to_have_count(0)
    assert page.input_value("#id_opioid_mme_per_day") == ""


def test_a_save_after_the_session_ended_keeps_the_entries_through_the_login(page, live_server, personas, site_a):
    procedure = ProcedureFactory(patient__site=site_a, date=datetime.date(2024, 1, 10))
    form_url = f"{live_server.url}/procedures/{procedure.pk}/encounters/new/"
    page.goto(form_url)
    log_in(page, live_server)
    page.goto(form_url)
    page.check("input[name=kind][value=followup]")
    page.fill("#id_date", "2024-02-10")
    for field, value in [("pain", 3), ("function", 3), ("emotional_acceptance", 4)]:
        page.check(f"#id_msts_{field}_{value}")
    for field in ("supports", "walking", "gait"):
        page.check(f"#id_msts_{field}_5")

    page.context.clear_cookies(name="sessionid")  # the session ended while the clinician was typing
    page.click("button:has-text('Save encounter')")
    assert page.url.startswith(f"{live_server.url}/login/")
    log_in(page, live_server)

    assert page.url == form_url
    expect(page.locator("[data-draft-notice]")).to_be_visible()
    expect(page.locator("[data-msts-total]")).to_have_text("Total: 25 / 30 (83.3%)")
    assert Encounter.objects.count() == 0
    with page.expect_navigation():
        page.click("button:has-text('Save encounter')")
    assert page.url == f"{live_server.url}/patients/{procedure.patient_id}/#procedure-{procedure.pk}"

    saved = Encounter.objects.get()
    assert (saved.kind, saved.date, saved.msts_total) == ("followup", datetime.date(2024, 2, 10), 25)
    page.goto(form_url)  # a new form after the save: nothing left over
    expect(page.locator("[data-draft-notice]")).to_have_count(0)

"""A clinician answers a data query from the patient's timeline on a 390 px phone, in a real headless
Chromium; the query list fits the phone and prints without its filters and buttons."""

import pytest

from quality.models import DataQuery
from quality.tests.queries_support import encounter_at, make_query

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def fits(page) -> bool:
    """No sideways scrolling (a wide table scrolls inside its own box)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_clinician_answers_a_query_from_the_timeline_on_a_phone(page, live_server, personas, site_a, artifacts):
    encounter = encounter_at(site_a)
    query = make_query(encounter, message="MME above 1,000 a day: check the dose.")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")

    page.goto(f"{live_server.url}/patients/{encounter.procedure.patient_id}/")
    beside = page.locator(f"#query-{query.pk}")
    expect(beside).to_contain_text("MME above 1,000 a day: check the dose.")
    assert fits(page)
    beside.locator("text=Answer").click()
    page.fill("#id_answer", "Confirmed: the patient takes 1,400 MME.")
    assert fits(page)
    page.click("button:has-text('Save answer')")

    expect(page.locator(".messages")).to_contain_text("Answer saved")
    expect(page.locator(f"#query-{query.pk}")).to_contain_text("Answer: Confirmed: the patient takes 1,400 MME.")
    assert page.url.endswith(f"/patients/{encounter.procedure.patient_id}/#query-{query.pk}")
    query.refresh_from_db()
    assert (query.status, query.answered_by) == ("answered", personas["alice"])

    page.goto(f"{live_server.url}/queries/?status=any")
    expect(page.locator(f"tr#query-{query.pk}")).to_contain_text("Answered")
    assert fits(page)
    page.screenshot(path=str(artifacts / "browser-queries-phone.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("form.filters")).to_be_hidden()
    expect(page.locator(f"tr#query-{query.pk} .row-actions")).to_be_hidden()
    expect(page.locator(f"tr#query-{query.pk}")).to_be_visible()
    assert DataQuery.objects.filter(status="answered").count() == 1

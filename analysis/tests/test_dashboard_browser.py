"""An investigator watches the demo cohort's dashboard in a real headless Chromium; a clinician
records a follow-up, the refresh lands and the open page shows the new numbers without a reload."""

import datetime

import pytest

from analysis.services import stats_refresh
from demo.loader import demo_cohort_load
from outcomes import services as outcome_services
from registry.models import Procedure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def msts_total_row(page, stratum: str):
    return page.locator(f"#stratum-{stratum} table").first.locator("tbody tr").first


def test_an_investigator_sees_the_study_and_the_page_follows_new_data(page, live_server, personas, artifacts):
    demo_cohort_load()
    stats_refresh()

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ivy")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    assert page.url == f"{live_server.url}/dashboard/"

    pathological = msts_total_row(page, "pathological")
    cells = pathological.locator("td")
    # PSFS pre, PSFS post, sacroplasty pre, sacroplasty post, difference, CI, p, n
    expect(cells.nth(1)).to_have_text("22.6")
    expect(cells.nth(3)).to_have_text("18.1")
    expect(cells.nth(6)).to_have_text("0.005")
    impending_p = msts_total_row(page, "impending").locator("td").nth(6)
    assert float(impending_p.inner_text()) > 0.5
    expect(page.locator("#refresh-status")).to_contain_text("Up to date.")
    assert "DEMO-0" not in page.content()  # no MRN anywhere on the page
    page.screenshot(path=str(artifacts / "dashboard-investigator.png"), full_page=True)
    page.evaluate("window.__sameDocument = true")  # lost if the page reloads

    # A clinician records a new, excellent final follow-up for a pathological PSFS patient.
    procedure = (
        Procedure.objects.filter(treatment="psfs", fracture_status="pathological", patient__death_date__isnull=True)
        .order_by("id")
        .first()
    )
    last = procedure.encounters.order_by("-date").first()
    outcome_services.encounter_record(
        user=None,
        procedure=procedure,
        date=min(last.date + datetime.timedelta(days=30), datetime.date.today()),
        kind="followup",
        narcotic_change="decreased",
        **dict.fromkeys(
            ["msts_pain", "msts_function", "msts_emotional_acceptance", "msts_supports", "msts_walking", "msts_gait"],
            5,
        ),
    )
    stats_refresh()  # what the Celery worker does when the refresh task runs

    expect(cells.nth(1)).not_to_have_text("22.6", timeout=15_000)
    new_post = float(cells.nth(1).inner_text())
    assert 22.6 < new_post <= 24.0
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator("#refresh-status")).to_contain_text("Up to date.")
    page.screenshot(path=str(artifacts / "dashboard-after-new-follow-up.png"), full_page=True)

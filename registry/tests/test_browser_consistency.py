"""In a real headless Chromium: a procedure dated before the index procedure, and a PSFS turned
sacroplasty, are saved only after the page has said what changes and the user has confirmed it."""

import datetime
from decimal import Decimal

import pytest

from outcomes.models import Encounter
from registry.models import Procedure, Screw
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
INDEX_DAY = datetime.date(2024, 1, 10)


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def open_logged_in(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.goto(f"{live_server.url}{path}")


def test_an_earlier_procedure_says_it_becomes_the_index_and_saves_once_confirmed(page, live_server, personas, site_a):
    index = ProcedureFactory(patient=PatientFactory(site=site_a), date=INDEX_DAY)
    EncounterFactory(procedure=index, kind="baseline")
    for days in (14, 30, 90):
        EncounterFactory(procedure=index, date=INDEX_DAY + datetime.timedelta(days=days))
    open_logged_in(page, live_server, f"/patients/{index.patient_id}/procedures/new/")

    page.fill("#id_date", "2023-12-01")
    page.check("input[name=treatment][value=sacroplasty]")
    page.select_option("#id_fracture_status", "pathological")
    page.select_option("#id_service", "interventional_radiology")
    page.click("button:has-text('Save procedure')")

    warning = page.locator("#confirm-warnings")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(
        "This procedure (2023-12-01) would become the index procedure instead of PSFS on 2024-01-10; "
        "the 3 follow-ups and 1 baseline of that procedure would no longer count in the analysis."
    )
    assert Procedure.objects.count() == 1

    with page.expect_navigation():  # saved again without ticking the box: asked again, nothing saved
        page.click("button:has-text('Save procedure')")
    expect(page.locator("#confirm-warnings")).to_be_visible()
    assert Procedure.objects.count() == 1

    page.check("#id_confirm_warnings")
    page.click("button:has-text('Save procedure')")

    expect(page.locator("h1")).to_contain_text("Patient ")
    first = Procedure.objects.filter(patient=index.patient).first()
    assert (first.date, first.treatment) == (datetime.date(2023, 12, 1), "sacroplasty")
    assert Encounter.objects.filter(procedure=index).count() == 4


def test_turning_psfs_into_sacroplasty_lists_the_screws_and_removes_them_once_confirmed(
    page, live_server, personas, site_a
):
    screws = [
        {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": Decimal("7.3")},
        {"corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": Decimal("8.0")},
    ]
    procedure = ProcedureFactory(
        patient=PatientFactory(site=site_a), date=INDEX_DAY, screws=[{**s, "fully_threaded": True} for s in screws]
    )
    open_logged_in(page, live_server, f"/procedures/{procedure.pk}/edit/")

    page.check("input[name=treatment][value=sacroplasty]")
    expect(page.locator("[data-screws]")).to_be_hidden()
    page.fill("#id_change_reason", "Sacroplasty alone, no screws were placed")
    page.click("button:has-text('Save procedure')")

    warning = page.locator("#confirm-warnings")
    expect(warning).to_contain_text(
        "Changing the treatment to sacroplasty removes this procedure's 2 screws: "
        "S1 Transiliac-transsacral left 7.3 mm; S2 Ilio-sacral right 8.0 mm."
    )
    assert page.is_checked("input[name=treatment][value=sacroplasty]")
    assert (Procedure.objects.get().treatment, Screw.objects.count()) == ("psfs", 2)

    page.check("#id_confirm_warnings")
    page.click("button:has-text('Save procedure')")

    expect(page.locator("h1")).to_contain_text("Patient ")
    assert (Procedure.objects.get().treatment, Screw.objects.count()) == ("sacroplasty", 0)

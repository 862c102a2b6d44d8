"""In a real headless Chromium: a clinician retracts a duplicate follow-up with a reason, and two
clinicians edit different fields of one visit at the same time and both save."""

import datetime

import pytest

from outcomes.models import Encounter
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory
from registry.tests.test_browser import expect, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit(site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2024, 1, 10))
    EncounterFactory(procedure=procedure, date=datetime.date(2024, 2, 9))
    return EncounterFactory(procedure=procedure, date=datetime.date(2024, 2, 10), msts_pain=2)  # the duplicate


def test_a_clinician_retracts_a_duplicate_follow_up_with_a_reason(page, live_server, personas, visit, artifacts):
    patient = visit.procedure.patient
    log_in(page, live_server)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.locator("tr.encounter")).to_have_count(2)

    page.locator(f"a[href='/retract/encounter/{visit.pk}/']").click()
    expect(page.locator("h1")).to_have_text("Retract encounter (entered in error)")
    page.click("button:has-text('Retract encounter')")  # no reason yet
    expect(page.locator("#id_change_reason_error, #field-change_reason .errorlist")).to_contain_text("required")
    assert Encounter.objects.count() == 2
    page.fill("#id_change_reason", "Same visit entered twice")
    page.click("button:has-text('Retract encounter')")

    expect(page.locator(".messages")).to_contain_text("Follow-up retracted.")
    expect(page.locator("tr.encounter")).to_have_count(1)
    retracted = page.locator("#retracted tbody tr")
    expect(retracted).to_have_count(1)
    expect(retracted).to_contain_text("Encounter 2024-02-10 · Follow-up")
    expect(retracted).to_contain_text("alice")
    expect(retracted).to_contain_text("Same visit entered twice")
    page.screenshot(path=str(artifacts / "browser-retracted-follow-up.png"), full_page=True)

    retracted.locator("a:has-text('History')").click()
    expect(page.locator("#retracted-record")).to_be_visible()
    expect(page.locator("tr.event-delete")).to_contain_text("Same visit entered twice")
    assert list(Encounter.objects.values_list("pk", flat=True)) != [visit.pk]


def test_two_clinicians_edit_different_fields_of_a_visit_and_both_save(chromium, page, live_server, personas, site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2024, 1, 10))
    visit = EncounterFactory(procedure=procedure, date=datetime.date(2024, 2, 9))
    url = f"{live_server.url}/encounters/{visit.pk}/edit/"
    other = chromium.new_context(viewport={"width": 1280, "height": 900})
    bob = other.new_page()
    try:
        log_in(page, live_server, "alice")
        log_in(bob, live_server, "bob")
        page.goto(url)
        bob.goto(url)

        bob.check("input[name=msts_pain][value='5']")
        bob.fill("#id_change_reason", "pain score misread")
        bob.click("button:has-text('Save')")
        expect(bob.locator(".messages")).to_contain_text("saved")

        page.fill("#id_opioid_mme_per_day", "30")
        page.fill("#id_change_reason", "dose from the pharmacy list")
        page.click("button:has-text('Save')")

        expect(page.locator(".messages")).to_contain_text(
            "Merged with the changes bob saved while you were editing: Pain kept the value bob saved."
        )
    finally:
        other.close()
    visit.refresh_from_db()
    assert (visit.msts_pain, str(visit.opioid_mme_per_day), visit.version) == (5, "30.0", 3)

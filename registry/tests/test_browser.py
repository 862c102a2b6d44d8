"""A clinician's day in a real headless Chromium: log in, new patient, PSFS procedure with two
screws, baseline and follow-up MSTS (running total), timeline and worklist."""

import datetime
import re

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def expect(locator):
    """Playwright's retrying assertion (the scripts run after the page has loaded)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, live_server, username="alice"):
    page.goto(f"{live_server.url}/")
    assert page.url == f"{live_server.url}/login/?next=/"
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")


def score(page, field, value, expected_total):
    page.check(f"#id_{field}_{value}")
    expect(page.locator("[data-msts-total]")).to_have_text(expected_total)


def test_a_clinician_records_a_patient_from_login_to_worklist(page, live_server, personas, artifacts):
    today = timezone.localdate()
    operated = today - datetime.timedelta(days=10)

    log_in(page, live_server)
    assert page.url == f"{live_server.url}/worklist/"
    assert page.inner_text("main .empty") == "No follow-up visit is due or overdue."

    # New patient
    page.click("nav >> text=Patients")
    page.click("text=New patient")
    page.fill("#id_mrn", "BRW-0001")
    page.fill("#id_birth_date", "1957-08-30")
    page.select_option("#id_sex", "female")
    page.select_option("#id_primary_cancer", "multiple_myeloma")
    page.click("button:has-text('Save patient')")
    heading = page.inner_text("h1")
    assert re.fullmatch(r"Patient SAC-\d{5}", heading)
    study_id = heading.removeprefix("Patient ")

    # PSFS procedure with two screws: the screw rows appear with the treatment
    page.click("text=New procedure")
    expect(page.locator("[data-screws]")).to_be_hidden()
    page.fill("#id_date", operated.isoformat())
    page.check("#id_treatment_0")  # PSFS
    expect(page.locator("[data-screws]")).to_be_visible()
    page.check("#id_treatment_1")  # sacroplasty hides them again
    expect(page.locator("[data-screws]")).to_be_hidden()
    page.check("#id_treatment_0")
    page.select_option("#id_fracture_status", "pathological")
    page.select_option("#id_service", "orthopaedics")
    for index, (corridor, trajectory, side, diameter) in enumerate(
        [("S1", "transsacral", "left", "7.3"), ("S2", "iliosacral", "right", "8.0")]
    ):
        page.select_option(f"#id_screws-{index}-corridor", corridor)
        page.select_option(f"#id_screws-{index}-trajectory", trajectory)
        page.select_option(f"#id_screws-{index}-side", side)
        page.fill(f"#id_screws-{index}-diameter_mm", diameter)
    page.click("[data-add-screw]")  # a third row, left blank, is not a screw
    expect(page.locator("[data-screw-row]")).to_have_count(3)
    page.screenshot(path=str(artifacts / "browser-procedure-form.png"), full_page=True)
    page.click("button:has-text('Save procedure')")
    assert page.locator("table:has(caption:text('Screws')) tbody tr").count() == 2
    assert "Transiliac-transsacral" in page.inner_text("section.procedure")

    # Baseline MSTS, with the running total
    page.click("text=Record encounter")
    assert page.is_checked("#id_kind_0")  # baseline first
    expect(page.locator("[data-followup-only]")).to_be_hidden()
    page.fill("#id_date", operated.isoformat())
    score(page, "msts_pain", 0, "Total: not defined (1 of 6 domains scored)")
    score(page, "msts_function", 1, "Total: not defined (2 of 6 domains scored)")
    score(page, "msts_emotional_acceptance", 1, "Total: not defined (3 of 6 domains scored)")
    score(page, "msts_supports", 2, "Total: not defined (4 of 6 domains scored)")
    score(page, "msts_walking", 2, "Total: not defined (5 of 6 domains scored)")
    score(page, "msts_gait", 3, "Total: 9 / 30 (30.0%)")
    score(page, "msts_gait", 4, "Total: 10 / 30 (33.3%)")
    page.click("button:has-text('Save encounter')")
    assert "10/30 (33.3%)" in page.inner_text("section.procedure")
    assert "1-2 weeks visit, due now" in page.inner_text(".next-visit")

    # The worklist lists the 1-2 week visit; its link opens the follow-up form pre-filled
    page.click("nav >> text=Worklist")
    row = page.locator("table.worklist tbody tr")
    assert row.count() == 1
    assert study_id in row.inner_text() and "1-2 weeks" in row.inner_text()
    page.screenshot(path=str(artifacts / "browser-worklist.png"), full_page=True)
    row.locator("text=Record follow-up").click()
    assert page.is_checked("#id_kind_1")
    assert page.input_value("#id_date") == today.isoformat()
    expect(page.locator("[data-followup-only]")).to_be_visible()
    for field, value in [
        ("msts_pain", 3),
        ("msts_function", 3),
        ("msts_emotional_acceptance", 4),
        ("msts_supports", 3),
        ("msts_walking", 4),
    ]:
        page.check(f"#id_{field}_{value}")
    score(page, "msts_gait", 5, "Total: 22 / 30 (73.3%)")
    page.check("#id_narcotic_change_1")  # decreased
    page.fill("#id_opioid_mme_per_day", "20")
    page.screenshot(path=str(artifacts / "browser-encounter-form.png"), full_page=True)
    page.click("button:has-text('Save encounter')")

    timeline = page.inner_text("section.procedure")
    assert "22/30 (73.3%)" in timeline and "Narcotics decreased." in timeline and "20.0 MME/day" in timeline
    assert "1-2 weeks" in page.inner_text("table.timeline tr.encounter:nth-child(2)")
    page.screenshot(path=str(artifacts / "browser-timeline.png"), full_page=True)

    page.locator("table.timeline tr.encounter").nth(1).locator("text=History").click()
    history = page.locator("table.history tbody tr")
    expect(history).to_have_count(1)
    assert "alice" in history.inner_text() and "Pain: 3" in history.inner_text()
    page.screenshot(path=str(artifacts / "browser-history.png"), full_page=True)

    page.click("nav >> text=Worklist")
    assert page.inner_text("main .empty") == "No follow-up visit is due or overdue."


def test_a_service_error_keeps_the_entries_and_the_investigator_sees_no_form(page, live_server, personas, site_a):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/patients/new/")
    page.fill("#id_mrn", "BRW-0002")
    page.fill("#id_birth_date", "1960-01-01")
    page.select_option("#id_sex", "male")
    page.select_option("#id_primary_cancer", "other")
    page.click("button:has-text('Save patient')")

    assert (
        page.inner_text("#field-primary_cancer_detail .errorlist") == "Describe the primary cancer when it is 'other'."
    )
    assert page.input_value("#id_mrn") == "BRW-0002"

    page.click("button:has-text('Log out')")
    log_in(page, live_server, "ivy")
    assert page.url == f"{live_server.url}/dashboard/"
    response = page.goto(f"{live_server.url}/patients/new/")
    assert response.status == 403


def test_a_stale_edit_asks_only_about_the_field_both_changed_and_keeps_the_entries(
    page, live_server, personas, site_a, artifacts
):
    from registry import services
    from registry.tests.factories import PatientFactory

    patient = PatientFactory(site=site_a, mrn="BRW-0003", primary_cancer="breast")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/patients/{patient.pk}/edit/")
    page.select_option("#id_primary_cancer", "lung")
    page.fill("#id_change_reason", "wrong primary")
    # bob saves a change while alice is typing
    services.patient_update(
        user=personas["bob"], patient=patient, data={"primary_cancer": "liver"}, expected_version=1, reason="chart"
    )
    page.click("button:has-text('Save patient')")

    notice = page.locator("#stale-edit")
    expect(notice).to_contain_text("Not saved: someone else changed this record while you were editing it,")
    choices = page.locator("#merge-choices tbody tr")
    expect(choices).to_have_count(1)
    assert [" ".join(cell.split()) for cell in choices.inner_text().split("\t")] == [
        "Primary cancer",
        "Keep theirs: Liver",
        "Use mine: Lung",
    ]
    assert page.input_value("#id_primary_cancer") == "lung"
    page.screenshot(path=str(artifacts / "browser-stale-edit.png"), full_page=True)
    patient.refresh_from_db()
    assert patient.primary_cancer == "liver"

    page.check("input[name=merge_primary_cancer][value=theirs]")
    page.click("button:has-text('Save patient')")

    expect(page.locator("h1")).to_have_text(f"Patient {patient.study_id}")
    patient.refresh_from_db()
    assert (patient.primary_cancer, patient.version) == ("liver", 2)  # nothing of alice's left to save

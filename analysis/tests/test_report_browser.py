"""An investigator opens the demo cohort's study report in a real headless Chromium, finds the
study's figures and the report's sections, and prints it to PDF: the path README documents
("Print / save as PDF", the browser's own PDF), so no PDF library is needed on the server."""

import re

import pytest

from analysis.services import stats_refresh
from demo.loader import demo_cohort_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
SECTIONS = (
    "Source of the numbers",
    "Methods",
    "Demographics",
    "Pathological fractures",
    "Impending fractures",
    "Beyond the study",
    "Complications",
)


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_an_investigator_prints_the_demo_report_to_pdf(page, live_server, personas, artifacts):
    demo_cohort_load()
    stats_refresh()

    page.goto(f"{live_server.url}/login/?next=/dashboard/report%3Fsite%3DDEMO")
    page.fill("#id_username", "ivy")
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Log in')")
    assert page.url == f"{live_server.url}/dashboard/report?site=DEMO"

    text = re.sub(r"\s+", " ", page.inner_text("#report"))
    assert "post-operative MSTS total 22.6 after PSFS and 18.1 after sacroplasty; ANCOVA p = 0.005." in text
    pathological_total = page.locator("#stratum-pathological table").first.locator("tbody tr").first
    # The study's layout: PSFS pre, PSFS post, p, sacroplasty pre, sacroplasty post.
    assert pathological_total.locator("th, td").all_inner_texts() == [
        "Total (0-30)",
        "7.2",
        "22.6",
        "0.005",
        "10.7",
        "18.1",
    ]
    headings = [h.strip() for h in page.locator("#report h2").all_inner_texts()]
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS)
    assert "Kaplan-Meier" in text and "Aalen-Johansen" in text
    assert "over a span of" in text  # an investigator is told how long, not when
    assert "DEMO-0" not in page.content()  # no MRN anywhere

    # The button opens the browser's print dialog (stubbed here: headless Chromium has none).
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.click("#report-print")
    assert page.evaluate("window.__printed") == 1

    # On paper: no navigation, no buttons; each section starts a page.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("#report-print")).to_be_hidden()
    expect(page.locator("#stratum-pathological")).to_have_css("break-before", "page")

    page.screenshot(path=str(artifacts / "report-demo-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / "report-demo.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= len(SECTIONS) - 1  # the first section shares the title page

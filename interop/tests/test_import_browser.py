"""The Import page in a real headless Chromium: an admin uploads a workbook with one bad row, sees
the check's report (the row, its field and message, nothing imported), fixes the file, uploads it
again and imports it. Celery runs the jobs eagerly, after each request's commit."""

import pytest
from django.conf import settings
from django.test import Client
from openpyxl import load_workbook

from interop.models import ImportJob
from interop.tests.test_import import build_registry
from interop.workbook import workbook_write
from registry.models import Patient
from registry.tests.test_browser import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager(settings, tmp_path):  # noqa: F811 (the pytest-django fixture)
    from config.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    yield
    app.conf.task_always_eager = was


def test_an_admin_uploads_a_file_with_a_bad_row_fixes_it_and_imports(
    page, live_server, personas, site_a, site_b, tmp_path, eager
):
    build_registry([site_a, site_b], 3, seed=4)
    good = tmp_path / "registry.xlsx"
    workbook_write(good, user=personas["root"])
    Patient.objects.all().delete()
    book = load_workbook(good)
    right = book["encounters"]["G3"].value
    book["encounters"]["G3"].value = 7  # msts_pain
    bad = tmp_path / "bad.xlsx"
    book.save(bad)

    # The admin's whole login, second factor included (conftest), handed to the browser as its session.
    client = Client()
    client.force_login(personas["root"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.goto(f"{live_server.url}/")
    link = page.locator("nav a", has_text="Import")
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("h1")).to_have_text("Import")
    page.set_input_files("#id_file", str(bad))
    page.click("button:has-text('Upload and check')")

    expect(page.locator("h2")).to_have_text("1 bad row: nothing was imported")
    cells = page.locator("table.import-errors tbody tr td")
    expect(cells).to_have_text(["encounters", "3", "msts_pain", "Ensure this value is less than or equal to 5."])
    expect(page.locator("a:has-text('Download the errors (CSV)')")).to_be_visible()
    expect(page.locator("button:has-text('Import')")).to_have_count(0)
    assert not Patient.objects.exists()

    book["encounters"]["G3"].value = right
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    page.click("text=upload it again")
    page.set_input_files("#id_file", str(fixed))
    page.click("button:has-text('Upload and check')")
    expect(page.locator("text=The check found no error.")).to_be_visible()
    expect(page.locator("table.import-counts tbody tr").first).to_have_text("patients300")
    page.click("button:has-text('Import')")

    expect(page.locator("p.done")).to_have_text("Imported.")
    assert Patient.objects.count() == 3
    assert list(ImportJob.objects.order_by("id").values_list("status", flat=True)) == ["checked", "imported"]

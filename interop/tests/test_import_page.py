"""The admin's Import page: upload, a background check (dry run), the report, the confirmation and
the import; admins only; the uploaded file is kept out of the database and deleted afterwards."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from interop.models import ImportJob
from interop.tests.test_import import build_registry
from interop.workbook import workbook_write
from registry.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_and_private(settings, tmp_path):
    """Celery runs the jobs' tasks in the test's process (after the request's commit); uploads go
    to a folder of the test."""
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.conf.task_always_eager = eager


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _workbook(tmp_path, site_a, site_b, admin, bad: bool) -> bytes:
    build_registry([site_a, site_b], 4, seed=2)
    path = tmp_path / "registry.xlsx"
    workbook_write(path, user=admin)
    Patient.objects.all().delete()
    if bad:
        book = load_workbook(path)
        book["encounters"]["G3"].value = 7  # msts_pain
        book.save(path)
    return path.read_bytes()


def test_an_admin_uploads_sees_the_check_then_imports(
    personas, site_a, site_b, tmp_path, eager_and_private, django_capture_on_commit_callbacks
):
    client = _client(personas["root"])
    content = _workbook(tmp_path, site_a, site_b, personas["root"], bad=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/import/", {"file": SimpleUploadedFile("registry.xlsx", content)})
    job = ImportJob.objects.get()

    assert response.status_code == 302 and response["Location"] == f"/import/{job.pk}/"
    assert (job.status, job.errors, job.report["counts"]["patients"]) == (
        "checked",
        [],
        {"created": 4, "updated": 0, "unchanged": 0},
    )
    assert not Patient.objects.exists()
    assert list(eager_and_private.iterdir()) == [eager_and_private / job.stored_name]
    page = client.get(f"/import/{job.pk}/")
    assert page.status_code == 200 and b"The check found no error." in page.content
    assert client.get(f"/import/{job.pk}/status.json").json()["done"] is True

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/import/{job.pk}/import/")
    job.refresh_from_db()

    assert confirmed.status_code == 302
    assert (job.status, job.stored_name) == ("imported", "")
    assert Patient.objects.count() == 4
    assert list(eager_and_private.iterdir()) == []
    assert client.post(f"/import/{job.pk}/import/").status_code == 409


def test_a_file_with_a_bad_row_shows_it_and_cannot_be_imported(
    personas, site_a, site_b, tmp_path, eager_and_private, django_capture_on_commit_callbacks
):
    client = _client(personas["root"])
    content = _workbook(tmp_path, site_a, site_b, personas["root"], bad=True)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/import/", {"file": SimpleUploadedFile("bad.xlsx", content)})
    job = ImportJob.objects.get()
    page = client.get(f"/import/{job.pk}/")
    errors = client.get(f"/import/{job.pk}/errors.csv")

    assert job.errors == [
        {
            "line": 3,
            "sheet": "encounters",
            "field": "msts_pain",
            "message": "Ensure this value is less than or equal to 5.",
        }
    ]
    assert b"1 bad row: nothing was imported" in page.content
    assert errors.content.decode().splitlines() == [
        "line,sheet,field,message",
        "3,encounters,msts_pain,Ensure this value is less than or equal to 5.",
    ]
    assert client.post(f"/import/{job.pk}/import/").status_code == 409
    assert not Patient.objects.exists()
    assert list(eager_and_private.iterdir()) == []


def test_only_admins_may_import(personas):
    for name in ("alice", "ivy"):
        assert _client(personas[name]).get("/import/").status_code == 403
    assert Client().get("/import/").status_code == 302
    response = _client(personas["root"]).post("/import/", {"file": SimpleUploadedFile("notes.txt", b"x")})
    assert response.status_code == 400 and b"Upload the registry workbook" in response.content
    assert not ImportJob.objects.exists()

"""The Import page's jobs: an admin uploads a file, a Celery task checks it (a dry run), and on the
admin's confirmation, only when the check found no error, a second task imports it. The file waits
in a private folder outside the database (``IMPORT_UPLOAD_DIR``, by default the checkout's run-time
folder), readable by the application only, and is deleted once imported, once its check has
failed, or when the import fails. The running import's progress (rows read) is kept in the cache,
since the import's own transaction hides it from other connections until it commits."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from interop.importer import import_registry
from interop.models import ImportJob
from registry.permissions import is_admin

ADMINS_ONLY = "Only registry admins may import files."
NOT_READY = "This file cannot be imported: its check found errors, or it was imported already."
ALLOWED_SUFFIXES = (".xlsx", ".csv")
WRONG_TYPE = "Upload the registry workbook (.xlsx), the encounter layout (.csv or .xlsx) or a REDCap export (.csv)."


def upload_dir() -> Path:
    folder = Path(getattr(settings, "IMPORT_UPLOAD_DIR", "") or Path(settings.LOCAL_DIR) / "imports")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(job: ImportJob) -> Path:
    return upload_dir() / job.stored_name


def progress_key(job_id: int) -> str:
    return f"interop:import-job:{job_id}:rows"


def job_create(*, user, upload) -> ImportJob:
    """Stores the uploaded file privately and queues its check."""
    if not is_admin(user):
        raise PermissionDenied(ADMINS_ONLY)
    name = os.path.basename(upload.name or "")
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ValidationError({"file": [WRONG_TYPE]})
    stored = f"{secrets.token_hex(16)}{suffix}"
    path = upload_dir() / stored
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
        for chunk in upload.chunks():
            file.write(chunk)
    job = ImportJob.objects.create(created_by=user, file_name=name[:255], stored_name=stored)
    _enqueue(job, dry_run=True)
    return job


def job_confirm(*, user, job: ImportJob) -> ImportJob:
    """The admin's go-ahead after a clean check: queues the real import."""
    if not is_admin(user):
        raise PermissionDenied(ADMINS_ONLY)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if not job.may_import:
            raise ValidationError(NOT_READY)
        job.status = ImportJob.Status.IMPORTING
        job.save(update_fields=["status"])
    _enqueue(job, dry_run=False)
    return job


def _enqueue(job: ImportJob, *, dry_run: bool) -> None:
    from interop.tasks import run_import_job

    cache.set(progress_key(job.pk), 0, 24 * 3600)
    transaction.on_commit(lambda: run_import_job.delay(job.pk, dry_run))


def _report_json(report) -> dict:
    return {
        "dry_run": report.dry_run,
        "counts": report.counts,
        "errors": [{"line": e.line, "sheet": e.sheet, "field": e.field, "message": e.message} for e in report.errors],
    }


def job_run(job_id: int, *, dry_run: bool) -> ImportJob:
    """Runs the job's check or import (the task's body); the report is stored on the job."""
    job = ImportJob.objects.get(pk=job_id)
    path = _path(job)
    rows = 0

    def progress_factory(total):
        def tick(count):
            nonlocal rows
            rows += count
            if rows % 200 == 0:
                cache.set(progress_key(job_id), rows, 24 * 3600)

        return tick

    try:
        report = import_registry(path, dry_run=dry_run, file_name=job.file_name, progress_factory=progress_factory)
    except Exception:
        job.status, job.report = ImportJob.Status.FAILED, {"errors": [_unreadable()]}
        _discard(job)
        raise
    cache.set(progress_key(job_id), rows, 24 * 3600)
    job.report = _report_json(report)
    if report.errors:
        job.status = ImportJob.Status.FAILED if not dry_run else ImportJob.Status.CHECKED
        _discard(job)  # a file with errors is fixed and uploaded again
    else:
        job.status = ImportJob.Status.CHECKED if dry_run else ImportJob.Status.IMPORTED
        if not dry_run:
            _discard(job)
    job.save(update_fields=["status", "report", "stored_name"])
    return job


def _unreadable() -> dict:
    return {"line": 0, "sheet": "file", "field": "file", "message": "The file could not be read."}


def _discard(job: ImportJob) -> None:
    if job.stored_name:
        _path(job).unlink(missing_ok=True)
        job.stored_name = ""
        ImportJob.objects.filter(pk=job.pk).update(stored_name="", status=job.status, report=job.report)

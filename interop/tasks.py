"""Celery tasks of the interop app: thin, they call a service."""

from celery import shared_task

from interop.jobs import job_run


@shared_task(ignore_result=True, soft_time_limit=1800, time_limit=1900)
def run_import_job(job_id: int, dry_run: bool) -> None:
    """Checks (dry run) or imports the file of an Import page job."""
    job_run(job_id, dry_run=dry_run)

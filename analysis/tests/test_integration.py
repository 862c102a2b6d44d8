"""A real Celery worker refreshes the statistics after a clinical write, through the configured broker."""

import os
import time

import pytest
from django.db import connection

from analysis.models import Snapshot
from analysis.selectors import refresh_state, snapshot_latest
from analysis.services import REFRESH_COUNTDOWN_SECONDS
from analysis.tests.workers import database_url_of_the_tests, start_worker, stop_worker
from config.celery import app as celery_app
from registry.tests.factories import PatientFactory, SiteFactory

WAIT_SECONDS = 60 + REFRESH_COUNTDOWN_SECONDS


@pytest.mark.django_db
def test_the_workers_are_given_the_test_database():
    url = database_url_of_the_tests()

    assert url.startswith("postgres://")
    assert url.endswith(f"/{connection.settings_dict['NAME']}")
    assert connection.settings_dict["NAME"].startswith("test_")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_clinical_write_is_followed_by_a_new_snapshot_computed_by_a_real_worker(tmp_path):
    assert connection.settings_dict["NAME"].startswith("test_")
    site = SiteFactory(code="INTEG")
    assert not Snapshot.objects.exists()
    queue = f"analysis-integration-{os.getpid()}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = start_worker(tmp_path / "worker.log", queue)
    try:
        # The write commits (transaction=True), so its on_commit hook enqueues the refresh for real.
        PatientFactory(site=site)
        deadline = time.monotonic() + WAIT_SECONDS
        snapshot = None
        while time.monotonic() < deadline and worker.poll() is None:
            snapshot = snapshot_latest(site_id=None)
            if snapshot is not None and snapshot.document["n_patients"] == 1:
                break
            time.sleep(0.5)
    finally:
        stop_worker(worker)
        celery_app.conf.task_default_queue = default_queue
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert snapshot is not None, f"no snapshot within {WAIT_SECONDS} s; worker log:\n{log[-3000:]}"
    assert snapshot.document["n_patients"] == 1
    assert snapshot_latest(site_id=site.pk).document["n_patients"] == 1
    assert "analysis.tasks.refresh_cohort_stats" in log
    assert refresh_state()["status"] == "fresh"

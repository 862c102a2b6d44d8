"""A real Celery worker refreshes the statistics after a clinical write, through the configured broker."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from analysis.models import Snapshot
from analysis.selectors import refresh_state, snapshot_latest
from analysis.services import REFRESH_COUNTDOWN_SECONDS
from config.celery import app as celery_app
from registry.tests.factories import PatientFactory, SiteFactory

ROOT = Path(settings.BASE_DIR)
WAIT_SECONDS = 60 + REFRESH_COUNTDOWN_SECONDS


def test_database_url() -> str:
    """The URL of the database this test runs on (the test database, never the dev one)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    host = quote(host, safe="") if host.startswith("/") else host
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


def start_worker(log: Path, queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    command = [
        sys.executable,
        *("-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname", f"{queue}@%h"),
        # Only this test's queue: no other process's refresh runs on the test database, nor this one elsewhere.
        *("--queues", queue),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)  # noqa: S603


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


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

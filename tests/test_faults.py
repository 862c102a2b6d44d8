"""Faults a hospital deployment meets, each against real servers and processes:
the worker stopped, the broker down, the database restarted, a refresh killed halfway."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from analysis.models import RefreshState, Snapshot
from analysis.selectors import refresh_state
from analysis.services import stats_refresh
from analysis.tests.workers import database_url_of_the_tests, stop_worker
from config.celery import app as celery_app
from registry.models import Patient
from registry.tests.factories import EncounterFactory, PatientFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
MRN = "FAULT-MRN-4711"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(**extra) -> dict:
    """The environment of a process of the app that must use this test's database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url_of_the_tests(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra,
    }


def wait_for(predicate, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds} s: {what}")


def http_get(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def clinician(personas):
    return personas["alice"]


def test_with_the_worker_stopped_entry_and_the_api_work_and_the_dashboard_says_stale(client, clinician, site_a):
    encounter = EncounterFactory(procedure__patient__site=site_a)
    stats_refresh()
    before = Snapshot.objects.get(site=None).document
    # No worker consumes this queue: the refresh task waits in the real broker.
    queue = f"nobody-listens-{os.getpid()}"
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    client.force_login(clinician)
    try:
        created = client.post(
            "/api/encounters/",
            {
                "procedure": encounter.procedure_id,
                "date": "2023-06-01",
                "kind": "followup",
                "msts_pain": 5,
                "narcotic_change": "decreased",
            },
            content_type="application/json",
        )
        page = client.get(f"/patients/{encounter.procedure.patient_id}/")
        status = client.get("/dashboard/status").json()
        dashboard = client.get("/dashboard/").content.decode()
    finally:
        celery_app.conf.task_default_queue = default_queue
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)

    assert created.status_code == 201
    assert page.status_code == 200
    assert status["status"] == "stale"
    assert "Stale: data changed since; a refresh is on its way." in dashboard
    assert Snapshot.objects.get(site=None).document == before  # the last good numbers stay on show
    assert RefreshState.objects.get().scheduled_for is not None  # the refresh waits in the broker


@pytest.mark.skipif(shutil.which("redis-server") is None and os.environ.get("CI") != "true", reason="no redis-server")
def test_with_the_broker_down_saves_succeed_and_the_refresh_follows_once_it_is_back(tmp_path, site_a):
    PatientFactory(site=site_a)
    stats_refresh()
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"  # nothing listens there yet: the broker is down
    write = (
        "import datetime; from registry import services; from registry.models import Site; "
        f"services.patient_create(user=None, site=Site.objects.get(code='SITEA'), mrn='{MRN}', "
        "birth_date=datetime.date(1950, 1, 1), sex='male', primary_cancer='lung')"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", write],
        cwd=ROOT,
        env=app_env(CELERY_BROKER_URL=broker),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert Patient.objects.filter(mrn=MRN).exists()
    assert "Could not schedule a statistics refresh" in result.stderr
    assert MRN not in result.stderr + result.stdout
    assert refresh_state()["status"] == "stale"
    assert RefreshState.objects.get().scheduled_for is None

    redis = subprocess.Popen(  # noqa: S603 - the broker comes back
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = app_env(CELERY_BROKER_URL=broker)
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker = subprocess.Popen(  # noqa: S603
        [
            *celery,
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    beat = subprocess.Popen(  # noqa: S603
        [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "beat.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: Snapshot.objects.get(site=None).document["n_patients"] == 2,
            seconds=90,
            what="beat's stale check refreshing the statistics once the broker is back",
        )
    finally:
        for process in (beat, worker):
            stop_worker(process)
        redis.terminate()
        redis.wait(timeout=10)
    assert refresh_state()["status"] == "fresh"
    assert "refresh_cohort_stats_if_stale" in (tmp_path / "worker.log").read_text(errors="replace")


def test_after_a_database_restart_the_app_serves_again_without_its_own_restart(tmp_path, personas):
    from registry.models import ApiToken

    token = ApiToken.objects.create(user=personas["root"])[1]
    port = free_port()
    web = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=app_env(CONN_MAX_AGE="600"),  # persistent connections: the ones a restart breaks
        stdout=(tmp_path / "web.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Token {token}"}
    try:
        wait_for(lambda: _quiet_get(f"{url}/healthz") == 200, seconds=60, what="gunicorn serving")
        assert http_get(f"{url}/api/patients/", auth) == 200
        # What a restart does to the app: every server connection it holds is cut.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (cut,) = cursor.fetchone()
        assert cut >= 1

        assert http_get(f"{url}/api/patients/", auth) == 200
        assert http_get(f"{url}/healthz") == 200
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=30)


def _quiet_get(url: str) -> int | None:
    try:
        return http_get(url)
    except OSError:
        return None


KILLABLE_REFRESH = """
import sys, time
import django
django.setup()
from django.db.models.query import QuerySet
from analysis import services
from analysis.models import Snapshot

original = QuerySet.update
def slow_update(self, **kwargs):
    # The refresh updates the stored snapshots in place: the first one written, it is killed.
    result = original(self, **kwargs)
    if self.model is Snapshot and "document" in kwargs:
        print("STORING", flush=True)
        time.sleep(120)  # killed here, halfway through storing the snapshots
    return result
QuerySet.update = slow_update
services.stats_refresh()
"""


def test_a_refresh_killed_halfway_leaves_the_last_good_snapshot(site_a):
    PatientFactory(site=site_a)
    stats_refresh()
    good = {row.site_id: (row.computed_at, row.document) for row in Snapshot.objects.all()}
    PatientFactory(site=site_a)  # new data for the refresh that will be killed

    refresh = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", KILLABLE_REFRESH],
        cwd=ROOT,
        env=app_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = refresh.stdout.readline()
        assert line.strip() == "STORING", refresh.stderr.read()[-2000:]
        refresh.send_signal(signal.SIGKILL)
        refresh.wait(timeout=30)
    finally:
        if refresh.poll() is None:
            refresh.kill()

    after = {row.site_id: (row.computed_at, row.document) for row in Snapshot.objects.all()}
    assert after == good
    assert after[None][1]["n_patients"] == 1
    assert refresh_state()["status"] == "refreshing"  # until it counts as interrupted

    stats_refresh()  # the next refresh (beat or a write) computes as usual
    assert Snapshot.objects.get(site=None).document["n_patients"] == 2

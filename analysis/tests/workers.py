"""Helpers of the tests that run a real Celery worker (analysis/tests/test_integration.py,
tests/test_faults.py): the URL of the test database for the processes they start, and a worker
started on a queue of its own and stopped."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def database_url_of_the_tests() -> str:
    """The URL of the database this test runs on (the test database, never the dev one)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    host = quote(host, safe="") if host.startswith("/") else host
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{quote(db['NAME'], safe='')}"


def start_worker(log: Path, queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_tests(),
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

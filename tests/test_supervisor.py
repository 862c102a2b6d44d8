"""`make run`'s supervisor (scripts/run_all.py) with real processes on the loopback: a crashed
child is restarted while the web server keeps answering, and no child outlives the supervisor."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import psutil  # installed with the embedded PostgreSQL's wheel, which needs it
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def scratch_database_url(settings):
    """An empty database of its own on the tests' server: /healthz needs only to reach it."""
    import psycopg

    db = settings.DATABASES["default"]
    name = f"{db['NAME'].removeprefix('test_')}_supervisor"
    connect = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
    with psycopg.connect(**connect, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    yield f"postgres://{quote(db['USER'], safe='')}{password}@{quote(db['HOST'], safe='')}:{db['PORT']}/{name}"
    with psycopg.connect(**connect, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def supervisor(scratch_database_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": scratch_database_url,
        "CELERY_BROKER_FOLDER": str(tmp_path / "broker"),
        "PYTHONUNBUFFERED": "1",
        "SUPERVISOR_TEST_RUN": str(tmp_path),  # inherited by every child: found and killed below
    }
    env.pop("CELERY_BROKER_URL", None)  # the filesystem broker, in the folder above
    for folder in ("queue", "processed", "control"):
        (tmp_path / "broker" / folder).mkdir(parents=True)
    log = open(tmp_path / "run_all.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "scripts/run_all.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 90
        while healthz(url) != 200:
            assert process.poll() is None, (tmp_path / "run_all.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the web server never answered"
            time.sleep(0.3)
        yield process, url
    finally:
        process.kill()
        process.wait(10)
        for survivor in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if survivor.environ().get("SUPERVISOR_TEST_RUN") == str(tmp_path):
                    survivor.kill()
        log.close()


def healthz(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def child(supervisor_pid: int, *words: str) -> psutil.Process | None:
    for process in psutil.Process(supervisor_pid).children():
        try:
            if all(word in process.cmdline() for word in words):
                return process
        except psutil.NoSuchProcess:
            continue
    return None


def test_a_crashed_worker_is_restarted_and_the_web_keeps_serving_and_nothing_outlives_it(supervisor):
    process, url = supervisor
    worker = child(process.pid, "worker")
    assert worker is not None

    answers = []
    watching = threading.Event()
    watching.set()

    def watch():
        while watching.is_set():
            answers.append(healthz(url))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        worker.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        restarted = None
        while restarted is None or restarted.pid == worker.pid:
            assert time.monotonic() < deadline, "no new worker within 10 s"
            time.sleep(0.2)
            restarted = child(process.pid, "worker")
        time.sleep(2)
    finally:
        watching.clear()
        watcher.join()

    assert process.poll() is None
    assert len(answers) > 20
    assert set(answers) == {200}
    assert child(process.pid, "beat") is not None

    # The supervisor is killed outright: its children must not live on without it.
    family = psutil.Process(process.pid).children(recursive=True)
    assert len(family) >= 3
    process.kill()
    process.wait(10)
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert alive == []
    assert healthz(url) is None


def test_sigterm_stops_every_child_once_and_the_supervisor_exits(supervisor, tmp_path):
    process, url = supervisor
    family = psutil.Process(process.pid).children(recursive=True)

    process.send_signal(signal.SIGTERM)

    assert process.wait(25) == 0
    gone, alive = psutil.wait_procs(family, timeout=5)
    assert alive == []
    log = (tmp_path / "run_all.log").read_text()
    assert "restarting" not in log  # stopped, not crashed


def test_the_embedded_server_forgets_processes_that_died_without_deregistering(tmp_path):
    from config.embedded_db import forget_dead_processes

    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead.wait()
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(f"[{os.getpid()}, {dead.pid}]")

    forget_dead_processes(handles)

    assert handles.read_text() == f"[{os.getpid()}]"

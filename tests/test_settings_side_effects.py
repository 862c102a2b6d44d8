"""Importing config.settings only reads: it starts no server, runs no program and writes no file.

The embedded PostgreSQL and the checkout's run-time state (.local/secret_key, the broker folders)
are made by config.embedded_db.ensure_started(), which the commands call before Django reads the
settings. Each test runs a fresh Python process of the checkout under an audit hook that refuses,
and reports, every attempt to write a file, make or change a directory, or start a process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GUARD = r"""
import json, os, sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
EFFECTS = {
    "subprocess.Popen", "os.posix_spawn", "os.spawn", "os.exec", "os.fork", "os.forkpty", "os.system",
    "os.mkdir", "os.rmdir", "os.remove", "os.rename", "os.chmod", "os.chown", "os.truncate",
    "os.symlink", "os.link", "os.utime", "shutil.copyfile", "shutil.move", "shutil.rmtree",
}
attempted = []


def guard(event, args):
    if event == "open":
        path, mode, flags = args
        if not ((isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS):
            return
        effect = f"open {path!s} for writing"
    elif event in EFFECTS:
        effect = f"{event} {args[0] if args else ''}"
    else:
        return
    attempted.append(effect)
    raise PermissionError(f"refused by the test: {effect}")


sys.addaudithook(guard)
result = {"error": None}
try:
    exec(sys.argv[1])
except BaseException as exc:
    result["error"] = f"{type(exc).__name__}: {exc}"
result["attempted"] = attempted
print("RESULT " + json.dumps(result))
"""


def run_guarded(code: str, **env_changes: str) -> dict:
    """Runs ``code`` in a fresh Python process of the checkout, with no database configured."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    for name in ("DATABASE_URL", "EMBEDDED_POSTGRES", "SECRET_KEY", "ALLOW_LOCAL_SECRET_KEY"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="test-only-" + "k" * 50,
        PYTHONDONTWRITEBYTECODE="1",  # the interpreter's own .pyc files are not the settings' doing
        **env_changes,
    )
    process = subprocess.run(
        [sys.executable, "-c", GUARD, code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, process.stdout[-2000:] + process.stderr[-2000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def test_importing_the_settings_without_database_url_starts_no_server_and_writes_no_file():
    result = run_guarded("import config.settings")

    assert result["attempted"] == []
    assert result["error"] is None


def test_without_a_started_server_using_the_database_fails_saying_how_to_start_one():
    code = "import django; django.setup(); from django.db import connection; connection.ensure_connection()"

    result = run_guarded(code)

    assert result["attempted"] == []
    assert result["error"].startswith("ImproperlyConfigured: ")
    assert "DATABASE_URL" in result["error"]
    assert "manage.py" in result["error"]
    assert "make run" in result["error"]


def test_the_settings_read_the_embedded_server_the_command_started():
    code = (
        "from config import settings; db = settings.DATABASES['default']; "
        "assert (db['ENGINE'], db['NAME'], db['USER'], db['HOST'], str(db['PORT'])) == "
        "('django.db.backends.postgresql', 'registry', 'postgres', '/home/Dr X/registry/.pgdata', '5433'), db"
    )

    result = run_guarded(code, EMBEDDED_POSTGRES="/home/Dr X/registry/.pgdata:5433")

    assert result == {"error": None, "attempted": []}


def test_database_url_wins_over_the_embedded_server():
    code = "from config import settings; db = settings.DATABASES['default']; assert db['HOST'] == 'db.example', db"

    result = run_guarded(
        code,
        DATABASE_URL="postgres://registry@db.example:5432/registry",
        EMBEDDED_POSTGRES="/run/pg:5433",
    )

    assert result == {"error": None, "attempted": []}

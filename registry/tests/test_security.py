import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_response_carries_a_strict_content_security_policy(client, db):
    response = client.get("/healthz")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL": "1",
        "ALLOW_LOCAL_SECRET_KEY": "0",
        "SECRET_KEY": "x7" * 30 + "-deploy-check-only-KJH8s7d6f5g4h3j2k1",
        "ALLOWED_HOSTS": "registry.example.org",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["ALLOW_LOCAL_SECRET_KEY"] = "0"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "SECRET_KEY must be set when ALLOW_LOCAL_SECRET_KEY=0." in result.stderr


def test_a_session_ends_after_30_idle_minutes_and_lives_while_used(client, personas, settings, monkeypatch):
    import time as time_module

    from django.contrib.sessions.models import Session

    client.force_login(personas["alice"])
    start = time_module.time()
    monkeypatch.setattr("config.middleware.time.time", lambda: start + 120)
    assert client.get("/patients/").status_code == 200
    session = Session.objects.get()
    renewed = session.expire_date

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert session.get_decoded()["_touched"] == int(start + 120)
    # Within the minute the session is not written again.
    monkeypatch.setattr("config.middleware.time.time", lambda: start + 150)
    assert client.get("/patients/").status_code == 200
    assert Session.objects.get().expire_date == renewed

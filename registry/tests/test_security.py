import datetime
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

    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert session.get_decoded()["_touched"] == int(start + 120)
    # Within the minute the session is not written again.
    monkeypatch.setattr("config.middleware.time.time", lambda: start + 150)
    assert client.get("/patients/").status_code == 200
    assert Session.objects.get().expire_date == renewed


BACKGROUND = {"HTTP_X_BACKGROUND": "1"}  # what the pages' scripts send with their polls and refreshes


def test_a_background_poll_does_not_keep_an_idle_session_alive(client, personas, monkeypatch):
    import time as time_module

    from django.contrib.sessions.models import Session

    client.force_login(personas["ivy"])
    start = time_module.time()
    monkeypatch.setattr("config.middleware.time.time", lambda: start + 120)
    assert client.get("/patients/").status_code == 200  # a person's action
    renewed = Session.objects.get().expire_date

    # Ten minutes of the dashboard polling on an unattended screen: answered, but nobody was there.
    monkeypatch.setattr("config.middleware.time.time", lambda: start + 720)
    response = client.get("/dashboard/status", **BACKGROUND)

    assert response.status_code == 200
    session = Session.objects.get()
    assert session.get_decoded()["_touched"] == int(start + 120)
    assert session.expire_date == renewed


def test_a_background_poll_after_the_idle_limit_ends_the_session(client, personas, settings, monkeypatch):
    import time as time_module

    from django.contrib.sessions.models import Session

    client.force_login(personas["ivy"])
    start = time_module.time()
    monkeypatch.setattr("config.middleware.time.time", lambda: start)
    assert client.get("/patients/").status_code == 200
    # Something else saved the session since (its expiry in the table moved on): the last person's
    # action still counts, not the last write.
    session = client.session
    session["unrelated"] = 1
    session.save()

    monkeypatch.setattr("config.middleware.time.time", lambda: start + settings.SESSION_IDLE_SECONDS + 1)
    poll = client.get("/dashboard/status", **BACKGROUND)
    api = client.get("/api/patients/", **BACKGROUND)
    page = client.get("/patients/")

    assert poll.status_code == 302
    assert poll["Location"].startswith("/login/")
    assert api.status_code == 401
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=/patients/"
    assert not [s for s in Session.objects.all() if "_auth_user_id" in s.get_decoded()]


def test_a_person_acting_after_the_idle_limit_is_signed_out_too(client, personas, settings, monkeypatch):
    import time as time_module

    client.force_login(personas["alice"])
    start = time_module.time()
    monkeypatch.setattr("config.middleware.time.time", lambda: start)
    assert client.get("/patients/").status_code == 200

    monkeypatch.setattr("config.middleware.time.time", lambda: start + settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/patients/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/patients/"
    login_page = client.get(response["Location"])
    assert "You were signed out after a time without activity." in login_page.content.decode()
    # Signed in again, the notice is gone.
    client.force_login(personas["alice"])
    assert client.get("/patients/").status_code == 200
    assert "idle_signed_out" not in client.session


def test_the_store_keeps_an_idle_session_long_enough_to_say_why_it_ended(client, personas, settings):
    """The idle limit is the middleware's to enforce; if the stored session expired at the same
    moment, the first request after the limit would find no session at all, and the login page
    could never say that the user was signed out for inactivity."""
    from django.contrib.sessions.models import Session

    client.force_login(personas["alice"])
    assert client.get("/patients/").status_code == 200

    session = Session.objects.get()
    touched = session.get_decoded()["_touched"]
    idle_deadline = datetime.datetime.fromtimestamp(touched + settings.SESSION_IDLE_SECONDS, tz=datetime.UTC)

    assert session.expire_date >= idle_deadline + datetime.timedelta(minutes=30)

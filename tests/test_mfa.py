"""Two-factor login: admins must pair an authenticator app and give its code (or a recovery code)
before any page, the admin or the session API opens; the token endpoint asks them for the code too;
clinicians are asked only when MFA_REQUIRED_FOR is "all" or when they set it up themselves."""

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import mfa
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)
SETUP, VERIFY = "/mfa/setup/", "/mfa/verify/"


@pytest.fixture(autouse=True)
def no_code_throttle(settings):
    """django-otp slows down repeated wrong codes (tested in test_wrong_codes_...); the other tests
    type a wrong code and the right one within a second."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def current_code(device) -> str:
    device.refresh_from_db()
    return str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift)).zfill(device.digits)


def paired(user, recovery=("aaaa2222", "bbbb3333")) -> TOTPDevice:
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in recovery:
        StaticToken.objects.create(device=static, token=code)
    return device


def password_login(username) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_an_admin_without_a_device_is_sent_to_setup_from_every_page(personas):
    client = password_login("root")

    patients = client.get("/patients/")
    admin = client.get("/admin/")
    api = client.get("/api/patients/")

    assert (patients.status_code, patients.url) == (302, f"{SETUP}?next=%2Fpatients%2F")
    assert (admin.status_code, admin.url) == (302, f"{SETUP}?next=%2Fadmin%2F")
    assert (api.status_code, api.json()) == (403, {"detail": mfa.SECOND_FACTOR_REQUIRED})
    assert client.get(SETUP).status_code == 200


def test_setup_pairs_the_app_then_shows_ten_recovery_codes_once(personas):
    client = password_login("root")

    page = client.get(f"{SETUP}?next=/admin/")
    device = TOTPDevice.objects.get(user=personas["root"])
    wrong = client.post(SETUP, {"code": "000000", "next": "/admin/"})
    right = client.post(SETUP, {"code": current_code(device), "next": "/admin/"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<img" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))  # no inline script
    assert page.context["secret"] in html and len(page.context["secret"]) == 32
    assert not device.confirmed
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"] == [
        "That code is not right: type the code the app shows now (check the phone's clock)."
    ]
    assert right.status_code == 200
    codes = right.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in right.content.decode() for code in codes)
    assert sorted(StaticToken.objects.filter(device__user=personas["root"]).values_list("token", flat=True)) == sorted(
        codes
    )
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/patients/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get(SETUP).status_code == 302  # shown once: setup is over


def test_an_admin_with_a_device_gives_the_current_code(personas):
    device = paired(personas["root"])
    client = password_login("root")

    before = client.get("/patients/")
    wrong = client.post(VERIFY, {"code": "123456", "next": "/patients/"})
    right = client.post(VERIFY, {"code": current_code(device), "next": "/patients/"})

    assert (before.status_code, before.url) == (302, f"{VERIFY}?next=%2Fpatients%2F")
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"] == ["That code is not right, or was already used."]
    assert (right.status_code, right.url) == (302, "/patients/")
    assert client.get("/patients/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_works_once(personas):
    paired(personas["root"])
    first = password_login("root")

    used = first.post(VERIFY, {"code": "AAAA 2222"})
    again = password_login("root").post(VERIFY, {"code": "aaaa2222"})

    assert (used.status_code, used.url) == (302, "/")
    assert again.status_code == 200
    assert again.context["form"].errors["code"] == ["That code is not right, or was already used."]
    assert list(StaticToken.objects.values_list("token", flat=True)) == ["bbbb3333"]


def test_the_next_address_stays_on_this_site(personas):
    paired(personas["root"])
    client = password_login("root")

    response = client.post(VERIFY, {"code": "aaaa2222", "next": "https://evil.example/"})

    assert (response.status_code, response.url) == (302, "/")


def test_a_clinician_is_asked_only_when_required_for_all_or_set_up(personas, settings):
    alice = password_login("alice")
    assert alice.get("/worklist/").status_code == 200

    settings.MFA_REQUIRED_FOR = "all"
    response = password_login("alice").get("/worklist/")
    assert (response.status_code, response.url) == (302, f"{SETUP}?next=%2Fworklist%2F")

    settings.MFA_REQUIRED_FOR = "admins"
    paired(personas["bob"])
    response = password_login("bob").get("/worklist/")
    assert (response.status_code, response.url) == (302, f"{VERIFY}?next=%2Fworklist%2F")


def test_wrong_codes_count_as_failed_logins_and_end_the_session(personas, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    paired(personas["root"])
    client = password_login("root")

    statuses = [client.post(VERIFY, {"code": f"00000{n}"}).status_code for n in range(settings.AXES_FAILURE_LIMIT)]

    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="root").failures_since_start == settings.AXES_FAILURE_LIMIT
    # The device's throttle refused the codes after the first wrong one without checking them.
    assert TOTPDevice.objects.get(user=personas["root"]).throttling_failure_count == 1


def test_force_login_in_tests_counts_as_a_verified_login(client, personas):
    client.force_login(personas["root"])

    assert client.get("/admin/").status_code == 200


# --- The token endpoint ---------------------------------------------------------------------------


def token_request(username, **extra):
    return client_for().post("/api/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json")


def test_an_admin_without_a_device_cannot_get_a_token(personas):
    response = token_request("root", otp="123456")

    assert (response.status_code, response.json()) == (400, {"otp": [mfa.OTP_NO_DEVICE]})


def test_an_admin_gets_a_token_only_with_a_current_code(personas):
    device = paired(personas["root"])

    missing = token_request("root")
    wrong = token_request("root", otp="123456")
    right = token_request("root", otp=current_code(device))
    recovery = token_request("root", otp="bbbb3333", name="second")

    assert (missing.status_code, missing.json()) == (400, {"otp": [mfa.OTP_MISSING]})
    assert (wrong.status_code, wrong.json()) == (400, {"otp": [mfa.OTP_WRONG]})
    assert AccessAttempt.objects.get(username="root").failures_since_start == 1
    assert right.status_code == 200 and set(right.json()) == {"token", "expiry"}
    assert recovery.status_code == 200
    assert personas["root"].auth_token_set.count() == 2


def test_a_clinician_gets_a_token_without_a_code(personas):
    response = token_request("alice")

    assert response.status_code == 200


def test_a_clinician_who_set_it_up_needs_the_code_for_a_token_too(personas):
    device = paired(personas["alice"])

    assert token_request("alice").json() == {"otp": [mfa.OTP_MISSING]}
    assert token_request("alice", otp=current_code(device)).status_code == 200


def test_the_schema_documents_the_otp_field():
    schema = client_for().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/auth/token/"]["post"]
    name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    otp = schema["components"]["schemas"][name]["properties"]["otp"]
    assert re.search("registry admins", otp["description"])
    assert "otp" not in schema["components"]["schemas"][name]["required"]


def test_an_unknown_setting_value_is_refused(monkeypatch):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "MFA_REQUIRED_FOR": "nobody", "DEBUG": "1"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import config.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "MFA_REQUIRED_FOR must be admins or all; got 'nobody'." in result.stderr


def test_the_admin_removes_devices_without_showing_their_secrets(client, personas):
    device = paired(personas["alice"])
    static = StaticDevice.objects.get(user=personas["alice"])
    client.force_login(personas["root"])

    pages = [
        client.get(reverse("admin:otp_totp_totpdevice_changelist")),
        client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
        client.get(reverse("admin:otp_static_staticdevice_change", args=[static.pk])),
    ]
    removed = client.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert device.key not in html and "aaaa2222" not in html and "qrcode" not in html
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(user=personas["alice"]).exists()

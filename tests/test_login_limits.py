"""Failed logins are limited per account and address and per address (password spraying), nobody
can lock a colleague out from elsewhere, made-up usernames leave a bounded trace, and the token
endpoint has a request rate of its own."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from core.logins import UNKNOWN_USERNAME
from registry.tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)
LOCKED = {"detail": "Account locked: too many failed logins. Try again later."}


def token_login(username, password, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_the_limits_are_five_per_account_and_address_and_twenty_per_address():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], "ip_address"]
    assert (settings.AXES_FAILURE_LIMIT, settings.LOGIN_ADDRESS_FAILURE_LIMIT) == (5, 20)


@pytest.fixture
def no_request_rate(monkeypatch):
    """The failed-login limits alone (the token endpoint's request rate would stop these tests first)."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "1000/min"})


def test_spraying_many_usernames_from_one_address_is_stopped_at_the_address_limit(site_a, no_request_rate):
    users = [make_user(f"user{n:02d}", "clinician", [site_a]).username for n in range(25)]

    statuses = [token_login(username, "Summer2024!").status_code for username in users]
    # Even the right password is refused from that address now, for an account never tried.
    make_user("late", "clinician", [site_a])
    right_password = token_login("late", PASSWORD)

    # The failure that reaches the limit is itself answered with the lockout.
    assert statuses == [400] * 19 + [429] * 6
    assert (right_password.status_code, right_password.json()) == (429, LOCKED)
    assert token_login("late", PASSWORD, address="10.0.0.2").status_code == 200


def test_sixty_made_up_usernames_leave_one_row_and_are_stopped(db, no_request_rate):
    statuses = [token_login(f"nobody{n:02d}", "Summer2024!").status_code for n in range(60)]

    assert statuses == [400] * 4 + [429] * 56
    assert list(AccessAttempt.objects.values_list("username", "ip_address", "failures_since_start")) == [
        (UNKNOWN_USERNAME, "10.0.0.1", 5)
    ]
    assert not AccessAttempt.objects.filter(username__startswith="nobody").exists()


def test_a_password_typed_as_username_is_not_stored(db):
    token_login("correct horse battery staple", "alice")

    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [UNKNOWN_USERNAME]


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(client, personas):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        token_login("alice", "wrong", address="203.0.113.9")

    from_attacker = token_login("alice", PASSWORD, address="203.0.113.9")
    from_ward = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")

    assert (from_attacker.status_code, from_attacker.json()) == (429, LOCKED)
    assert from_ward.status_code == 302
    assert token_login("alice", PASSWORD, address="10.1.1.1").status_code == 200


def test_the_web_login_counts_per_address_too(client, site_a):
    users = [make_user(f"user{n:02d}", "clinician", [site_a]).username for n in range(21)]

    statuses = [
        client.post(reverse("login"), {"username": username, "password": "Summer2024!"}).status_code
        for username in users
    ]

    assert statuses == [200] * 19 + [429] * 2
    assert (
        "Try again in 15 minutes." in client.post(reverse("login"), {"username": "x", "password": "y"}).content.decode()
    )


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(settings, personas):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(settings.AXES_FAILURE_LIMIT):
        # The client forges a different left-most address each time; the proxy appends the real one.
        APIClient(REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9").post(
            "/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
        )

    locked = APIClient(REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9").post(
        "/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    other = APIClient(REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR="10.1.1.1").post(
        "/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert locked.status_code == 429
    assert other.status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_the_token_endpoint_has_a_request_rate_per_address(personas):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]
    allowed = int(rate.split("/")[0])

    statuses = [token_login("alice", PASSWORD).status_code for _ in range(allowed + 1)]
    elsewhere = token_login("alice", PASSWORD, address="10.0.0.2")

    assert rate == "10/min"
    assert statuses == [200] * allowed + [429]
    assert elsewhere.status_code == 200

"""API tokens: stored as a digest only, one per client name, expiring after TOKEN_TTL_HOURS, and
revoked by a password change, a lockout or a deactivation; the admin lists and revokes them without
ever seeing a key."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from registry.models import ApiToken
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)
NEW_PASSWORD = "lantern orbit quietly mossy"


def get_token(username="alice", password=PASSWORD, **extra):
    body = {"username": username, "password": password, **extra}
    response = client_for().post("/api/auth/token/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def status_with(token: str) -> int:
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/sites/").status_code


def test_the_token_is_kept_only_as_a_digest_and_expires_after_the_lifetime(personas):
    before = timezone.now()
    body = get_token()

    assert set(body) == {"token", "expiry"}
    stored = ApiToken.objects.get(user=personas["alice"])
    assert body["token"] not in {stored.digest, stored.token_key}
    assert len(stored.digest) == 128 and stored.token_key == body["token"][:15]
    lifetime = datetime.timedelta(hours=settings.TOKEN_TTL_HOURS)
    assert before + lifetime <= stored.expiry <= timezone.now() + lifetime
    assert datetime.datetime.fromisoformat(body["expiry"].replace("Z", "+00:00")) == stored.expiry
    assert status_with(body["token"]) == 200

    ApiToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - datetime.timedelta(seconds=1))

    assert status_with(body["token"]) == 401
    assert not ApiToken.objects.exists()  # an expired token is deleted when presented


def test_the_lifetime_is_a_working_day_by_default():
    assert settings.TOKEN_TTL_HOURS == 10
    assert settings.REST_KNOX["TOKEN_TTL"] == datetime.timedelta(hours=10)
    assert settings.REST_KNOX["AUTO_REFRESH"] is False


def test_a_new_login_with_the_same_client_name_replaces_that_clients_token(personas):
    first = get_token(name="nightly-export")["token"]
    other = get_token(name="dashboard")["token"]
    second = get_token(name="nightly-export")["token"]

    assert (status_with(first), status_with(other), status_with(second)) == (401, 200, 200)
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["dashboard", "nightly-export"]


def test_a_login_without_a_name_is_the_default_client(personas):
    first = get_token()["token"]
    second = get_token()["token"]

    assert (status_with(first), status_with(second)) == (401, 200)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["default"]


def test_a_password_change_revokes_every_token(client, personas):
    tokens = [get_token(name="a")["token"], get_token(name="b")["token"], get_token(username="bob")["token"]]
    client.force_login(personas["alice"])

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert [status_with(token) for token in tokens] == [401, 401, 200]
    assert list(ApiToken.objects.values_list("user__username", flat=True)) == ["bob"]


def test_a_password_set_anywhere_else_revokes_too(personas):
    token = get_token()["token"]
    alice = get_user_model().objects.get(username="alice")

    alice.set_password(NEW_PASSWORD)
    alice.save()

    assert status_with(token) == 401
    assert not ApiToken.objects.exists()


def test_a_login_that_saves_the_user_keeps_the_tokens(client, personas):
    token = get_token()["token"]

    assert client.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 302

    assert status_with(token) == 200


def test_deactivation_revokes_every_token(personas):
    token = get_token()["token"]
    alice = get_user_model().objects.get(username="alice")

    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert not ApiToken.objects.exists()
    assert status_with(token) == 401


def test_a_lockout_revokes_every_token(personas):
    token = get_token()["token"]
    client = client_for()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")

    assert not ApiToken.objects.exists()
    assert status_with(token) == 401


def test_the_admin_lists_and_revokes_tokens_without_showing_a_key(client, personas):
    token = get_token(name="nightly-export")["token"]
    stored = ApiToken.objects.get()
    client.force_login(personas["root"])

    listing = client.get(reverse("admin:registry_apitoken_changelist"))
    detail = client.get(reverse("admin:registry_apitoken_change", args=[stored.pk]))
    adding = client.get(reverse("admin:registry_apitoken_add"))
    revoked = client.post(reverse("admin:registry_apitoken_delete", args=[stored.pk]), {"post": "yes"})

    assert listing.status_code == 200
    page = listing.content.decode()
    assert "nightly-export" in page and "alice" in page
    for secret in (token, stored.digest, stored.token_key):
        assert secret not in page
        assert secret not in detail.content.decode()
    assert adding.status_code == 403
    assert revoked.status_code == 302
    assert status_with(token) == 401


def test_the_plain_text_token_app_is_gone():
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    assert "rest_framework.authentication.TokenAuthentication" not in str(settings.REST_FRAMEWORK)


def test_the_schema_documents_the_token_fields():
    schema = client_for().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/auth/token/"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][request]
    assert {"username", "password", "name"} <= set(fields["properties"])
    assert sorted(fields["required"]) == ["password", "username"]
    assert set(schema["components"]["schemas"][response]["properties"]) == {"token", "expiry"}
    assert schema["components"]["schemas"][response]["properties"]["expiry"]["format"] == "date-time"

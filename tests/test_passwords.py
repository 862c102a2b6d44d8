"""Weak passwords are refused wherever a password is set: the validators (services), the
registry_user command, the password-change page and the Django admin's add-user and
change-password forms."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from registry import services
from registry.management.commands import registry_user
from registry.tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)
STRONG = "lantern orbit quietly mossy"
ADVICE = " Use a few unrelated words or a long random string."
REPEATS = 'This password is too easy to guess: Repeats like "aaa" are easy to guess.' + ADVICE
SEQUENCE = 'This password is too easy to guess: Sequences like "abc" or "6543" are easy to guess.' + ADVICE
COMMON = "This password is too easy to guess: This is a very common password." + ADVICE
HAS_USERNAME = "The password must not contain the username."


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaa", REPEATS),
        ("abcdefghijkl", SEQUENCE),
        ("password1234", COMMON),
        ("Dora-is-here-2024", HAS_USERNAME),
    ],
)
def test_the_validators_refuse_guessable_passwords(password, message):
    user = get_user_model()(username="dora")

    with pytest.raises(ValidationError) as caught:
        validate_password(password, user)

    assert message in caught.value.messages


def test_the_registry_words_count_as_guessable(site_a):
    with pytest.raises(ValidationError, match="^\\['This password is too easy to guess. Use a few"):
        validate_password("Registry2024!", get_user_model()(username="dora"))


def test_a_strong_passphrase_is_accepted(site_a):
    assert validate_password(STRONG, get_user_model()(username="dora")) is None
    assert services.staff_user_create(username="dora", password=STRONG, role="clinician", sites=[site_a])


def test_the_service_refuses_a_repetitive_password(site_a):
    with pytest.raises(ValidationError) as caught:
        services.staff_user_create(username="dora", password="aaaaaaaaaaaa", role="clinician", sites=[site_a])

    assert caught.value.message_dict == {"password": [REPEATS]}
    assert not get_user_model().objects.filter(username="dora").exists()


def test_the_registry_user_command_refuses_a_repetitive_password(monkeypatch, db):
    class PipedStdin(io.StringIO):
        def isatty(self):
            return False

    monkeypatch.setattr(registry_user.sys, "stdin", PipedStdin("aaaaaaaaaaaa\n"))

    with pytest.raises(CommandError) as caught:
        call_command("registry_user", "ada", "--role", "investigator", stdout=io.StringIO())

    assert str(caught.value) == f"The user was not created.\npassword: {REPEATS}"
    assert not get_user_model().objects.exists()


def test_the_password_change_page_refuses_a_repetitive_password(client, site_a):
    user = make_user("dora", "clinician", [site_a])
    client.force_login(user)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "aaaaaaaaaaaa", "new_password2": "aaaaaaaaaaaa"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == [REPEATS]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_admin_refuses_a_repetitive_password_for_a_new_or_existing_user(client, personas):
    client.force_login(personas["root"])

    added = client.post(
        reverse("admin:auth_user_add"),
        {"username": "dora", "usable_password": "true", "password1": "aaaaaaaaaaaa", "password2": "aaaaaaaaaaaa"},
    )
    changed = client.post(
        reverse("admin:auth_user_password_change", args=[personas["alice"].pk]),
        {"usable_password": "true", "password1": "abcdefghijkl", "password2": "abcdefghijkl"},
    )

    assert added.status_code == 200
    assert REPEATS in added.context["adminform"].form.errors["password2"]
    assert changed.status_code == 200
    assert SEQUENCE in changed.context["form"].errors["password2"]
    assert not get_user_model().objects.filter(username="dora").exists()
    personas["alice"].refresh_from_db()
    assert personas["alice"].check_password(PASSWORD)

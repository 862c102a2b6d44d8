"""The registry_user command: creates a login with its role and sites through the service."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from registry.management.commands import registry_user

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"


class PipedStdin(io.StringIO):
    def isatty(self):
        return False


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(monkeypatch, *args, stdin="", prompts=()):
    monkeypatch.setattr(registry_user.sys, "stdin", PipedStdin(stdin) if not prompts else Terminal())
    answers = iter(prompts)
    monkeypatch.setattr(registry_user.getpass, "getpass", lambda prompt: next(answers))
    out = io.StringIO()
    call_command("registry_user", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_clinician_with_a_piped_password(monkeypatch, site_a, site_b):
    out = run(monkeypatch, "dora", "--role", "clinician", "--site", "sitea", "--site", "SITEB", stdin=PASSWORD + "\n")

    user = get_user_model().objects.get(username="dora")
    assert out == "Created clinician dora at SITEA, SITEB.\n"
    assert user.check_password(PASSWORD)
    assert user.staff.role == "clinician"
    assert sorted(user.staff.sites.values_list("code", flat=True)) == ["SITEA", "SITEB"]
    assert not user.is_staff


def test_it_prompts_twice_on_a_terminal(monkeypatch, db):
    out = run(monkeypatch, "ada", "--role", "admin", prompts=[PASSWORD, PASSWORD])

    user = get_user_model().objects.get(username="ada")
    assert out == "Created admin ada.\n"
    assert (user.is_staff, user.is_superuser, user.check_password(PASSWORD)) == (True, True, True)


def test_two_different_passwords_are_refused(monkeypatch, db):
    with pytest.raises(CommandError, match="^The two passwords differ.$"):
        run(monkeypatch, "ada", "--role", "investigator", prompts=[PASSWORD, PASSWORD + "x"])

    assert not get_user_model().objects.exists()


def test_a_short_password_and_a_taken_username_are_reported(monkeypatch, personas):
    with pytest.raises(CommandError) as caught:
        run(monkeypatch, "alice", "--role", "investigator", stdin="short\n")

    assert str(caught.value) == (
        "The user was not created.\n"
        "username: A user with this username already exists.\n"
        "password: This password is too short. It must contain at least 12 characters.\n"
        "password: This password is too easy to guess: A word by itself is easy to guess. "
        "Use a few unrelated words or a long random string."
    )


def test_an_unknown_site_and_a_clinician_without_site_are_refused(monkeypatch, site_a):
    with pytest.raises(CommandError, match=r"^Unknown site code\(s\): NOPE.$"):
        run(monkeypatch, "dora", "--role", "clinician", "--site", "nope", stdin=PASSWORD)
    with pytest.raises(CommandError, match="^A clinician needs at least one --site CODE.$"):
        run(monkeypatch, "dora", "--role", "clinician", stdin=PASSWORD)

    assert not get_user_model().objects.exists()

"""With DEBUG off the settings refuse a SECRET_KEY anyone could know or guess: the placeholder of
.env.example, Django's generated insecure keys, short keys and keys of a few repeated characters."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LONG_RANDOM_KEY = "Vb3q-8RkZt_1mWfJ0xYcLpN5sHdA7eGuQ2oKi9TnBvXr4lMy6jCwDzEaFgSh"


def import_settings(secret_key: str, debug: str = "0") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update(SECRET_KEY=secret_key, DEBUG=debug, ALLOW_LOCAL_SECRET_KEY="0")
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import config.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def env_example_secret_key() -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("SECRET_KEY="):
            return line.removeprefix("SECRET_KEY=")
    raise AssertionError(".env.example has no SECRET_KEY line")


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (env_example_secret_key(), "is a known placeholder"),
        ("change-me-" + LONG_RANDOM_KEY, "is a known placeholder"),
        ("django-insecure-" + LONG_RANDOM_KEY, "is a known placeholder"),
        (LONG_RANDOM_KEY[:49], "is shorter than 50 characters"),
        ("ab" * 40, "has fewer than 5 different characters"),
    ],
)
def test_production_refuses_a_guessable_secret_key(key, why):
    result = import_settings(key)

    assert result.returncode == 1
    assert f"ImproperlyConfigured: SECRET_KEY {why}: set a random key of at least 50 characters" in result.stderr
    assert key not in result.stderr  # the message never repeats the key


def test_production_starts_with_a_long_random_key():
    result = import_settings(LONG_RANDOM_KEY)

    assert (result.returncode, result.stderr) == (0, "")


def test_development_keeps_starting_with_the_placeholder():
    result = import_settings(env_example_secret_key(), debug="1")

    assert (result.returncode, result.stderr) == (0, "")

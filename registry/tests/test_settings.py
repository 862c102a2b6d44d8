import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_bool, env_int, env_list


def test_env_values_are_read(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    monkeypatch.setenv("X_NUMBER", "42")
    monkeypatch.setenv("X_LIST", "a.org, b.org,,")

    assert env_bool("X_FLAG", False) is True
    assert env_int("X_NUMBER", 1) == 42
    assert env_list("X_LIST", []) == ["a.org", "b.org"]
    assert env_bool("X_UNSET", True) is True


def test_a_bad_value_fails_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    monkeypatch.setenv("X_NUMBER", "ten")

    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be one of"):
        env_bool("X_FLAG", False)
    with pytest.raises(ImproperlyConfigured, match="X_NUMBER must be a whole number; got 'ten'."):
        env_int("X_NUMBER", 1)


def test_healthz_answers(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

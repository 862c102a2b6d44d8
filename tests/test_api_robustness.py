"""Hostile bodies get a JSON 400, never a server error nor an HTML page: JSON nested deeper than
the API ever needs, and bodies larger than the upload limit."""

import logging

import pytest
from django.conf import settings

from registry.models import Patient
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

TOO_DEEP = "The JSON body is nested too deeply (at most 32 levels)."


def no_traceback(caplog) -> bool:
    return not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_to_the_token_view_is_a_json_400(opening, caplog):
    body = opening * 100_000

    with caplog.at_level(logging.INFO):
        response = client_for().post("/api/auth/token/", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": TOO_DEEP}
    assert no_traceback(caplog)


def test_deeply_nested_json_to_a_resource_is_a_json_400(personas, caplog):
    with caplog.at_level(logging.INFO):
        response = client_for(personas["alice"]).post("/api/patients/", "[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": TOO_DEEP}
    assert no_traceback(caplog)
    assert Patient.objects.count() == 0


def test_nesting_is_counted_outside_strings_only(personas):
    mrn = "[{" * 40  # brackets inside a string are text, not nesting
    body = {"site": "SITEA", "mrn": mrn[:32], "birth_date": "1955-01-02", "sex": "male", "primary_cancer": "renal"}

    response = client_for(personas["alice"]).post("/api/patients/", body, format="json")

    assert response.status_code == 201
    assert Patient.objects.get().mrn == mrn[:32]


def test_json_within_the_depth_limit_is_parsed(personas):
    nested = "[" * 32 + "]" * 32

    response = client_for(personas["alice"]).post("/api/patients/", nested, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


@pytest.mark.parametrize("url", ["/api/auth/token/", "/api/patients/"])
def test_a_body_over_the_upload_limit_is_a_json_400(personas, url, caplog):
    body = b'{"mrn": "' + b"x" * (30 * 1024 * 1024) + b'"}'

    with caplog.at_level(logging.INFO):
        response = client_for(personas["alice"]).post(url, body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f"The request body is too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
    }
    assert no_traceback(caplog)
    assert Patient.objects.count() == 0


def test_the_upload_limit_is_the_setting(personas, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b'{"mrn": "' + b"x" * 200 + b'"}'

    response = client_for(personas["alice"]).post("/api/patients/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is too large (at most 100 bytes)."}

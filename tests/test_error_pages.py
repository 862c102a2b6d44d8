"""Errors a visitor can provoke answer in the product's style and leave one plain log line: a search
with a NUL or another control character, a 403, a 404, a 500."""

import io
import logging

import pytest
from django.test import Client

from registry import views as registry_views
from registry.tests.api_support import client_for
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

UNSEARCHABLE = "The search contains characters that cannot be searched."


# --- Searches with characters that cannot be searched ------------------------------------------


@pytest.mark.parametrize("query", ["%00", "SAC%00", "MRN%00A", "SAC%01", "a%1Bb", "SAC%7F"])
def test_a_search_with_a_nul_or_control_character_answers_the_list_with_a_message(client, personas, site_a, query):
    patient = PatientFactory(site=site_a, mrn="MRN-A-1")
    client.force_login(personas["alice"])

    response = client.get(f"/patients/?q={query}")

    assert response.status_code == 200
    assert response.templates[0].name == "registry/patient_list.html"
    html = response.content.decode()
    assert UNSEARCHABLE in html
    assert patient.study_id not in html  # nothing is matched by a search that was not run
    assert "\x00" not in html
    assert not response.context["page"].object_list


def test_an_ordinary_search_has_no_such_message(client, personas, site_a):
    patient = PatientFactory(site=site_a, mrn="MRN-A-1")
    client.force_login(personas["alice"])

    response = client.get("/patients/", {"q": "MRN-A-1"})

    assert response.status_code == 200
    assert UNSEARCHABLE not in response.content.decode()
    assert [p.pk for p in response.context["page"].object_list] == [patient.pk]


@pytest.mark.parametrize(
    "url",
    [
        "/patients/?site=%00",
        "/worklist/?site=%00",
        "/dashboard/?site=%00",
        "/dashboard/status?site=%00",
    ],
)
def test_a_nul_in_a_site_parameter_of_a_page_is_not_found_not_a_500(client, personas, url):
    client.force_login(personas["root"])

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("param", ["q", "treatment", "fracture_status", "page"])
def test_a_nul_in_another_parameter_of_the_list_is_no_500(client, personas, param):
    client.force_login(personas["root"])

    assert client.get(f"/patients/?{param}=%00").status_code == 200


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/patients/?study_id=%00", "study_id"),
        ("/api/patients/?mrn=%00", "mrn"),
        ("/api/patients/?site=%00", "site"),
        ("/api/procedures/?site=%00", "site"),
        ("/api/encounters/?site=%00", "site"),
        ("/api/secondary-procedures/?site=%00", "site"),
        ("/api/complications/?site=%00", "site"),
        ("/api/sites/?code=%00", "code"),
    ],
)
def test_a_nul_in_an_api_filter_is_a_400_in_json(personas, url, field):
    response = client_for(personas["alice"]).get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {field: ["Null characters are not allowed."]}


# --- 403: one line, no traceback ---------------------------------------------------------------


def test_a_403_logs_one_line_without_a_traceback(client, personas, caplog):
    client.force_login(personas["ivy"])
    caplog.set_level(logging.DEBUG)

    response = client.get("/patients/new/")

    assert response.status_code == 403
    forbidden = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in forbidden] == ["Forbidden (Permission denied): /patients/new/"]
    assert [r.levelname for r in forbidden] == ["WARNING"]
    assert not any(r.exc_info or r.exc_text for r in caplog.records)
    assert "Your role may not change registry records." in response.content.decode()


def test_a_500_still_logs_its_traceback(personas, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(registry_views.selectors, "patient_list_for", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas["alice"])

    response = client.get("/patients/")

    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "ERROR" and record.exc_info is not None


def test_a_400_for_a_suspicious_request_is_written_as_one_line(client):
    """Django logs a SuspiciousOperation on a django.security.* logger with its traceback: the
    console handler writes the line without it."""
    # the settings' handler, which production writes through
    [console] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    stream = io.StringIO()
    saved = console.setStream(stream)
    try:
        response = client.get("/", HTTP_HOST="evil.example")
    finally:
        console.setStream(saved)

    assert response.status_code == 400
    written = stream.getvalue()
    assert "Invalid HTTP_HOST header: 'evil.example'" in written
    assert "Traceback" not in written
    assert len(written.strip().splitlines()) == 1


# --- Error pages in the product's style --------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_404_page_looks_like_the_product(client, personas, signed_in):
    if signed_in:
        client.force_login(personas["alice"])

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "<title>Not found · Sacral metastasis registry</title>" in html
    assert '<a class="brand" href="/">Sacral metastasis registry</a>' in html
    assert '<a href="/">Back to the start page</a>' in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html


def test_the_403_page_looks_like_the_product(client, personas):
    client.force_login(personas["ivy"])

    html = client.get("/patients/new/").content.decode()

    assert "<title>Not allowed · Sacral metastasis registry</title>" in html
    assert '<a href="/">Back to the start page</a>' in html


def test_the_500_page_is_a_standalone_page_in_the_products_style(personas, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(registry_views.selectors, "patient_list_for", broken)
    client = Client(raise_request_exception=False)
    client.force_login(personas["alice"])

    response = client.get("/patients/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "<title>Server error · Sacral metastasis registry</title>" in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert '<a class="brand" href="/">Sacral metastasis registry</a>' in html
    assert '<a href="/">Back to the start page</a>' in html
    assert "secret detail" not in html and "Traceback" not in html
    assert "<script" not in html

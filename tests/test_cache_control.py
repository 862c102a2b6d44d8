"""Pages and API answers that carry patient data must not be kept by a browser or a proxy: every
response says Cache-Control: no-store, unless its view chose its own caching on purpose."""

import pytest

from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(personas, site_a):
    return PatientFactory(site=site_a)


@pytest.mark.parametrize(
    "url",
    [
        "/patients/{id}/",
        "/history/patient/{id}/",
        "/api/patients/{id}/",
        "/api/exports/encounters.csv",
        "/worklist/",
    ],
)
def test_pages_and_api_answers_with_patient_data_are_never_stored(client, personas, patient, url):
    client.force_login(personas["alice"])

    response = client.get(url.format(id=patient.pk))

    assert response.status_code == 200, response.content[:300]
    assert "no-store" in response["Cache-Control"]


def test_the_login_page_and_a_refused_request_are_never_stored(client, db):
    login = client.get("/login/")
    refused = client.get("/api/patients/")

    assert login.status_code == 200
    assert "no-store" in login["Cache-Control"]
    assert refused.status_code == 401
    assert "no-store" in refused["Cache-Control"]


def test_the_statistics_api_keeps_its_own_revalidated_caching(client, personas, settings):
    from analysis.services import stats_refresh

    stats_refresh()
    client.force_login(personas["ivy"])

    response = client.get("/api/stats/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    assert response["ETag"]


def test_a_static_file_keeps_the_caching_of_the_static_file_server(client, db):
    response = client.get("/static/js/forms.js")

    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "max-age=" in response["Cache-Control"]

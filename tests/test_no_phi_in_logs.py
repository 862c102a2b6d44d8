"""No MRN, birth date or name reaches a log line, whatever path the data takes: web forms,
the API, validation errors, failed logins, searches, exports, the statistics refresh."""

import logging

import pytest

from analysis.services import stats_refresh
from registry.tests.factories import ProcedureFactory

pytestmark = pytest.mark.django_db

MRN = "PHI-77-31-5508"
BIRTH = "1949-02-28"
PHI = (MRN, BIRTH, "28/02/1949", "1949-02-28")


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)  # every logger, every level: more than production ever logs
    return caplog


def logged_text(caplog) -> str:
    lines = []
    for record in caplog.records:
        if record.name.startswith("factory"):
            continue  # factory_boy's debug lines are the test's own tooling, not the product
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def test_clinical_work_logs_no_phi(client, personas, site_a, all_logs, django_capture_on_commit_callbacks):
    client.force_login(personas["alice"])
    patient_form = {
        "site": site_a.pk,
        "mrn": MRN,
        "birth_date": BIRTH,
        "sex": "female",
        "primary_cancer": "renal",
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/patients/new/", patient_form)
        duplicate = client.post("/patients/new/", patient_form)  # refused: MRN already at this site
        api_duplicate = client.post(
            "/api/patients/",
            {"site": "SITEA", "mrn": MRN, "birth_date": BIRTH, "sex": "female", "primary_cancer": "renal"},
            content_type="application/json",
        )
        future = client.post(
            "/api/patients/",
            {"site": "SITEA", "mrn": MRN + "X", "birth_date": "2999-01-01", "sex": "x", "primary_cancer": "renal"},
            content_type="application/json",
        )
    search = client.get("/patients/", {"q": MRN})
    export = b"".join(client.get("/api/exports/encounters.csv").streaming_content)
    client.logout()
    failed_login = client.post("/login/", {"username": "alice", "password": MRN})
    ProcedureFactory(patient__site=site_a, patient__mrn=MRN + "B", patient__birth_date="1949-02-28")
    stats_refresh()

    assert created.status_code == 302
    assert duplicate.status_code == 200
    assert (api_duplicate.status_code, future.status_code) == (400, 400)
    assert MRN in search.content.decode()  # the clinician does see it on the page
    assert export.startswith(b"study_id,") or export.startswith(b"\xef\xbb\xbf")
    assert failed_login.status_code == 200
    text = logged_text(all_logs)
    assert all_logs.records, "nothing was logged: the test would prove nothing"
    for value in PHI:
        assert value not in text


def test_a_server_error_logs_no_phi(client, personas, site_a, all_logs, monkeypatch):
    """Django logs a 500 with the request; the MRN in the query string must not come with it."""
    from registry import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "patient_list_for", broken)
    client.raise_request_exception = False
    client.force_login(personas["alice"])

    response = client.get("/patients/", {"q": MRN})

    assert response.status_code == 500
    text = logged_text(all_logs)
    assert "boom" in text
    assert MRN not in text

"""Each list endpoint runs a fixed number of queries, whatever the page size (no N+1)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outcomes import services as outcome_services
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

ROWS = 101

# Queries of one list request by a clinician: the user's site ids, the count, the page
# (+ the screws of the page's procedures, in one query; + the PHI access log's row of a patient list).
EXPECTED = {
    "/api/sites/": 3,
    "/api/patients/": 4,
    "/api/procedures/": 4,
    "/api/encounters/": 3,
    "/api/secondary-procedures/": 3,
    "/api/complications/": 3,
}


@pytest.fixture
def many_records(site_a):
    for _ in range(ROWS):
        procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2023, 3, 1))
        EncounterFactory(procedure=procedure)
        day = datetime.date(2023, 6, 1)
        outcome_services.secondary_procedure_create(user=None, procedure=procedure, date=day, kind="radiation")
        outcome_services.complication_create(user=None, procedure=procedure, date=day, kind="infection")


def count_queries(client, url, page_size) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_list_endpoints_run_a_fixed_number_of_queries(personas, many_records):
    client = client_for(personas["alice"])
    client.get("/api/sites/")  # loads the user's profile once, as any first request does

    counts = {url: [count_queries(client, url, size) for size in (10, 100)] for url in EXPECTED}

    expected = {url: [(n, 10), (n, 100)] for url, n in EXPECTED.items()}
    expected["/api/sites/"] = [(3, 1), (3, 1)]  # alice belongs to one site
    assert counts == expected


def test_list_endpoints_run_the_same_queries_for_an_investigator(personas, many_records, django_assert_num_queries):
    client = client_for(personas["ivy"])
    client.get("/api/sites/")

    for size in (10, 100):
        # Investigators see every site: no membership query, so one fewer.
        with django_assert_num_queries(2):
            client.get("/api/patients/", {"page_size": size})
        with django_assert_num_queries(3):
            client.get("/api/procedures/", {"page_size": size})


def test_one_record_is_found_by_its_id_in_one_query_and_the_list_filters_do_not_apply(personas, site_a):
    """The filters are the list's (the schema names them there only); a record is read by id."""
    patient = PatientFactory(site=site_a, sex="female")
    client = client_for(personas["alice"])
    client.get("/api/sites/")  # loads the user's profile once, as any first request does

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/patients/{patient.pk}/", {"sex": "male"})
    queried = len(queries)  # before the next request, which empties Django's query log
    listed = client.get("/api/patients/", {"sex": "male"})

    assert response.status_code == 200
    assert response.json()["id"] == patient.pk
    assert queried == 3  # the user's site ids, the patient, the PHI access log's row
    assert listed.status_code == 200
    assert listed.json()["count"] == 0

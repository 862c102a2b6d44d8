from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analysis.api import NO_SITE, NOT_COMPUTED
from analysis.models import RefreshState, Snapshot
from analysis.services import REFRESH_COUNTDOWN_SECONDS, stats_refresh
from analysis.tasks import refresh_cohort_stats
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

STATS = "/api/stats/"
REFRESH = "/api/stats/refresh/"


@pytest.fixture
def computed(site_a, site_b):
    for site in (site_a, site_a, site_b):
        procedure = ProcedureFactory(patient=PatientFactory(site=site))
        EncounterFactory(procedure=procedure, kind="baseline")
        EncounterFactory(procedure=procedure, kind="followup")
    stats_refresh()


@pytest.fixture
def enqueue():
    with mock.patch.object(refresh_cohort_stats, "apply_async") as apply_async:
        yield apply_async


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize("name", ["alice", "charlie", "ivy", "root"])
def test_every_role_reads_the_registry_wide_document(client, personas, computed, name):
    response = get(client, personas[name], STATS)

    assert response.status_code == 200
    assert response.json()["n_patients"] == 3
    assert response.json()["strata"]["pathological"]["groups"]["psfs"]["n"] == 3


def test_a_clinician_reads_the_document_of_their_own_site(client, personas, computed):
    response = get(client, personas["alice"], STATS + "?site=SITEA")

    assert response.status_code == 200
    assert response.json()["n_patients"] == 2


def test_a_site_code_is_case_insensitive(client, personas, computed):
    assert get(client, personas["bob"], STATS + "?site=sitea").json()["n_patients"] == 2
    assert get(client, personas["ivy"], STATS + "?site=%20SiteB%20").json()["n_patients"] == 1


@pytest.mark.parametrize("value", ["", "id of site A", "SITEA%00", "S" * 40])
def test_a_blank_an_id_or_an_impossible_code_is_not_found(client, personas, computed, site_a, value):
    value = str(site_a.pk) if value == "id of site A" else value

    response = get(client, personas["root"], STATS + f"?site={value}")

    assert response.status_code == 404
    assert response.json() == {"detail": NO_SITE}


@pytest.mark.parametrize(("name", "code"), [("alice", "SITEB"), ("charlie", "SITEA"), ("ivy", "NOPE")])
def test_another_sites_document_or_an_unknown_site_is_not_found(client, personas, computed, name, code):
    response = get(client, personas[name], STATS + f"?site={code}")

    assert response.status_code == 404
    assert response.json() == {"detail": NO_SITE}


@pytest.mark.parametrize("name", ["ivy", "root"])
def test_investigators_and_admins_read_any_site(client, personas, computed, name):
    response = get(client, personas[name], STATS + "?site=SITEB")

    assert response.status_code == 200
    assert response.json()["n_patients"] == 1


def test_the_document_is_sent_as_stored_with_an_etag_of_its_snapshot(client, personas, computed):
    response = get(client, personas["ivy"], STATS)

    snapshot = Snapshot.objects.get(site=None)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["ETag"] == f'"{snapshot.pk}-{snapshot.fingerprint[:16]}"'
    assert response["Cache-Control"] == "private, no-cache"
    assert response.json() == snapshot.document


def test_a_known_etag_gets_304_until_a_new_snapshot_lands(client, personas, computed, site_a):
    client.force_login(personas["ivy"])
    etag = client.get(STATS)["ETag"]

    unchanged = client.get(STATS, headers={"If-None-Match": etag})
    other = client.get(STATS, headers={"If-None-Match": '"0-0000000000000000"'})
    ProcedureFactory(patient=PatientFactory(site=site_a))
    stats_refresh()
    changed = client.get(STATS, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert unchanged["Cache-Control"] == "private, no-cache"
    assert other.status_code == 200
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["n_patients"] == 4


def test_before_the_first_refresh_it_answers_503_with_a_message(client, personas):
    response = get(client, personas["alice"], STATS)

    assert response.status_code == 503
    assert response.json() == {"detail": NOT_COMPUTED}
    assert response["Retry-After"] == "60"
    assert "ETag" not in response
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


def test_an_etag_among_several_in_if_none_match_gets_304(client, personas, computed):
    client.force_login(personas["ivy"])
    etag = client.get(STATS)["ETag"]

    response = client.get(STATS, headers={"If-None-Match": f'"0-0000000000000000", {etag}'})
    weak = client.get(STATS, headers={"If-None-Match": f"W/{etag}"})  # If-None-Match compares weakly

    assert response.status_code == 304
    assert weak.status_code == 304


@pytest.mark.parametrize(
    ("url", "if_none_match", "expected"), [(STATS, False, 5), (STATS, True, 4), (STATS + "?site=SITEA", True, 5)]
)
def test_the_snapshot_is_read_once_and_its_document_only_when_sent(
    client, personas, computed, url, if_none_match, expected
):
    """Session, user, role; the site when asked; the snapshot without its document; the document
    itself only for a 200 (once warm: the session is renewed at most once a minute)."""
    client.force_login(personas["ivy"])
    etag = client.get(url)["ETag"]
    headers = {"If-None-Match": etag} if if_none_match else {}

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)

    assert response.status_code == (304 if if_none_match else 200)
    assert len(queries) == expected, [q["sql"] for q in queries]
    assert sum('"analysis_snapshot"' in q["sql"] for q in queries) == (1 if if_none_match else 2)


def test_without_credentials_it_answers_401(client, computed):
    assert client.get(STATS).status_code == 401
    assert client.post(REFRESH).status_code == 401


def test_an_account_without_a_registry_role_is_refused(client, computed, enqueue):
    user = get_user_model().objects.create_user(username="norole", password="x" * 20)
    client.force_login(user)

    read = client.get(STATS)
    response = client.post(REFRESH)
    assert read.status_code == 403
    assert read.json() == {"detail": "Your account has no registry role."}
    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no registry role."}
    enqueue.assert_not_called()


def test_a_refresh_request_is_accepted_and_scheduled_once(client, personas, enqueue):
    client.force_login(personas["ivy"])

    first = client.post(REFRESH)
    second = client.post(REFRESH)

    assert first.status_code == 202
    assert first.json() == {"detail": "A refresh of the statistics has been scheduled.", "status": "never"}
    assert second.status_code == 202
    enqueue.assert_called_once_with(countdown=REFRESH_COUNTDOWN_SECONDS, retry=False)
    assert RefreshState.objects.get().scheduled_for is not None


@pytest.mark.urls("config.urls")
def test_the_project_routes_the_stats_endpoints_to_these_views():
    from django.urls import resolve

    from analysis.api import StatsApi, StatsRefreshApi

    assert resolve("/api/stats/").func.view_class is StatsApi
    assert resolve("/api/stats/refresh/").func.view_class is StatsRefreshApi

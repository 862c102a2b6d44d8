import pytest

from registry.models import ApiToken, Site
from registry.tests.api_support import client_for
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the personas' (registry/tests/factories.py)


# --- Sites ---------------------------------------------------------------------------


def test_it_lists_the_clinicians_sites_only(personas):
    assert [s["code"] for s in client_for(personas["alice"]).get("/api/sites/").json()["results"]] == ["SITEA"]
    assert [s["code"] for s in client_for(personas["ivy"]).get("/api/sites/").json()["results"]] == ["SITEA", "SITEB"]


def test_it_lets_an_admin_create_update_and_delete_a_site(personas):
    client = client_for(personas["root"])

    created = client.post("/api/sites/", {"code": " mcw ", "name": "Medical College"}, format="json")
    site = Site.objects.get(code="MCW")
    updated = client.patch(f"/api/sites/{site.pk}/", {"name": "MCW hospital"}, format="json")
    deleted = client.delete(f"/api/sites/{site.pk}/")

    assert created.status_code == 201
    assert created.json() == {"id": site.pk, "code": "MCW", "name": "Medical College"}
    assert updated.status_code == 200
    assert updated.json()["name"] == "MCW hospital"
    assert deleted.status_code == 204
    assert not Site.objects.filter(code="MCW").exists()


def test_it_refuses_a_duplicate_site_code(personas):
    response = client_for(personas["root"]).post("/api/sites/", {"code": "sitea", "name": "Again"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": ["Site with this Code already exists."]}


def test_it_refuses_deleting_a_site_with_patients(personas, site_a):
    PatientFactory(site=site_a)

    response = client_for(personas["root"]).delete(f"/api/sites/{site_a.pk}/")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This site still has patients; move or delete them first."]}
    assert Site.objects.filter(pk=site_a.pk).exists()


@pytest.mark.parametrize("persona", ["alice", "ivy"])
def test_it_lets_only_admins_change_sites(personas, site_a, persona):
    client = client_for(personas[persona])

    created = client.post("/api/sites/", {"code": "NEW", "name": "New"}, format="json")
    changed = client.patch(f"/api/sites/{site_a.pk}/", {"name": "Renamed"}, format="json")

    assert (created.status_code, changed.status_code) == (403, 403)
    assert not Site.objects.filter(code="NEW").exists()
    assert Site.objects.get(pk=site_a.pk).name == "Site A hospital"


def test_it_hides_another_site_from_a_clinician(personas, site_b):
    assert client_for(personas["alice"]).get(f"/api/sites/{site_b.pk}/").status_code == 404


# --- Token auth ------------------------------------------------------------------------


def test_it_issues_a_token_that_authenticates(personas):
    response = client_for().post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    assert ApiToken.objects.get(user=personas["alice"]).token_key == token[:15]
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/sites/").status_code == 200


def test_a_second_login_replaces_the_first_token(personas):
    # Only a digest is stored, so the same token cannot be handed out twice: the client's new login
    # replaces its token (tests/test_tokens.py has the rest of the token's life).
    first = client_for().post("/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")
    second = client_for().post("/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")

    assert first.json()["token"] != second.json()["token"]
    assert ApiToken.objects.get(user=personas["bob"]).token_key == second.json()["token"][:15]


def test_it_refuses_a_wrong_password(personas):
    response = client_for().post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with the given credentials."]}
    assert not ApiToken.objects.exists()


def test_it_refuses_a_missing_password(personas):
    response = client_for().post("/api/auth/token/", {"username": "alice"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"password": ["This field is required."]}


def test_it_locks_the_account_after_repeated_failures(personas, settings):
    client = client_for()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")

    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json() == {"detail": "Account locked: too many failed logins. Try again later."}
    assert not ApiToken.objects.exists()


def test_it_refuses_a_bad_token_with_401(personas):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Token nope")

    response = client.get("/api/patients/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


# --- Schema and docs ---------------------------------------------------------------------


def test_it_serves_the_openapi_schema_without_credentials():
    response = client_for().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert {"/api/patients/", "/api/procedures/{id}/", "/api/exports/encounters.csv", "/api/auth/token/"} <= set(
        schema["paths"]
    )
    patient = schema["components"]["schemas"]["Patient"]
    assert {"mrn", "birth_date", "death_date"}.isdisjoint(patient["required"])
    assert patient["properties"]["study_id"]["readOnly"] is True
    assert schema["components"]["schemas"]["Encounter"]["properties"]["msts_percent"]["type"] == "number"
    create = schema["paths"]["/api/procedures/"]["post"]
    assert "examples" in create["requestBody"]["content"]["application/json"]


def test_it_serves_the_docs_from_local_static_files():
    response = client_for().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html

import datetime

import pytest

from registry.models import Patient
from registry.tests.api_support import client_for, patient_body
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

URL = "/api/patients/"


def detail(patient) -> str:
    return f"{URL}{patient.pk}/"


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a, mrn="A-1", birth_date=datetime.date(1950, 3, 4))


@pytest.fixture
def patient_b(site_b):
    return PatientFactory(site=site_b, mrn="B-1")


def test_it_refuses_anonymous_requests_with_401(patient_a):
    response = client_for().get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_it_refuses_a_user_without_a_role(django_user_model, patient_a):
    user = django_user_model.objects.create_user("nobody", password="x")

    response = client_for(user).get(URL)

    assert response.status_code == 403
    assert response.json() == {"detail": "Your account has no role in the registry."}


def test_it_creates_a_patient(personas, site_a):
    response = client_for(personas["alice"]).post(URL, patient_body("SITEA", mrn=" 777 "), format="json")

    assert response.status_code == 201
    patient = Patient.objects.get()
    body = response.json()
    assert body["id"] == patient.pk
    assert body["study_id"] == patient.study_id
    assert body["site"] == "SITEA"
    assert body["mrn"] == "777"
    assert body["birth_date"] == "1955-01-02"
    assert body["death_date"] is None
    assert body["age"] is None
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert (patient.site, patient.mrn, patient.sex, patient.primary_cancer) == (site_a, "777", "male", "renal")


@pytest.mark.parametrize("code", ["sitea", " SiteA "])
def test_it_takes_a_site_code_in_any_case(personas, site_a, code):
    response = client_for(personas["alice"]).post(URL, patient_body(code), format="json")

    assert response.status_code == 201
    assert response.json()["site"] == "SITEA"
    assert Patient.objects.get().site == site_a


def test_it_refuses_another_sites_code_in_any_case_as_another_site(personas):
    response = client_for(personas["alice"]).post(URL, patient_body("siteb"), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change records of this site."}


def test_it_refuses_a_study_id_sent_by_the_client(personas):
    response = client_for(personas["alice"]).post(URL, patient_body("SITEA", study_id="SAC-99999"), format="json")

    assert response.status_code == 400
    assert response.json() == {"study_id": ["This field is read-only."]}
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"site": "NOPE"}, {"site": ["Object with code=NOPE does not exist."]}),
        ({"sex": "unknown"}, {"sex": ['"unknown" is not a valid choice.']}),
        (
            {"birth_date": "2020-13-01"},
            {"birth_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
        ),
        ({"birth_date": "2999-01-01"}, {"birth_date": ["Date cannot be in the future."]}),
        ({"death_date": "1950-01-01"}, {"death_date": ["Date of death cannot be before the date of birth."]}),
        ({"primary_cancer": "other"}, {"primary_cancer_detail": ["Describe the primary cancer when it is 'other'."]}),
        ({"mrn": ""}, {"mrn": ["This field may not be blank."]}),
        ({"mrn": "x" * 33}, {"mrn": ["Ensure this field has no more than 32 characters."]}),
    ],
)
def test_it_refuses_bad_patients_with_the_field_error(personas, overrides, errors):
    response = client_for(personas["alice"]).post(URL, patient_body("SITEA", **overrides), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Patient.objects.count() == 0


def test_it_refuses_a_missing_field(personas):
    body = patient_body("SITEA")
    del body["sex"]

    response = client_for(personas["alice"]).post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"sex": ["This field is required."]}


def test_it_refuses_a_duplicate_mrn_within_a_site(personas, patient_a):
    response = client_for(personas["alice"]).post(URL, patient_body("SITEA", mrn="A-1"), format="json")

    assert response.status_code == 400
    assert response.json() == {"mrn": ["A patient with this MRN already exists at this site."]}
    assert Patient.objects.count() == 1


def test_it_refuses_a_patient_at_a_site_the_clinician_does_not_belong_to(personas):
    response = client_for(personas["alice"]).post(URL, patient_body("SITEB"), format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "You may not change records of this site."}
    assert Patient.objects.count() == 0


def test_it_refuses_every_write_by_an_investigator(personas, patient_a):
    client = client_for(personas["ivy"])

    responses = [
        client.post(URL, patient_body("SITEA"), format="json"),
        client.patch(detail(patient_a), {"sex": "female"}, format="json"),
        client.put(detail(patient_a), patient_body("SITEA"), format="json"),
        client.delete(detail(patient_a)),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert responses[0].json() == {"detail": "Investigators have read-only access."}
    patient_a.refresh_from_db()
    assert (patient_a.sex, patient_a.version) == ("female", 1)


def test_it_lists_only_the_patients_of_the_clinicians_sites(personas, patient_a, patient_b):
    body = client_for(personas["alice"]).get(URL).json()

    assert body["count"] == 1
    assert [p["study_id"] for p in body["results"]] == [patient_a.study_id]
    assert body["next"] is None
    assert body["previous"] is None


def test_it_hides_another_sites_patient_with_404(personas, patient_b):
    client = client_for(personas["alice"])

    responses = [
        client.get(detail(patient_b)),
        client.patch(detail(patient_b), {"sex": "male"}, format="json"),
        client.put(detail(patient_b), patient_body("SITEB"), format="json"),
        client.delete(detail(patient_b)),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert responses[0].json() == {"detail": "No Patient matches the given query."}
    assert Patient.objects.filter(pk=patient_b.pk, sex="female").exists()


def test_it_gives_admins_every_site(personas, patient_a, patient_b):
    body = client_for(personas["root"]).get(URL).json()

    assert body["count"] == 2


def test_it_shows_the_patient_with_phi_to_a_clinician(personas, patient_a):
    ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 3))

    body = client_for(personas["bob"]).get(detail(patient_a)).json()

    assert body["mrn"] == "A-1"
    assert body["birth_date"] == "1950-03-04"
    assert body["death_date"] is None
    assert body["age"] == 72


def test_it_de_identifies_patients_for_investigators(personas, site_a):
    old = PatientFactory(site=site_a, birth_date=datetime.date(1930, 1, 1), death_date=datetime.date(2023, 9, 1))
    ProcedureFactory(patient=old, date=datetime.date(2023, 3, 1))
    young = PatientFactory(site=site_a, birth_date=datetime.date(1950, 3, 4))
    ProcedureFactory(patient=young, date=datetime.date(2023, 3, 3))

    client = client_for(personas["ivy"])
    listed = client.get(URL).json()["results"]
    one = client.get(detail(old)).json()

    for body in [*listed, one]:
        assert not {"mrn", "birth_date", "death_date"} & set(body)
    assert [p["age"] for p in listed] == ["90+", 72]
    assert one["age"] == "90+"
    assert one["study_id"] == old.study_id


def test_it_counts_age_89_as_a_number(personas, site_a):
    patient = PatientFactory(site=site_a, birth_date=datetime.date(1933, 3, 2))
    ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))

    assert client_for(personas["ivy"]).get(detail(patient)).json()["age"] == 89


def test_it_does_not_let_investigators_search_by_mrn(personas, patient_a):
    assert client_for(personas["ivy"]).get(URL, {"mrn": "A-1"}).json()["count"] == 0
    assert client_for(personas["alice"]).get(URL, {"mrn": "A-1"}).json()["count"] == 1


def test_it_filters_by_the_contract_field_names(personas, site_a, site_b):
    PatientFactory(site=site_a, sex="male", primary_cancer="renal")
    PatientFactory(site=site_a, sex="female", primary_cancer="renal")
    PatientFactory(site=site_b, sex="male", primary_cancer="lung")
    client = client_for(personas["root"])

    assert client.get(URL, {"site": "SITEA"}).json()["count"] == 2
    assert client.get(URL, {"site": "sitea", "sex": "male"}).json()["count"] == 1
    assert client.get(URL, {"primary_cancer": "lung"}).json()["count"] == 1
    response = client.get(URL, {"sex": "other"})
    assert response.status_code == 400
    assert response.json() == {"sex": ["Select a valid choice. other is not one of the available choices."]}


def test_it_paginates_with_page_size(personas, site_a):
    for _ in range(3):
        PatientFactory(site=site_a)

    body = client_for(personas["alice"]).get(URL, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] == "http://testserver/api/patients/?page=2&page_size=2"


def test_it_updates_a_patient_with_patch(personas, patient_a):
    response = client_for(personas["alice"]).patch(
        detail(patient_a), {"death_date": "2024-01-05", "change_reason": "Death recorded"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["death_date"] == "2024-01-05"
    assert response.json()["version"] == 2
    assert "change_reason" not in response.json()
    patient_a.refresh_from_db()
    assert (patient_a.death_date, patient_a.version) == (datetime.date(2024, 1, 5), 2)


def test_it_records_the_change_reason_in_the_audit_trail(personas, patient_a):
    from pghistory.models import Events

    client_for(personas["alice"]).patch(
        detail(patient_a), {"sex": "male", "change_reason": "Wrong sex entered"}, format="json"
    )

    event = Events.objects.filter(pgh_obj_model="registry.Patient", pgh_label="update").get()
    assert event.pgh_context["reason"] == "Wrong sex entered"
    assert event.pgh_context["username"] == "alice"


def test_it_replaces_a_patient_with_put(personas, patient_a):
    body = patient_body(
        "SITEA", mrn="A-2", primary_cancer="other", primary_cancer_detail="Sarcoma", version=1, change_reason="Chart"
    )

    response = client_for(personas["alice"]).put(detail(patient_a), body, format="json")

    assert response.status_code == 200
    patient_a.refresh_from_db()
    assert (patient_a.mrn, patient_a.primary_cancer_detail, patient_a.version) == ("A-2", "Sarcoma", 2)


def test_it_refuses_a_put_missing_a_field(personas, patient_a):
    body = patient_body("SITEA")
    del body["mrn"]

    response = client_for(personas["alice"]).put(detail(patient_a), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"mrn": ["This field is required."]}


def test_it_refuses_moving_a_patient_to_a_site_the_clinician_does_not_belong_to(personas, patient_a):
    response = client_for(personas["alice"]).patch(
        detail(patient_a), {"site": "SITEB", "change_reason": "Moved"}, format="json"
    )

    assert response.status_code == 403
    patient_a.refresh_from_db()
    assert patient_a.site.code == "SITEA"


def test_it_refuses_a_stale_version_in_the_body_with_409(personas, patient_a):
    first = client_for(personas["bob"]).patch(detail(patient_a), {"sex": "male", "change_reason": "x"}, format="json")
    assert first.status_code == 200

    response = client_for(personas["alice"]).patch(
        detail(patient_a), {"mrn": "A-9", "version": 1, "change_reason": "MRN typo"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This record was changed by someone else (version 1 was edited, the record is now at version 2). "
        "Reload it and apply your change again.",
        "expected_version": 1,
        "current_version": 2,
    }
    assert response["ETag"] == '"2"'
    patient_a.refresh_from_db()
    assert (patient_a.mrn, patient_a.version) == ("A-1", 2)


def test_it_refuses_a_stale_if_match_header_with_409(personas, patient_a):
    client = client_for(personas["alice"])
    assert client.patch(detail(patient_a), {"sex": "male", "change_reason": "x"}, format="json").status_code == 200

    response = client.patch(
        detail(patient_a), {"mrn": "A-9", "change_reason": "MRN typo"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert Patient.objects.get(pk=patient_a.pk).mrn == "A-1"


def test_it_accepts_the_current_version_in_if_match(personas, patient_a):
    response = client_for(personas["alice"]).patch(
        detail(patient_a), {"mrn": "A-9", "change_reason": "MRN typo"}, format="json", HTTP_IF_MATCH='W/"1"'
    )

    assert response.status_code == 200
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"data": {"version": "abc"}}, {"version": ["A valid integer is required."]}),
        ({"data": {"version": 0}}, {"version": ["Ensure this value is greater than or equal to 1."]}),
        ({"data": {}, "HTTP_IF_MATCH": "soon"}, {"If-Match": ['Send the version you edited, e.g. If-Match: "3".']}),
        (
            {"data": {"version": 1}, "HTTP_IF_MATCH": '"2"'},
            {"version": ["The version in the body and the If-Match header differ."]},
        ),
    ],
)
def test_it_refuses_a_malformed_version(personas, patient_a, kwargs, errors):
    response = client_for(personas["alice"]).patch(detail(patient_a), format="json", **kwargs)

    assert response.status_code == 400
    assert response.json() == errors
    patient_a.refresh_from_db()
    assert patient_a.version == 1


def test_it_deletes_a_patient_with_the_reason_in_the_audit_trail(personas, patient_a):
    from pghistory.models import Events

    response = client_for(personas["alice"]).delete(detail(patient_a) + "?change_reason=Duplicate")

    assert response.status_code == 204
    assert not Patient.objects.filter(pk=patient_a.pk).exists()
    event = Events.objects.filter(pgh_obj_model="registry.Patient", pgh_label="delete").get()
    assert event.pgh_context["reason"] == "Duplicate"


def test_it_refuses_a_delete_with_a_stale_if_match(personas, patient_a):
    response = client_for(personas["alice"]).delete(detail(patient_a), HTTP_IF_MATCH='"7"')

    assert response.status_code == 409
    assert response.json()["current_version"] == 1
    assert Patient.objects.filter(pk=patient_a.pk).exists()


def test_it_accepts_session_authentication(personas, patient_a):
    from django.test import Client

    client = Client()
    client.force_login(personas["alice"])

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 1

import datetime
from decimal import Decimal

import pytest

from outcomes.models import Encounter
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

URL = "/api/encounters/"


def detail(encounter) -> str:
    return f"{URL}{encounter.pk}/"


@pytest.fixture
def procedure_a(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2023, 3, 1))


@pytest.fixture
def encounter_b(site_b):
    return EncounterFactory(procedure=ProcedureFactory(patient=PatientFactory(site=site_b)))


def body(procedure_, **overrides) -> dict:
    fields = {
        "procedure": procedure_.pk,
        "date": "2023-04-01",
        "kind": "followup",
        "msts_pain": 4,
        "msts_function": 3,
        "msts_emotional_acceptance": 4,
        "msts_supports": 3,
        "msts_walking": 3,
        "msts_gait": 2,
        "narcotic_change": "decreased",
        "opioid_mme_per_day": "15.5",
    }
    return {**fields, **overrides}


def test_it_records_an_encounter_with_its_computed_total(personas, procedure_a):
    response = client_for(personas["alice"]).post(URL, body(procedure_a), format="json")

    assert response.status_code == 201
    data = response.json()
    assert (data["msts_total"], data["msts_percent"]) == (19, 63.3)
    assert data["opioid_mme_per_day"] == "15.5"
    encounter = Encounter.objects.get()
    assert (encounter.msts_total, encounter.narcotic_change, encounter.opioid_mme_per_day) == (
        19,
        "decreased",
        Decimal("15.5"),
    )


def test_it_leaves_the_total_empty_until_all_domains_are_scored(personas, procedure_a):
    response = client_for(personas["alice"]).post(URL, body(procedure_a, msts_gait=None), format="json")

    assert response.status_code == 201
    assert (response.json()["msts_total"], response.json()["msts_percent"]) == (None, None)


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"msts_pain": 6}, {"msts_pain": ["Ensure this value is less than or equal to 5."]}),
        ({"msts_gait": -1}, {"msts_gait": ["Ensure this value is greater than or equal to 0."]}),
        ({"kind": "visit"}, {"kind": ['"visit" is not a valid choice.']}),
        ({"opioid_mme_per_day": "-3"}, {"opioid_mme_per_day": ["Ensure this value is greater than or equal to 0."]}),
        ({"date": "2023-03-01"}, {"date": ["A follow-up encounter must be after the procedure date."]}),
        (
            {"kind": "baseline", "date": "2023-02-27"},
            {"narcotic_change": ["Narcotic change is recorded at follow-ups only."]},
        ),
        ({"procedure": 999999}, {"procedure": ['Invalid pk "999999" - object does not exist.']}),
    ],
)
def test_it_refuses_bad_encounters_with_the_field_error(personas, procedure_a, overrides, errors):
    response = client_for(personas["alice"]).post(URL, body(procedure_a, **overrides), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Encounter.objects.count() == 0


def test_it_refuses_a_second_baseline(personas, procedure_a):
    EncounterFactory(procedure=procedure_a, kind="baseline", date=datetime.date(2023, 2, 27))

    response = client_for(personas["alice"]).post(
        URL, body(procedure_a, kind="baseline", date="2023-02-28", narcotic_change=None), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"kind": ["This procedure already has a baseline encounter."]}
    assert Encounter.objects.count() == 1


def test_it_treats_another_sites_procedure_as_unknown(personas, encounter_b):
    response = client_for(personas["alice"]).post(URL, body(encounter_b.procedure), format="json")

    assert response.status_code == 400
    assert response.json() == {"procedure": [f'Invalid pk "{encounter_b.procedure_id}" - object does not exist.']}
    assert Encounter.objects.count() == 1


def test_it_scopes_encounters_by_role(personas, procedure_a, encounter_b):
    mine = EncounterFactory(procedure=procedure_a)

    assert [e["id"] for e in client_for(personas["alice"]).get(URL).json()["results"]] == [mine.pk]
    assert client_for(personas["alice"]).get(detail(encounter_b)).status_code == 404
    assert client_for(personas["alice"]).delete(detail(encounter_b)).status_code == 404
    assert client_for(personas["ivy"]).get(URL).json()["count"] == 2
    assert client_for(personas["root"]).get(URL).json()["count"] == 2
    assert Encounter.objects.count() == 2


def test_it_refuses_writes_by_an_investigator(personas, procedure_a):
    encounter = EncounterFactory(procedure=procedure_a)
    client = client_for(personas["ivy"])

    assert client.post(URL, body(procedure_a), format="json").status_code == 403
    assert client.patch(detail(encounter), {"msts_pain": 0}, format="json").status_code == 403
    assert client.delete(detail(encounter)).status_code == 403
    assert Encounter.objects.get().msts_pain == 3


def test_it_filters_encounters(personas, procedure_a):
    EncounterFactory(procedure=procedure_a, kind="baseline", date=datetime.date(2023, 2, 28))
    EncounterFactory(procedure=procedure_a, kind="followup")
    client = client_for(personas["alice"])

    assert client.get(URL, {"kind": "baseline"}).json()["count"] == 1
    assert client.get(URL, {"procedure": procedure_a.pk}).json()["count"] == 2
    assert client.get(URL, {"procedure": 999999}).json()["count"] == 0
    assert client.get(URL, {"site": "SITEB"}).json()["count"] == 0


def test_it_updates_an_encounter(personas, procedure_a):
    encounter = EncounterFactory(procedure=procedure_a)

    response = client_for(personas["alice"]).patch(
        detail(encounter), {"msts_pain": 5, "version": 1, "change_reason": "Typo"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["msts_total"], response.json()["version"]) == (20, 2)
    encounter.refresh_from_db()
    assert (encounter.msts_pain, encounter.msts_total, encounter.version) == (5, 20, 2)


def test_it_replaces_an_encounter_with_put(personas, procedure_a):
    encounter = EncounterFactory(procedure=procedure_a)

    # A follow-up records something (an empty one is refused): here only the narcotic change.
    response = client_for(personas["alice"]).put(
        detail(encounter),
        {
            "procedure": procedure_a.pk,
            "date": "2023-05-01",
            "kind": "followup",
            "narcotic_change": "stable",
            "change_reason": "Rescored",
        },
        format="json",
    )

    assert response.status_code == 200
    encounter.refresh_from_db()
    assert (encounter.date, encounter.msts_pain, encounter.msts_total) == (datetime.date(2023, 5, 1), None, None)


def test_it_refuses_a_stale_encounter_edit(personas, procedure_a):
    encounter = EncounterFactory(procedure=procedure_a)
    first = client_for(personas["bob"]).patch(detail(encounter), {"msts_pain": 1, "change_reason": "x"}, format="json")
    assert first.status_code == 200

    response = client_for(personas["alice"]).patch(
        detail(encounter), {"msts_pain": 5, "version": 1, "change_reason": "Typo"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert Encounter.objects.get().msts_pain == 1


def test_it_refuses_moving_an_encounter_to_another_procedure(personas, procedure_a, site_a):
    encounter = EncounterFactory(procedure=procedure_a)
    other = ProcedureFactory(patient=PatientFactory(site=site_a))

    response = client_for(personas["alice"]).patch(
        detail(encounter), {"procedure": other.pk, "change_reason": "Wrong procedure"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"procedure": ["This field cannot be changed."]}
    assert Encounter.objects.get().procedure_id == procedure_a.pk


def test_it_deletes_an_encounter(personas, procedure_a):
    encounter = EncounterFactory(procedure=procedure_a)

    response = client_for(personas["bob"]).delete(detail(encounter) + "?change_reason=Entered%20twice")

    assert response.status_code == 204
    assert Encounter.objects.count() == 0

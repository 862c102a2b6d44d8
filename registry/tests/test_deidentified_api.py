"""Investigators read every REST resource de-identified (docs/contract.md, "De-identified view"):
no calendar date, no created_at/updated_at, no free text; ``days_from_index`` instead of ``date``,
``deceased`` and ``days_to_death`` on the patient. Clinicians read the records unchanged."""

import datetime
import json
import random
import re

import pytest

from outcomes import api as outcome_api
from outcomes import services as outcome_services
from registry import api as registry_api
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PLANTED = "John Smith note"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATED = ["/api/procedures/", "/api/encounters/", "/api/secondary-procedures/", "/api/complications/"]
RESOURCES = ["/api/patients/", *DATED]
NEVER_FOR_INVESTIGATORS = {
    "mrn",
    "birth_date",
    "death_date",
    "date",
    "created_at",
    "updated_at",
    "primary_cancer_detail",
    "reason",
    "description",
    "note",
}


@pytest.fixture
def cohort(site_a):
    """One patient with two procedures and dated records around them (days from the index in comments)."""
    patient = PatientFactory(
        site=site_a,
        birth_date=datetime.date(1950, 3, 4),
        death_date=datetime.date(2023, 9, 1),  # +184
        primary_cancer="other",
        primary_cancer_detail=PLANTED,
    )
    index = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))  # 0
    second = ProcedureFactory(patient=patient, date=datetime.date(2023, 5, 1))  # +61
    baseline = EncounterFactory(procedure=index, kind="baseline", date=datetime.date(2023, 2, 20))  # -9
    followup = EncounterFactory(procedure=index, kind="followup", date=datetime.date(2023, 4, 1))  # +31
    later = EncounterFactory(procedure=second, kind="followup", date=datetime.date(2023, 6, 1))  # +92
    secondary = outcome_services.secondary_procedure_create(
        user=None, procedure=index, date=datetime.date(2023, 4, 10), kind="radiation", reason=PLANTED
    )  # +40
    complication = outcome_services.complication_create(
        user=None, procedure=second, date=datetime.date(2023, 6, 15), kind="infection", description=PLANTED
    )  # +106
    alive = PatientFactory(site=site_a)
    return {
        "patient": patient,
        "alive": alive,
        "/api/procedures/": {index.pk: 0, second.pk: 61},
        "/api/encounters/": {baseline.pk: -9, followup.pk: 31, later.pk: 92},
        "/api/secondary-procedures/": {secondary.pk: 40},
        "/api/complications/": {complication.pk: 106},
    }


@pytest.mark.parametrize("url", DATED)
def test_investigators_read_days_from_the_index_procedure_instead_of_dates(personas, cohort, url):
    client = client_for(personas["ivy"])

    listed = client.get(url).json()["results"]
    one = [client.get(f"{url}{pk}/").json() for pk in cohort[url]]

    assert {row["id"]: row["days_from_index"] for row in listed} == cohort[url]
    assert {row["id"]: row["days_from_index"] for row in one} == cohort[url]
    for row in [*listed, *one]:
        assert not NEVER_FOR_INVESTIGATORS & set(row), row


def test_investigators_read_patients_with_deceased_and_days_to_death(personas, cohort):
    patient, alive = cohort["patient"], cohort["alive"]
    client = client_for(personas["ivy"])

    listed = {row["id"]: row for row in client.get("/api/patients/").json()["results"]}
    one = client.get(f"/api/patients/{patient.pk}/").json()

    for row in [*listed.values(), one]:
        assert not NEVER_FOR_INVESTIGATORS & set(row), row
    assert (one["deceased"], one["days_to_death"], one["age"]) == (True, 184, 72)
    assert (listed[patient.pk]["deceased"], listed[patient.pk]["days_to_death"]) == (True, 184)
    # No procedure yet: no index, hence no day to count from.
    assert (listed[alive.pk]["deceased"], listed[alive.pk]["days_to_death"]) == (False, None)


def test_a_deceased_patient_without_a_procedure_has_no_days_to_death(personas, site_a):
    patient = PatientFactory(site=site_a, death_date=datetime.date(2023, 9, 1))

    body = client_for(personas["ivy"]).get(f"/api/patients/{patient.pk}/").json()

    assert (body["deceased"], body["days_to_death"]) == (True, None)
    assert "death_date" not in body


@pytest.mark.parametrize("url", RESOURCES)
def test_clinicians_read_dates_and_free_text_unchanged(personas, cohort, url):
    rows = client_for(personas["alice"]).get(url).json()["results"]

    for row in rows:
        assert {"created_at", "updated_at"} <= set(row)
        assert not {"days_from_index", "deceased", "days_to_death"} & set(row)
        assert ("date" in row) == (url != "/api/patients/")
    text = json.dumps(rows)
    assert (PLANTED in text) == (url in ("/api/patients/", "/api/secondary-procedures/", "/api/complications/"))


@pytest.mark.parametrize("seed", range(4))
def test_no_investigator_response_holds_a_date_or_planted_free_text(personas, site_a, site_b, seed):
    """A cohort with random dates: no ISO date and no free text anywhere in what investigators read."""
    rng = random.Random(seed)
    for n in range(6):
        index_day = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(2500))
        birth = index_day - datetime.timedelta(days=rng.randrange(20 * 365, 95 * 365))
        died = rng.random() < 0.5
        patient = PatientFactory(
            site=rng.choice([site_a, site_b]),
            birth_date=birth,
            death_date=index_day + datetime.timedelta(days=400) if died else None,
            primary_cancer="other",
            primary_cancer_detail=f"{PLANTED} {n}",
        )
        procedure = ProcedureFactory(patient=patient, date=index_day)
        EncounterFactory(procedure=procedure, kind="baseline", date=index_day - datetime.timedelta(rng.randrange(5)))
        EncounterFactory(
            procedure=procedure, kind="followup", date=index_day + datetime.timedelta(rng.randrange(1, 90))
        )
        day = index_day + datetime.timedelta(days=rng.randrange(1, 300))
        outcome_services.secondary_procedure_create(
            user=None, procedure=procedure, date=day, kind="radiation", reason=f"{PLANTED} {n}"
        )
        outcome_services.complication_create(
            user=None, procedure=procedure, date=day, kind="infection", description=f"{PLANTED} {n}"
        )
    client = client_for(personas["ivy"])

    for url in RESOURCES:
        listed = client.get(url, {"page_size": 500})
        bodies = [listed, *(client.get(f"{url}{row['id']}/") for row in listed.json()["results"])]
        assert len(bodies) > 1
        for response in bodies:
            assert response.status_code == 200
            text = response.content.decode()
            assert ISO_DATE.findall(text) == [], (url, text)
            assert PLANTED not in text
            assert "Last-Modified" not in response
            assert not ISO_DATE.search(response.get("ETag", ""))


VIEWSETS = [
    registry_api.PatientViewSet,
    registry_api.ProcedureViewSet,
    outcome_api.EncounterViewSet,
    outcome_api.SecondaryProcedureViewSet,
    outcome_api.ComplicationViewSet,
]


@pytest.mark.parametrize("viewset", VIEWSETS, ids=lambda v: v.__name__)
def test_no_list_filter_or_ordering_reaches_a_date(viewset):
    """A date filter would give investigators the dates by bisection; none may exist, and no ordering
    parameter either."""
    from django.db import models

    model = viewset.filterset_class._meta.model
    for name, declared in viewset.filterset_class.base_filters.items():
        field = model
        for part in declared.field_name.split("__"):
            target = field._meta.get_field(part)
            field = target.related_model or target
        assert not isinstance(field, models.DateField), name  # DateTimeField is a DateField too
        assert "date" not in name and not name.endswith("_at"), name
    assert not getattr(viewset, "ordering_fields", None)


@pytest.mark.parametrize("url", DATED)
def test_date_parameters_change_nothing_for_an_investigator(personas, cohort, url):
    client = client_for(personas["ivy"])
    everything = client.get(url).json()

    for params in ({"date": "2023-03-01"}, {"date__lt": "2023-04-01"}, {"ordering": "-date"}):
        response = client.get(url, params)
        assert (response.status_code, response.json()) == (200, everything), params


def test_the_schema_documents_the_investigator_representation():
    schemas = client_for().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schemas["components"]["schemas"]

    patient = components["Patient"]
    assert {"deceased", "days_to_death"} <= set(patient["properties"])
    assert not {"deceased", "days_to_death", "primary_cancer_detail", "created_at"} & set(patient["required"])
    assert "investigators only" in patient["properties"]["days_to_death"]["description"].lower()
    for name in ("Procedure", "Encounter", "SecondaryProcedure", "Complication"):
        component = components[name]
        assert component["properties"]["days_from_index"]["type"] == "integer", name
        assert "investigators only" in component["properties"]["days_from_index"]["description"].lower(), name
        assert "absent for investigators" in component["properties"]["date"]["description"].lower(), name
        assert not {"date", "days_from_index", "created_at", "updated_at"} & set(component["required"]), name

"""Finding patients by part of an MRN or study id, in any case (the list page's search box and the
API's ``?search=``), through the indexes of registry migration 0008; and the possible duplicates the
"new patient" page shows before saving."""

import datetime
import importlib

import pytest
from django.db import connection
from django.urls import reverse

from registry import selectors, services
from registry.models import Patient
from registry.tests.api_support import client_for, patient_body
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW = {"mrn": "Q-77", "birth_date": "1950-01-01", "sex": "male", "primary_cancer": "renal", "status": "active"}


@pytest.fixture
def patients(site_a, site_b):
    return {
        "mrn": PatientFactory(site=site_a, mrn="MRN-448812"),
        "other": PatientFactory(site=site_a, mrn="ZZ-1"),
        "site_b": PatientFactory(site=site_b, mrn="MRN-448899"),
    }


def listed(client, user, q) -> list[int]:
    client.force_login(user)
    response = client.get(reverse("patient_list"), {"q": q})
    assert response.status_code == 200
    return sorted(p.pk for p in response.context["page"].object_list)


def searched(user, **params) -> list[int]:
    response = client_for(user).get("/api/patients/", params)
    assert response.status_code == 200
    return sorted(row["id"] for row in response.json()["results"])


# --- The list page and the API ------------------------------------------------------------------


@pytest.mark.parametrize("q", ["4488", "mrn-44", "n-448812", "MRN-448812", "\uff4d\uff52\uff4e\u2011448"])
def test_the_list_finds_a_patient_by_part_of_the_mrn_in_any_case(client, personas, patients, q):
    assert listed(client, personas["alice"], q) == [patients["mrn"].pk]


@pytest.mark.parametrize("q", ["4488", "mrn-44"])
def test_the_api_finds_a_patient_by_part_of_the_mrn_in_any_case(personas, patients, q):
    assert searched(personas["alice"], search=q) == [patients["mrn"].pk]
    assert searched(personas["root"], search=q) == sorted([patients["mrn"].pk, patients["site_b"].pk])


def test_both_find_a_patient_by_part_of_the_study_id_in_any_case(client, personas, patients):
    study_id = patients["other"].study_id  # SAC-000nn
    part = study_id[-3:]
    lower = study_id.lower()[:6] + study_id[6:]

    assert listed(client, personas["alice"], f" {lower} ") == [patients["other"].pk]
    assert searched(personas["alice"], search=lower) == [patients["other"].pk]
    assert patients["other"].pk in searched(personas["alice"], search=part)


def test_investigators_find_by_study_id_but_never_by_mrn(client, personas, patients):
    ivy = personas["ivy"]

    assert listed(client, ivy, "4488") == []
    assert searched(ivy, search="4488") == []
    assert searched(ivy, search=patients["mrn"].study_id.lower()) == [patients["mrn"].pk]


def test_the_search_keeps_to_the_sites_the_user_may_see(personas, patients):
    assert searched(personas["charlie"], search="MRN-4488") == [patients["site_b"].pk]


def test_the_exact_mrn_filter_compares_as_the_registry_does(personas, patients):
    assert searched(personas["alice"], mrn="mrn\u2011448812\u200b") == [patients["mrn"].pk]
    assert searched(personas["alice"], mrn="4488") == []
    assert searched(personas["ivy"], mrn="MRN-448812") == []


def test_a_search_for_wildcards_is_literal(personas, patients):
    assert searched(personas["alice"], search="%") == []
    assert searched(personas["alice"], search="_") == []


def test_the_api_schema_documents_search(personas):
    response = client_for(personas["alice"]).get("/api/schema/", {"format": "json"})

    operation = response.json()["paths"]["/api/patients/"]["get"]
    names = [parameter["name"] for parameter in operation["parameters"]]
    assert {"search", "mrn", "study_id", "site", "sex", "primary_cancer"} <= set(names)


# --- The indexes (registry migration 0008) ------------------------------------------------------------


def _migration():
    return importlib.import_module("registry.migrations.0008_patient_search_index")


def _index_definitions() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registry_patient' AND indexname LIKE %s",
            ["patient_%_search"],
        )
        return dict(cursor.fetchall())


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is small: show the index can serve
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _trigram_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def test_the_search_uses_the_indexes_of_its_expressions(patients):
    definitions = _index_definitions()
    kind = "gin_trgm_ops" if _trigram_installed() else "text_pattern_ops"
    term = "4488" if kind == "gin_trgm_ops" else "MRN-4"  # prefix indexes serve the start of a value

    plan = _plan(selectors.patients_matching(Patient.objects.order_by(), term, phi=True))

    assert sorted(definitions) == ["patient_mrn_search", "patient_study_id_search"]
    assert all(kind in definition for definition in definitions.values())
    assert "upper((mrn)::text)" in definitions["patient_mrn_search"]
    if kind == "gin_trgm_ops":
        assert "patient_mrn_search" in plan and "patient_study_id_search" in plan


def test_without_pg_trgm_the_migration_makes_prefix_indexes():
    migration = _migration()

    with connection.schema_editor() as editor:
        migration.drop_search_indexes(None, editor)
        migration.create_search_indexes(None, editor, trigram=False)
    definitions = _index_definitions()

    assert definitions == {
        "patient_mrn_search": "CREATE INDEX patient_mrn_search ON public.registry_patient "
        "USING btree (upper((mrn)::text) text_pattern_ops)",
        "patient_study_id_search": "CREATE INDEX patient_study_id_search ON public.registry_patient "
        "USING btree (upper((study_id)::text) text_pattern_ops)",
    }


# --- Possible duplicates on "new patient" ----------------------------------------------------------------


def post_new(client, user, site, **changes):
    client.force_login(user)
    return client.post(reverse("patient_create"), {"site": site.pk, **NEW, **changes})


@pytest.fixture
def twin(site_a):
    return PatientFactory(site=site_a, mrn="A-100", birth_date=datetime.date(1950, 1, 1), sex="male")


def test_the_new_patient_page_names_a_patient_with_the_same_birth_date_and_sex(client, personas, site_a, twin):
    response = post_new(client, personas["alice"], site_a)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].confirmation_warnings == [
        f"Possible duplicate at this site: {twin.study_id} (same date of birth and sex). "
        "Save only if this is not the same patient."
    ]
    assert (
        f'<a href="{reverse("patient_detail", args=[twin.pk])}" target="_blank" rel="noopener">{twin.study_id}</a>'
        in page
    )
    assert 'name="confirm_warnings"' in page
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("MRN-448812", "MRN-448813"),  # one character changed
        ("MRN-448812", "mrn-44812"),  # one removed, in another case
        ("MRN-448812", "MRN-4488112"),  # one added
        ("M-R-N 448812", "MRN448812"),  # the same letters and digits
    ],
)
def test_the_new_patient_page_names_a_patient_with_a_near_mrn(client, personas, site_a, existing, typed):
    other = PatientFactory(site=site_a, mrn=existing, birth_date=datetime.date(1990, 5, 5), sex="female")

    response = post_new(client, personas["alice"], site_a, mrn=typed)

    assert response.context["form"].confirmation_warnings == [
        f"Possible duplicate at this site: {other.study_id} (nearly the same MRN). "
        "Save only if this is not the same patient."
    ]
    assert Patient.objects.count() == 1


def test_both_reasons_and_several_patients_are_named(client, personas, site_a, twin):
    near = PatientFactory(site=site_a, mrn="Q-78", birth_date=datetime.date(1990, 5, 5), sex="female")
    both = PatientFactory(site=site_a, mrn="Q-7", birth_date=datetime.date(1950, 1, 1), sex="male")

    response = post_new(client, personas["alice"], site_a)

    listed = sorted([twin, near, both], key=lambda p: p.study_id)
    why = {
        twin.pk: "same date of birth and sex",
        near.pk: "nearly the same MRN",
        both.pk: ("same date of birth and sex and nearly the same MRN"),
    }
    names = ", ".join(f"{p.study_id} ({why[p.pk]})" for p in listed)
    assert response.context["form"].confirmation_warnings == [
        f"Possible duplicate at this site: {names}. Save only if this is not the same patient."
    ]


def test_a_confirmed_new_patient_is_saved_with_the_confirmation_in_the_audit(client, personas, site_a, twin):
    response = post_new(client, personas["alice"], site_a, confirm_warnings="1")

    created = Patient.objects.exclude(pk=twin.pk).get()
    event = Patient.pgh_event_models["insert"].objects.get(pgh_obj_id=created.pk, pgh_label="insert")
    assert response.status_code == 302
    assert event.pgh_context.metadata["reason"] == (
        f"Confirmed: Possible duplicate at this site: {twin.study_id} (same date of birth and sex). "
        "Save only if this is not the same patient."
    )


def test_patients_of_other_sites_and_unrelated_ones_are_not_named(client, personas, site_a, site_b):
    PatientFactory(site=site_b, mrn="Q-77", birth_date=datetime.date(1950, 1, 1), sex="male")
    PatientFactory(site=site_a, mrn="Q-7700", birth_date=datetime.date(1950, 1, 1), sex="female")

    response = post_new(client, personas["alice"], site_a)

    assert response.status_code == 302
    assert Patient.objects.filter(site=site_a).count() == 2


def test_the_api_creates_without_asking(personas, twin):
    body = patient_body("SITEA", mrn="A-101", birth_date="1950-01-01", sex="male")

    response = client_for(personas["alice"]).post("/api/patients/", body, format="json")

    assert response.status_code == 201
    assert Patient.objects.count() == 2


def test_the_service_checks_duplicates_only_when_asked(site_a, twin):
    fields = {"site": site_a, "mrn": "A-102", "birth_date": twin.birth_date, "sex": "male", "primary_cancer": "lung"}

    created = services.patient_create(user=None, **fields)

    assert created.pk is not None

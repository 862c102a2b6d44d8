"""The database itself refuses what the services refuse, for writes that bypass them."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from outcomes.models import Encounter
from registry.models import Patient, Screw
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def assert_db_refuses(constraint, query):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        query()
    assert caught.value.__cause__.diag.constraint_name == constraint


@pytest.mark.parametrize(
    "field", ["msts_pain", "msts_function", "msts_emotional_acceptance", "msts_supports", "msts_walking", "msts_gait"]
)
def test_msts_domains_are_0_to_5(field):
    encounter = EncounterFactory()

    assert_db_refuses(f"encounter_{field}_0_5", lambda: Encounter.objects.filter(pk=encounter.pk).update(**{field: 6}))
    assert getattr(Encounter.objects.get(pk=encounter.pk), field) == 3


def test_mrn_is_unique_within_a_site():
    patient = PatientFactory()

    assert_db_refuses(
        "patient_unique_site_mrn_ci",
        lambda: Patient.objects.create(
            study_id="SAC-X1",
            site=patient.site,
            mrn=patient.mrn.swapcase(),
            birth_date=datetime.date(1970, 1, 1),
            sex="male",
            primary_cancer="lung",
        ),
    )


def test_death_not_before_birth_and_other_needs_detail():
    patient = PatientFactory()

    assert_db_refuses(
        "patient_death_not_before_birth",
        lambda: Patient.objects.filter(pk=patient.pk).update(death_date=datetime.date(1900, 1, 1)),
    )
    assert_db_refuses(
        "patient_other_cancer_has_detail", lambda: Patient.objects.filter(pk=patient.pk).update(primary_cancer="other")
    )


def test_baseline_is_unique_and_has_no_narcotic_change():
    baseline = EncounterFactory(kind="baseline")

    assert_db_refuses(
        "encounter_one_baseline_per_procedure",
        lambda: Encounter.objects.create(procedure=baseline.procedure, date=baseline.date, kind="baseline"),
    )
    assert_db_refuses(
        "encounter_narcotic_change_followup_only",
        lambda: Encounter.objects.filter(pk=baseline.pk).update(narcotic_change="stable"),
    )


def test_screw_diameter_and_indications_are_checked():
    procedure = ProcedureFactory()

    assert_db_refuses("screw_diameter_range", lambda: Screw.objects.filter(procedure=procedure).update(diameter_mm=20))
    assert_db_refuses(
        "procedure_indications_known",
        lambda: type(procedure).objects.filter(pk=procedure.pk).update(indications=["unknown"]),
    )


def test_the_total_is_computed_by_the_database_for_raw_writes_too():
    encounter = EncounterFactory()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE outcomes_encounter SET msts_pain = 0 WHERE id = %s", [encounter.pk])
        cursor.execute("UPDATE outcomes_encounter SET msts_gait = NULL WHERE id = %s AND msts_pain = 0", [encounter.pk])

    encounter.refresh_from_db()
    assert encounter.msts_total is None
    Encounter.objects.filter(pk=encounter.pk).update(msts_gait=4)
    encounter.refresh_from_db()
    assert encounter.msts_total == 0 + 3 + 3 + 3 + 3 + 4

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from core.writes import StaleEditError
from registry import services
from registry.models import Patient
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

TOMORROW = datetime.date.today() + datetime.timedelta(days=1)


def patient_fields(site, **overrides):
    fields = {
        "site": site,
        "mrn": "12345",
        "birth_date": datetime.date(1955, 1, 2),
        "sex": "male",
        "primary_cancer": "renal",
    }
    return {**fields, **overrides}


def assert_refused(call, field, message):
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.message_dict[field] == [message]


def test_it_creates_a_patient_with_a_study_id(site_a):
    patient = services.patient_create(user=None, **patient_fields(site_a))

    patient.refresh_from_db()
    assert patient.study_id.startswith("SAC-")
    assert len(patient.study_id) == 9
    assert patient.version == 1
    assert patient.is_demo is False


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"birth_date": TOMORROW}, "birth_date", "Date cannot be in the future."),
        ({"death_date": TOMORROW}, "death_date", "Date cannot be in the future."),
        (
            {"death_date": datetime.date(1950, 1, 1)},
            "death_date",
            "Date of death cannot be before the date of birth.",
        ),
        ({"primary_cancer": "other"}, "primary_cancer_detail", "Describe the primary cancer when it is 'other'."),
        (
            {"primary_cancer": "other", "primary_cancer_detail": "   "},
            "primary_cancer_detail",
            "Describe the primary cancer when it is 'other'.",
        ),
        ({"sex": "unknown"}, "sex", "Value 'unknown' is not a valid choice."),
        ({"primary_cancer": "skin"}, "primary_cancer", "Value 'skin' is not a valid choice."),
        ({"mrn": ""}, "mrn", "This field cannot be blank."),
    ],
)
def test_it_refuses_a_bad_patient_and_stores_nothing(site_a, overrides, field, message):
    assert_refused(lambda: services.patient_create(user=None, **patient_fields(site_a, **overrides)), field, message)

    assert Patient.objects.count() == 0


def test_it_accepts_other_cancer_with_detail(site_a):
    patient = services.patient_create(
        user=None, **patient_fields(site_a, primary_cancer="other", primary_cancer_detail="Thyroid")
    )

    assert Patient.objects.get(pk=patient.pk).primary_cancer_detail == "Thyroid"


def test_it_refuses_a_duplicate_mrn_within_a_site(site_a, site_b):
    services.patient_create(user=None, **patient_fields(site_a))

    assert_refused(
        lambda: services.patient_create(user=None, **patient_fields(site_a)),
        "mrn",
        "A patient with this MRN already exists at this site.",
    )
    services.patient_create(user=None, **patient_fields(site_b))  # the same MRN at another site is another patient
    assert Patient.objects.count() == 2


def test_it_never_reuses_a_study_id(site_a):
    first = services.patient_create(user=None, **patient_fields(site_a, mrn="1"))
    services.patient_delete(user=None, patient=first, reason="Corrected")
    with pytest.raises(ValidationError), transaction.atomic():
        services.patient_create(user=None, **patient_fields(site_a, mrn="2", birth_date=TOMORROW))
    second = services.patient_create(user=None, **patient_fields(site_a, mrn="3"))

    assert int(second.study_id[4:]) > int(first.study_id[4:])
    assert not Patient.objects.filter(study_id=first.study_id).exists()


def test_it_refuses_a_death_date_before_a_procedure():
    procedure = ProcedureFactory(date=datetime.date(2023, 3, 1))
    patient = procedure.patient

    assert_refused(
        lambda: services.patient_update(
            user=None, patient=patient, data={"death_date": datetime.date(2023, 2, 1)}, reason="Corrected"
        ),
        "death_date",
        "Date of death cannot be before a procedure of this patient (2023-03-01).",
    )
    patient.refresh_from_db()
    assert patient.death_date is None
    assert patient.version == 1


def test_it_updates_a_patient_and_raises_its_version():
    patient = PatientFactory()

    updated = services.patient_update(
        user=None, patient=patient, data={"death_date": datetime.date(2024, 1, 5)}, expected_version=1, reason="fix"
    )

    assert updated.version == 2
    assert Patient.objects.get(pk=patient.pk).death_date == datetime.date(2024, 1, 5)


def test_it_refuses_a_stale_edit():
    patient = PatientFactory()
    services.patient_update(user=None, patient=patient, data={"sex": "male"}, expected_version=1, reason="Corrected")

    with pytest.raises(StaleEditError) as caught:
        services.patient_update(
            user=None, patient=patient, data={"primary_cancer": "lung"}, expected_version=1, reason="Corrected"
        )

    assert str(caught.value) == (
        "This record was changed by someone else (version 1 was edited, the record is now at version 2). "
        "Reload it and apply your change again."
    )
    patient.refresh_from_db()
    assert (patient.sex, patient.primary_cancer, patient.version) == ("male", "breast", 2)


def test_it_refuses_a_field_that_cannot_be_changed():
    patient = PatientFactory()

    assert_refused(
        lambda: services.patient_update(user=None, patient=patient, data={"study_id": "SAC-99999"}, reason="Corrected"),
        "study_id",
        "This field cannot be changed.",
    )


def test_clinicians_write_only_their_own_sites(personas, site_a, site_b):
    services.patient_create(user=personas["alice"], **patient_fields(site_a, mrn="A1"))

    with pytest.raises(PermissionDenied):
        services.patient_create(user=personas["charlie"], **patient_fields(site_a, mrn="A2"))
    with pytest.raises(PermissionDenied):
        services.patient_create(user=personas["ivy"], **patient_fields(site_a, mrn="A3"))
    services.patient_create(user=personas["root"], **patient_fields(site_b, mrn="B1"))

    assert sorted(Patient.objects.values_list("mrn", flat=True)) == ["A1", "B1"]


def test_moving_a_patient_needs_rights_at_the_new_site(personas, site_a, site_b):
    patient = services.patient_create(user=personas["alice"], **patient_fields(site_a))

    with pytest.raises(PermissionDenied):
        services.patient_update(user=personas["alice"], patient=patient, data={"site": site_b}, reason="Corrected")

    assert Patient.objects.get(pk=patient.pk).site == site_a


def test_the_study_id_comes_from_a_database_sequence(site_a):
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('registry_study_number_seq')")
        (taken,) = cursor.fetchone()
    patient = services.patient_create(user=None, **patient_fields(site_a))

    assert patient.study_id == f"SAC-{taken + 1:05d}"


def test_a_clinician_account_needs_a_site():
    with pytest.raises(ValidationError) as caught:
        services.staff_user_create(username="nosite", password="correct horse battery staple", role="clinician")

    assert caught.value.message_dict == {"sites": ["A clinician belongs to at least one site."]}

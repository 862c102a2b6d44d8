"""Plausibility limits of patients and procedures (contract: "Plausibility limits").

Hard limits are refused everywhere (service, API 400 naming the field, form errors): birth from
1900-01-01, 0-110 years old at any procedure, cement 0-100 ml. Soft limits (cement above 40 ml, a
patient under 18 at a procedure) make the pages ask "are you sure?" and keep the confirmation in the
audit reason; the API accepts them.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.writes import NeedsConfirmation
from registry import services
from registry.models import Patient, Procedure
from registry.tests.api_support import client_for, patient_body, procedure_body
from registry.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BIRTH_1900 = "Date of birth cannot be before 1900-01-01."
CEMENT_MAX = "Cement volume cannot be more than 100 ml."
CEMENT_45 = "Cement volume: 45.0 ml is more than 40 ml, an unusually large volume; check the value."
TOO_OLD = "The patient would be 111 years old at the procedure of 2021-01-01; the registry accepts ages up to 110."
MINOR = (
    "The patient would be 17 years old at the procedure of 2024-01-01 (under 18): "
    "check the date of birth and the procedure date."
)


def procedure_fields(patient, **overrides) -> dict:
    fields = {
        "patient": patient,
        "date": datetime.date(2024, 1, 1),
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "orthopaedics",
    }
    return {**fields, **overrides}


def insert_reason(model, pk) -> str | None:
    event = model.pgh_event_models["insert"].objects.get(pgh_obj_id=pk, pgh_label="insert")
    return event.pgh_context.metadata.get("reason") if event.pgh_context else None


def update_reason(model, pk) -> str:
    event = model.pgh_event_models["update"].objects.filter(pgh_obj_id=pk, pgh_label="update").latest("pgh_id")
    return event.pgh_context.metadata["reason"]


def snapshot():
    return list(Patient.objects.order_by("pk").values()), list(Procedure.objects.order_by("pk").values())


@pytest.fixture
def elderly(site_a):
    return PatientFactory(site=site_a, birth_date=datetime.date(1910, 1, 1))


@pytest.fixture
def young(site_a):
    return PatientFactory(site=site_a, birth_date=datetime.date(2006, 1, 2))


# --- Hard: date of birth from 1900-01-01 ------------------------------------------------------------


def test_a_birth_date_before_1900_is_refused_by_the_service(site_a):
    with pytest.raises(ValidationError) as refused:
        PatientFactory(site=site_a, birth_date=datetime.date(1899, 12, 31))

    assert refused.value.message_dict == {"birth_date": [BIRTH_1900]}
    assert Patient.objects.count() == 0
    assert PatientFactory(site=site_a, birth_date=datetime.date(1900, 1, 1)).birth_date == datetime.date(1900, 1, 1)


def test_a_birth_date_before_1900_is_a_400_in_the_api(personas):
    body = patient_body("SITEA", birth_date="1899-12-31")

    response = client_for(personas["alice"]).post("/api/patients/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"birth_date": [BIRTH_1900]}
    assert Patient.objects.count() == 0


def test_a_birth_date_before_1900_is_a_form_error(client, personas, site_a):
    client.force_login(personas["alice"])
    data = {"site": site_a.pk, "mrn": "N-1", "birth_date": "1899-12-31", "sex": "male", "primary_cancer": "renal"}
    data["status"] = "active"

    response = client.post(reverse("patient_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"birth_date": [BIRTH_1900]}
    assert Patient.objects.count() == 0


# --- Hard: 0 to 110 years old at any procedure ----------------------------------------------------


def test_a_procedure_after_the_110th_year_is_refused_by_the_service(elderly):
    with pytest.raises(ValidationError) as refused:
        services.procedure_create(user=None, **procedure_fields(elderly, date=datetime.date(2021, 1, 1)))

    assert refused.value.message_dict == {"date": [TOO_OLD]}
    assert Procedure.objects.count() == 0
    at_110 = services.procedure_create(user=None, **procedure_fields(elderly, date=datetime.date(2020, 12, 31)))
    assert at_110.pk is not None


def test_moving_a_procedure_past_the_110th_year_is_refused(elderly):
    procedure = services.procedure_create(user=None, **procedure_fields(elderly, date=datetime.date(2020, 6, 1)))

    with pytest.raises(ValidationError) as refused:
        services.procedure_update(
            user=None, procedure=procedure, data={"date": datetime.date(2021, 1, 1)}, reason="Date corrected"
        )

    assert refused.value.message_dict == {"date": [TOO_OLD]}
    fresh = Procedure.objects.get(pk=procedure.pk)
    assert (fresh.date, fresh.version) == (datetime.date(2020, 6, 1), 1)


def test_a_procedure_after_the_110th_year_is_a_400_in_the_api(personas, elderly):
    body = procedure_body(elderly.pk, date="2021-01-01")

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"date": [TOO_OLD]}
    assert Procedure.objects.count() == 0


def test_a_procedure_after_the_110th_year_is_a_form_error(client, personas, elderly):
    client.force_login(personas["alice"])
    data = {
        "date": "2021-01-01",
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "none",
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("procedure_create", args=[elderly.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"date": [TOO_OLD]}
    assert Procedure.objects.count() == 0


def test_a_new_birth_date_must_leave_every_procedure_between_0_and_110_years(site_a):
    patient = PatientFactory(site=site_a, birth_date=datetime.date(1950, 1, 1))
    services.procedure_create(user=None, **procedure_fields(patient, date=datetime.date(2021, 1, 1)))
    services.procedure_create(user=None, **procedure_fields(patient, date=datetime.date(2022, 5, 1)))
    before = snapshot()

    with pytest.raises(ValidationError) as too_old:
        services.patient_update(
            user=None, patient=patient, data={"birth_date": datetime.date(1911, 1, 1)}, reason="Typo"
        )
    with pytest.raises(ValidationError) as unborn:
        services.patient_update(
            user=None, patient=patient, data={"birth_date": datetime.date(2021, 6, 1)}, reason="Typo"
        )

    assert too_old.value.message_dict == {
        "birth_date": [
            "The patient would be 111 years old at the procedure of 2022-05-01; the registry accepts ages up to 110."
        ]
    }
    assert unborn.value.message_dict == {
        "birth_date": ["The date of birth cannot be after a procedure of this patient (2021-01-01)."]
    }
    assert snapshot() == before


def test_a_new_birth_date_past_the_limit_is_a_400_in_the_api(personas, elderly):
    services.procedure_create(user=None, **procedure_fields(elderly, date=datetime.date(2020, 6, 1)))
    body = {"birth_date": "1909-01-01", "change_reason": "Typo"}

    response = client_for(personas["alice"]).patch(f"/api/patients/{elderly.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "birth_date": [
            "The patient would be 111 years old at the procedure of 2020-06-01; the registry accepts ages up to 110."
        ]
    }
    assert Patient.objects.get(pk=elderly.pk).birth_date == datetime.date(1910, 1, 1)


# --- Hard: cement 0 to 100 ml ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "errors"),
    [
        ("100.1", {"cement_volume_ml": [CEMENT_MAX]}),
        ("-0.5", {"cement_volume_ml": ["Ensure this value is greater than or equal to 0."]}),
    ],
)
def test_cement_outside_0_to_100_ml_is_a_400_in_the_api(personas, site_a, volume, errors):
    patient = PatientFactory(site=site_a)
    body = procedure_body(patient.pk, treatment="sacroplasty", screws=[], cement_volume_ml=volume)

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Procedure.objects.count() == 0


def test_cement_over_100_ml_is_refused_by_the_service_and_the_form(client, personas, site_a):
    patient = PatientFactory(site=site_a)
    with pytest.raises(ValidationError) as refused:
        services.procedure_create(user=None, **procedure_fields(patient, cement_volume_ml=Decimal("100.1")))
    client.force_login(personas["alice"])
    data = {
        "date": "2024-01-01",
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "none",
        "cement_volume_ml": "100.1",
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
    }

    response = client.post(reverse("procedure_create", args=[patient.pk]), data)

    assert refused.value.message_dict == {"cement_volume_ml": [CEMENT_MAX]}
    assert response.status_code == 200
    assert response.context["form"].errors == {"cement_volume_ml": [CEMENT_MAX]}
    assert Procedure.objects.count() == 0


# --- Soft: cement above 40 ml, under 18 at a procedure ----------------------------------------------


def test_cement_above_40_ml_needs_confirmation_in_the_service(site_a):
    patient = PatientFactory(site=site_a)

    with pytest.raises(NeedsConfirmation) as asked:
        services.procedure_create(user=None, **procedure_fields(patient, cement_volume_ml=Decimal("45.0")))
    assert asked.value.warnings == [CEMENT_45]
    assert Procedure.objects.count() == 0

    at_40 = services.procedure_create(user=None, **procedure_fields(patient, cement_volume_ml=Decimal("40.0")))
    confirmed = services.procedure_create(
        user=None,
        **procedure_fields(patient, date=datetime.date(2024, 2, 1), cement_volume_ml=Decimal("45.0")),
        confirm=True,
    )

    assert insert_reason(Procedure, at_40.pk) is None
    assert insert_reason(Procedure, confirmed.pk) == f"Confirmed: {CEMENT_45}"


def test_a_confirmed_value_is_not_asked_again_when_another_field_changes(site_a):
    patient = PatientFactory(site=site_a)
    procedure = services.procedure_create(
        user=None, **procedure_fields(patient, cement_volume_ml=Decimal("45.0")), confirm=True
    )

    unchanged = services.procedure_update(user=None, procedure=procedure, data={"ablation": "rfa"}, reason="Op note")
    with pytest.raises(NeedsConfirmation) as asked:
        services.procedure_update(
            user=None, procedure=unchanged, data={"cement_volume_ml": Decimal("60.0")}, reason="Op note"
        )
    changed = services.procedure_update(
        user=None, procedure=unchanged, data={"cement_volume_ml": Decimal("60.0")}, reason="Op note", confirm=True
    )

    assert unchanged.version == 2
    assert asked.value.warnings == [
        "Cement volume: 60.0 ml is more than 40 ml, an unusually large volume; check the value."
    ]
    assert (changed.version, changed.cement_volume_ml) == (3, Decimal("60.0"))
    assert update_reason(Procedure, procedure.pk) == (
        "Op note (Confirmed: Cement volume: 60.0 ml is more than 40 ml, an unusually large volume; check the value.)"
    )


def test_a_minor_at_the_procedure_needs_confirmation(young):
    with pytest.raises(NeedsConfirmation) as asked:
        services.procedure_create(user=None, **procedure_fields(young))
    adult = services.procedure_create(user=None, **procedure_fields(young, date=datetime.date(2024, 1, 2)))

    assert asked.value.warnings == [MINOR]
    assert Procedure.objects.get().pk == adult.pk  # 18 on the day: no question


def test_a_birth_date_change_that_makes_a_minor_needs_confirmation(site_a):
    patient = PatientFactory(site=site_a, birth_date=datetime.date(1990, 1, 1))
    services.procedure_create(user=None, **procedure_fields(patient))

    with pytest.raises(NeedsConfirmation) as asked:
        services.patient_update(
            user=None, patient=patient, data={"birth_date": datetime.date(2006, 1, 2)}, reason="Typo"
        )
    assert Patient.objects.get(pk=patient.pk).birth_date == datetime.date(1990, 1, 1)

    saved = services.patient_update(
        user=None, patient=patient, data={"birth_date": datetime.date(2006, 1, 2)}, reason="Typo", confirm=True
    )

    assert asked.value.warnings == [MINOR]
    assert saved.birth_date == datetime.date(2006, 1, 2)
    assert update_reason(Patient, patient.pk) == f"Typo (Confirmed: {MINOR})"


def test_the_api_accepts_soft_limits_and_keeps_them_in_the_audit_reason(personas, young):
    body = procedure_body(young.pk, date="2024-01-01", treatment="sacroplasty", screws=[], cement_volume_ml="45")

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 201
    assert response.json()["cement_volume_ml"] == "45.0"
    assert insert_reason(Procedure, response.json()["id"]) == f"Confirmed: {CEMENT_45} {MINOR}"


def test_the_procedure_page_asks_before_saving_soft_limits_then_saves_them(client, personas, young):
    client.force_login(personas["alice"])
    url = reverse("procedure_create", args=[young.pk])
    data = {
        "date": "2024-01-01",
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "none",
        "cement_volume_ml": "45",
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
    }

    asked = client.post(url, data)
    saved = client.post(url, {**data, "confirm_warnings": "1"})

    page = asked.content.decode()
    assert asked.status_code == 200
    assert asked.context["form"].confirmation_warnings == [CEMENT_45, MINOR]
    assert 'name="confirm_warnings"' in page
    assert CEMENT_45 in page
    assert saved.status_code == 302
    procedure = Procedure.objects.get()
    assert procedure.cement_volume_ml == Decimal("45.0")
    assert insert_reason(Procedure, procedure.pk) == f"Confirmed: {CEMENT_45} {MINOR}"


def test_the_patient_edit_page_asks_before_making_a_minor(client, personas, site_a):
    patient = PatientFactory(site=site_a, birth_date=datetime.date(1990, 1, 1))
    services.procedure_create(user=None, **procedure_fields(patient))
    client.force_login(personas["alice"])
    data = {
        "site": site_a.pk,
        "mrn": patient.mrn,
        "birth_date": "2006-01-02",
        "sex": patient.sex,
        "primary_cancer": patient.primary_cancer,
        "status": "active",
        "version": 1,
        "change_reason": "Typo",
    }

    asked = client.post(reverse("patient_edit", args=[patient.pk]), data)
    unchanged = Patient.objects.get(pk=patient.pk).birth_date
    saved = client.post(reverse("patient_edit", args=[patient.pk]), {**data, "confirm_warnings": "1"})

    assert asked.status_code == 200
    assert asked.context["form"].confirmation_warnings == [MINOR]
    assert unchanged == datetime.date(1990, 1, 1)
    assert saved.status_code == 302
    assert Patient.objects.get(pk=patient.pk).birth_date == datetime.date(2006, 1, 2)
    assert update_reason(Patient, patient.pk) == f"Typo (Confirmed: {MINOR})"

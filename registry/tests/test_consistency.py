"""Consistency between a patient's records (registry/consistency.py): a death date before the
patient's visits and events is refused; a procedure that would become the index procedure, and a
PSFS turned sacroplasty that would lose its screws, are saved only once the user confirms (the
API accepts them, as the contract says of soft rules)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.writes import NeedsConfirmation
from outcomes import services as outcome_services
from outcomes.models import VisitNotDone
from registry import services
from registry.models import Patient, Procedure, Screw
from registry.tests.api_support import client_for, procedure_body
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

INDEX_DAY = datetime.date(2023, 3, 1)  # ProcedureFactory's date


def events(model, label):
    return model.pgh_event_models["insert"].objects.filter(pgh_label=label)


def snapshot():
    return (
        list(Patient.objects.order_by("pk").values()),
        list(Procedure.objects.order_by("pk").values()),
        list(Screw.objects.order_by("pk").values()),
    )


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a)


@pytest.fixture
def index_a(patient_a):
    """PSFS on 2023-03-01 with a baseline, 3 follow-ups and a visit not done."""
    procedure = ProcedureFactory(patient=patient_a)
    EncounterFactory(procedure=procedure, kind="baseline")
    for days in (10, 30, 90):
        EncounterFactory(procedure=procedure, date=INDEX_DAY + datetime.timedelta(days=days))
    VisitNotDone.objects.create(procedure=procedure, visit="month1", reason="declined")
    return procedure


# --- 5. Death date before the patient's visits and events ----------------------------------------


def death_errors(patient, death_date):
    with pytest.raises(ValidationError) as caught:
        services.patient_update(user=None, patient=patient, data={"death_date": death_date}, reason="Died")
    return caught.value.message_dict


def test_a_death_date_before_a_follow_up_is_refused_naming_it(index_a):
    before = snapshot()

    errors = death_errors(index_a.patient, datetime.date(2023, 4, 1))

    assert errors == {"death_date": ["Date of death cannot be before a follow-up of this patient (2023-05-30)."]}
    assert snapshot() == before


def test_a_death_date_before_the_procedure_names_the_procedure_and_each_kind_of_visit(index_a):
    errors = death_errors(index_a.patient, datetime.date(2023, 2, 1))

    assert errors == {
        "death_date": [
            "Date of death cannot be before a procedure of this patient (2023-03-01).",
            "Date of death cannot be before a baseline encounter of this patient (2023-02-27).",
            "Date of death cannot be before a follow-up of this patient (2023-05-30).",
        ]
    }


@pytest.mark.parametrize(
    "create, noun",
    [
        (outcome_services.secondary_procedure_create, "a secondary procedure"),
        (outcome_services.complication_create, "a complication"),
    ],
)
def test_a_death_date_before_a_secondary_procedure_or_complication_is_refused(patient_a, create, noun):
    procedure = ProcedureFactory(patient=patient_a)
    create(
        user=None,
        procedure=procedure,
        date=datetime.date(2023, 6, 1),
        kind="radiation" if "secondary" in noun else "infection",
    )

    errors = death_errors(patient_a, datetime.date(2023, 5, 1))

    assert errors == {"death_date": [f"Date of death cannot be before {noun} of this patient (2023-06-01)."]}
    assert Patient.objects.get().death_date is None


def test_a_death_on_the_day_of_the_last_visit_is_accepted(index_a):
    services.patient_update(
        user=None, patient=index_a.patient, data={"death_date": datetime.date(2023, 5, 30)}, reason="Died"
    )

    assert Patient.objects.get().death_date == datetime.date(2023, 5, 30)


def test_the_api_refuses_a_death_date_before_a_follow_up_with_400(personas, index_a):
    before = snapshot()

    response = client_for(personas["alice"]).patch(
        f"/api/patients/{index_a.patient_id}/",
        {"death_date": "2023-04-01", "change_reason": "Died"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "death_date": ["Date of death cannot be before a follow-up of this patient (2023-05-30)."]
    }
    assert snapshot() == before


def test_the_patient_form_refuses_a_death_date_before_a_follow_up(client, personas, index_a):
    patient = index_a.patient
    client.force_login(personas["alice"])
    before = snapshot()

    response = client.post(
        reverse("patient_edit", args=[patient.pk]),
        {
            "site": patient.site_id,
            "mrn": patient.mrn,
            "birth_date": "1960-05-17",
            "sex": "female",
            "primary_cancer": "breast",
            "death_date": "2023-04-01",
            "version": "1",
            "change_reason": "Died",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["death_date"] == [
        "Date of death cannot be before a follow-up of this patient (2023-05-30)."
    ]
    assert snapshot() == before


# --- 6. A procedure that would become the index procedure ------------------------------------------

NEW_INDEX_WARNING = (
    "This procedure (2023-02-01) would become the index procedure instead of PSFS on 2023-03-01; the 3 "
    "follow-ups, 1 baseline and 1 visit not done of that procedure would no longer count in the analysis."
)


def earlier_procedure(patient, **overrides):
    fields = {
        "user": None,
        "patient": patient,
        "date": datetime.date(2023, 2, 1),
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "interventional_radiology",
    }
    return services.procedure_create(**{**fields, **overrides})


def test_an_earlier_procedure_asks_before_it_becomes_the_index_and_saves_nothing(index_a):
    before = snapshot()

    with pytest.raises(NeedsConfirmation) as caught:
        earlier_procedure(index_a.patient)

    assert caught.value.warnings == [NEW_INDEX_WARNING]
    assert snapshot() == before


def test_a_confirmed_earlier_procedure_becomes_the_index_and_the_audit_keeps_the_confirmation(index_a):
    procedure = earlier_procedure(index_a.patient, confirm=True)

    assert list(Procedure.objects.filter(patient=index_a.patient).values_list("pk", flat=True)) == [
        procedure.pk,
        index_a.pk,
    ]
    insert = events(Procedure, "insert").get(pgh_obj_id=procedure.pk)
    assert insert.pgh_context.metadata["reason"] == f"Confirmed: {NEW_INDEX_WARNING}"


def test_the_warning_without_records_on_the_index_names_only_the_change(patient_a):
    ProcedureFactory(patient=patient_a)

    with pytest.raises(NeedsConfirmation) as caught:
        earlier_procedure(patient_a)

    assert caught.value.warnings == [
        "This procedure (2023-02-01) would become the index procedure instead of PSFS on 2023-03-01."
    ]


@pytest.mark.parametrize("day", [datetime.date(2023, 3, 1), datetime.date(2023, 6, 1)])
def test_a_later_procedure_or_one_on_the_index_day_asks_nothing(index_a, day):
    procedure = earlier_procedure(index_a.patient, date=day)

    assert Procedure.objects.filter(patient=index_a.patient).first().pk == index_a.pk != procedure.pk


def test_a_first_procedure_asks_nothing(patient_a):
    earlier_procedure(patient_a)

    assert Procedure.objects.count() == 1


def test_moving_a_later_procedure_before_the_index_asks_first(index_a):
    later = earlier_procedure(index_a.patient, date=datetime.date(2023, 8, 1))
    before = snapshot()

    with pytest.raises(NeedsConfirmation) as caught:
        services.procedure_update(
            user=None, procedure=later, data={"date": datetime.date(2023, 2, 1)}, reason="Date typo"
        )

    assert caught.value.warnings == [NEW_INDEX_WARNING]
    assert snapshot() == before

    services.procedure_update(
        user=None, procedure=later, data={"date": datetime.date(2023, 2, 1)}, reason="Date typo", confirm=True
    )
    update = events(Procedure, "update").get(pgh_obj_id=later.pk)
    assert update.pgh_context.metadata["reason"] == f"Date typo (Confirmed: {NEW_INDEX_WARNING})"


def test_moving_the_index_after_another_procedure_asks_first(patient_a):
    index = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 1, 10))
    EncounterFactory(procedure=index, date=datetime.date(2023, 3, 1))
    earlier_procedure(patient_a, date=datetime.date(2023, 2, 1))
    before = snapshot()

    with pytest.raises(NeedsConfirmation) as caught:
        services.procedure_update(
            user=None, procedure=index, data={"date": datetime.date(2023, 2, 10)}, reason="Date typo"
        )

    assert caught.value.warnings == [
        "This procedure (2023-02-10) would no longer be the index procedure: Sacroplasty on 2023-02-01 would be; "
        "the 1 follow-up of this procedure would no longer count in the analysis."
    ]
    assert snapshot() == before


def test_the_api_creates_an_earlier_procedure_without_asking(personas, index_a):
    response = client_for(personas["alice"]).post(
        "/api/procedures/", procedure_body(index_a.patient_id, date="2023-02-01"), format="json"
    )

    assert response.status_code == 201
    assert Procedure.objects.filter(patient=index_a.patient).first().pk == response.json()["id"]


# --- 7. PSFS turned sacroplasty loses its screws -------------------------------------------------

SCREWS_WARNING = (
    "Changing the treatment to sacroplasty removes this procedure's 2 screws: "
    "S1 Transiliac-transsacral left 7.3 mm; S2 Ilio-sacral right 8.0 mm."
)


@pytest.fixture
def psfs_a(patient_a):
    screws = [
        {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": Decimal("7.3")},
        {"corridor": "S2", "trajectory": "iliosacral", "side": "right", "diameter_mm": Decimal("8.0")},
    ]
    return ProcedureFactory(patient=patient_a, screws=[{**s, "fully_threaded": True} for s in screws])


def test_turning_psfs_into_sacroplasty_lists_the_screws_and_saves_nothing(psfs_a):
    before = snapshot()

    with pytest.raises(NeedsConfirmation) as caught:
        services.procedure_update(
            user=None, procedure=psfs_a, data={"treatment": "sacroplasty"}, screws=[], reason="Wrong treatment"
        )

    assert caught.value.warnings == [SCREWS_WARNING]
    assert snapshot() == before


def test_confirmed_the_screws_go_and_the_audit_keeps_the_confirmation(psfs_a):
    services.procedure_update(
        user=None,
        procedure=psfs_a,
        data={"treatment": "sacroplasty"},
        screws=[],
        reason="Wrong treatment",
        confirm=True,
    )

    assert (Procedure.objects.get().treatment, Screw.objects.count()) == ("sacroplasty", 0)
    update = events(Procedure, "update").get(pgh_obj_id=psfs_a.pk)
    assert update.pgh_context.metadata["reason"] == f"Wrong treatment (Confirmed: {SCREWS_WARNING})"


def test_one_screw_is_named_as_one(patient_a):
    procedure = ProcedureFactory(patient=patient_a)

    with pytest.raises(NeedsConfirmation) as caught:
        services.procedure_update(
            user=None, procedure=procedure, data={"treatment": "sacroplasty"}, screws=[], reason="Wrong treatment"
        )

    assert caught.value.warnings == [
        "Changing the treatment to sacroplasty removes this procedure's screw: S1 Transiliac-transsacral left 7.3 mm."
    ]


def test_the_api_turns_psfs_into_sacroplasty_without_asking(personas, psfs_a):
    response = client_for(personas["alice"]).patch(
        f"/api/procedures/{psfs_a.pk}/",
        {"treatment": "sacroplasty", "screws": [], "change_reason": "Wrong treatment"},
        format="json",
    )

    assert response.status_code == 200
    assert (Procedure.objects.get().treatment, Screw.objects.count()) == ("sacroplasty", 0)


# --- The pages: warn, then save once confirmed -----------------------------------------------------


def form_data(procedure=None, **changes):
    data = {
        "date": "2023-02-01",
        "treatment": "sacroplasty",
        "fracture_status": "pathological",
        "service": "interventional_radiology",
        "ablation": "none",
        "cement_volume_ml": "",
        "approach": "",
        "screws-TOTAL_FORMS": "0",
        "screws-INITIAL_FORMS": "0",
        "screws-MIN_NUM_FORMS": "0",
        "screws-MAX_NUM_FORMS": "1000",
    }
    if procedure is not None:
        data.update({"date": procedure.date.isoformat(), "version": str(procedure.version)})
    return {**data, **changes}


def test_the_new_procedure_page_warns_then_saves_once_confirmed(client, personas, index_a):
    client.force_login(personas["alice"])
    url = reverse("procedure_create", args=[index_a.patient_id])
    before = snapshot()

    response = client.post(url, form_data())

    assert response.status_code == 200
    assert response.context["form"].confirmation_warnings == [NEW_INDEX_WARNING]
    assert 'name="confirm_warnings"' in response.content.decode()
    assert snapshot() == before

    response = client.post(url, form_data(confirm_warnings="1"))

    assert response.status_code == 302
    assert Procedure.objects.filter(patient=index_a.patient).first().date == datetime.date(2023, 2, 1)


def test_the_edit_page_lists_the_screws_then_removes_them_once_confirmed(client, personas, psfs_a):
    client.force_login(personas["alice"])
    url = reverse("procedure_edit", args=[psfs_a.pk])
    data = form_data(psfs_a, change_reason="Wrong treatment")
    before = snapshot()

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["form"].confirmation_warnings == [SCREWS_WARNING]
    assert snapshot() == before

    response = client.post(url, {**data, "confirm_warnings": "1"})

    assert response.status_code == 302
    assert (Procedure.objects.get().treatment, Screw.objects.count()) == ("sacroplasty", 0)

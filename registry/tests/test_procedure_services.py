import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from core.writes import StaleEditError
from registry import services
from registry.models import Procedure, Screw
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

SCREW = {
    "corridor": "S1",
    "trajectory": "iliosacral",
    "side": "right",
    "diameter_mm": Decimal("6.5"),
    "fully_threaded": True,
}


def procedure_fields(patient, **overrides):
    fields = {
        "patient": patient,
        "date": datetime.date(2023, 5, 2),
        "treatment": "psfs",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "screws": [SCREW],
    }
    return {**fields, **overrides}


def assert_refused(call, field, messages):
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.message_dict[field] == messages


def test_it_records_a_psfs_procedure_with_its_screws():
    patient = PatientFactory()

    procedure = services.procedure_create(
        user=None,
        **procedure_fields(
            patient,
            ablation="rfa",
            indications=["destructive_lesion", "mechanical_pain"],
            cement_volume_ml=Decimal("8.5"),
            approach="transiliac",
            screws=[SCREW, {**SCREW, "corridor": "S2", "trajectory": "transsacral", "diameter_mm": Decimal("8.0")}],
        ),
    )

    procedure.refresh_from_db()
    assert procedure.indications == ["destructive_lesion", "mechanical_pain"]
    assert list(procedure.screws.values_list("corridor", "trajectory", "diameter_mm")) == [
        ("S1", "iliosacral", Decimal("6.5")),
        ("S2", "transsacral", Decimal("8.0")),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "messages"),
    [
        ({"screws": []}, "screws", ["A PSFS procedure needs at least one screw."]),
        (
            {"treatment": "sacroplasty"},
            "screws",
            ["Sacroplasty alone has no screws: remove them or choose PSFS."],
        ),
        (
            {"screws": [{**SCREW, "diameter_mm": Decimal("15.0")}]},
            "screws",
            ["Screw 1, diameter_mm: Screw diameter must be more than 0 and at most 12 mm."],
        ),
        (
            {"screws": [{**SCREW, "corridor": "S3"}]},
            "screws",
            ["Screw 1, corridor: Value 'S3' is not a valid choice."],
        ),
        ({"date": datetime.date.today() + datetime.timedelta(days=1)}, "date", ["Date cannot be in the future."]),
        (
            {"date": datetime.date(1950, 1, 1)},
            "date",
            ["Procedure date cannot be before the patient's date of birth."],
        ),
        ({"fracture_status": "traumatic"}, "fracture_status", ["Value 'traumatic' is not a valid choice."]),
        (
            {"indications": ["pain"]},
            "indications",
            ["Item 1 in the array did not validate: Value 'pain' is not a valid choice."],
        ),
        (
            {"cement_volume_ml": Decimal("-1")},
            "cement_volume_ml",
            ["Ensure this value is greater than or equal to 0."],
        ),
    ],
)
def test_it_refuses_a_bad_procedure_and_stores_nothing(overrides, field, messages):
    patient = PatientFactory()

    assert_refused(
        lambda: services.procedure_create(user=None, **procedure_fields(patient, **overrides)), field, messages
    )

    assert Procedure.objects.count() == 0
    assert Screw.objects.count() == 0


def test_it_refuses_a_procedure_after_death():
    patient = PatientFactory(death_date=datetime.date(2023, 1, 1))

    assert_refused(
        lambda: services.procedure_create(user=None, **procedure_fields(patient)),
        "date",
        ["Procedure date cannot be after the patient's date of death."],
    )


def test_it_replaces_the_screws_on_update():
    procedure = ProcedureFactory()

    services.procedure_update(
        user=None,
        procedure=procedure,
        data={"ablation": "cryo"},
        screws=[SCREW, {**SCREW, "side": "left"}],
        expected_version=1,
        reason="Corrected",
    )

    procedure.refresh_from_db()
    assert procedure.ablation == "cryo"
    assert procedure.version == 2
    assert sorted(procedure.screws.values_list("side", flat=True)) == ["left", "right"]


def test_switching_to_sacroplasty_needs_the_screws_removed():
    procedure = ProcedureFactory()

    assert_refused(
        lambda: services.procedure_update(
            user=None, procedure=procedure, data={"treatment": "sacroplasty"}, reason="Corrected"
        ),
        "screws",
        ["Sacroplasty alone has no screws: remove them or choose PSFS."],
    )
    # Removing the screws is confirmed (test_consistency: unconfirmed, it lists them and saves nothing).
    services.procedure_update(
        user=None, procedure=procedure, data={"treatment": "sacroplasty"}, screws=[], reason="Corrected", confirm=True
    )

    procedure.refresh_from_db()
    assert procedure.treatment == "sacroplasty"
    assert procedure.screws.count() == 0


def test_a_stale_procedure_edit_is_refused_and_changes_nothing():
    procedure = ProcedureFactory()
    services.procedure_update(
        user=None, procedure=procedure, data={"ablation": "rfa"}, expected_version=1, reason="Corrected"
    )

    with pytest.raises(StaleEditError):
        services.procedure_update(
            user=None, procedure=procedure, data={"ablation": "cryo"}, screws=[], expected_version=1, reason="Corrected"
        )

    procedure.refresh_from_db()
    assert procedure.ablation == "rfa"
    assert procedure.screws.count() == 1


def test_the_same_screws_again_leave_no_trace_in_the_audit_trail():
    procedure = ProcedureFactory()
    screw_events = Screw.pgh_event_models["insert"].objects
    before = screw_events.count()
    same = [
        {
            "corridor": "S1",
            "trajectory": "transsacral",
            "side": "left",
            "diameter_mm": Decimal("7.3"),
            "fully_threaded": True,
        }
    ]

    services.procedure_update(user=None, procedure=procedure, data={"ablation": "rfa"}, screws=same, reason="Corrected")

    assert screw_events.count() == before
    assert procedure.screws.count() == 1

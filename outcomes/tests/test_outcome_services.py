import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from outcomes import services
from outcomes.models import Complication, Encounter, SecondaryProcedure
from registry import services as registry_services
from registry.tests.factories import EncounterFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PROCEDURE_DAY = datetime.date(2023, 3, 1)
SCORES = {
    "msts_pain": 1,
    "msts_function": 2,
    "msts_emotional_acceptance": 3,
    "msts_supports": 4,
    "msts_walking": 5,
    "msts_gait": 0,
}


def assert_refused(call, field, messages):
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.message_dict[field] == messages


@pytest.fixture
def procedure():
    return ProcedureFactory(date=PROCEDURE_DAY)


def test_it_records_an_encounter_and_the_database_totals_it(procedure):
    encounter = services.encounter_record(
        user=None,
        procedure=procedure,
        date=PROCEDURE_DAY + datetime.timedelta(days=14),
        kind="followup",
        narcotic_change="decreased",
        opioid_mme_per_day=Decimal("22.5"),
        **SCORES,
    )

    assert encounter.msts_total == 15
    assert encounter.msts_percent == 50.0
    assert Encounter.objects.get(pk=encounter.pk).msts_total == 15


def test_a_total_needs_all_six_domains(procedure):
    encounter = services.encounter_record(
        user=None, procedure=procedure, date=PROCEDURE_DAY, kind="baseline", **{**SCORES, "msts_gait": None}
    )

    assert encounter.msts_total is None
    assert encounter.msts_percent is None


@pytest.mark.parametrize(
    ("overrides", "field", "messages"),
    [
        (
            {"kind": "baseline", "date": PROCEDURE_DAY + datetime.timedelta(days=1)},
            "date",
            ["A baseline encounter must be on or before the procedure date."],
        ),
        ({"date": PROCEDURE_DAY}, "date", ["A follow-up encounter must be after the procedure date."]),
        ({"msts_pain": 6}, "msts_pain", ["Ensure this value is less than or equal to 5."]),
        ({"msts_gait": -1}, "msts_gait", ["Ensure this value is greater than or equal to 0."]),
        (
            {"kind": "baseline", "date": PROCEDURE_DAY, "narcotic_change": "stable"},
            "narcotic_change",
            ["Narcotic change is recorded at follow-ups only."],
        ),
        ({"narcotic_change": "gone"}, "narcotic_change", ["Value 'gone' is not a valid choice."]),
        (
            {"opioid_mme_per_day": Decimal("-5")},
            "opioid_mme_per_day",
            ["Ensure this value is greater than or equal to 0."],
        ),
        ({"kind": "visit"}, "kind", ["Value 'visit' is not a valid choice."]),
        ({"date": datetime.date.today() + datetime.timedelta(days=1)}, "date", ["Date cannot be in the future."]),
    ],
)
def test_it_refuses_a_bad_encounter_and_stores_nothing(procedure, overrides, field, messages):
    fields = {"date": PROCEDURE_DAY + datetime.timedelta(days=30), "kind": "followup", **SCORES, **overrides}

    assert_refused(lambda: services.encounter_record(user=None, procedure=procedure, **fields), field, messages)

    assert Encounter.objects.count() == 0


def test_a_procedure_has_one_baseline(procedure):
    EncounterFactory(procedure=procedure, kind="baseline")

    assert_refused(
        lambda: services.encounter_record(user=None, procedure=procedure, date=PROCEDURE_DAY, kind="baseline"),
        "kind",
        ["This procedure already has a baseline encounter."],
    )
    assert Encounter.objects.count() == 1


def test_no_visit_after_death(procedure):
    registry_services.patient_update(
        user=None, patient=procedure.patient, data={"death_date": datetime.date(2023, 4, 1)}, reason="Corrected"
    )
    procedure.refresh_from_db()

    assert_refused(
        lambda: services.encounter_record(
            user=None, procedure=procedure, date=datetime.date(2023, 5, 1), kind="followup"
        ),
        "date",
        ["The date cannot be after the patient's date of death (2023-04-01)."],
    )


def test_an_encounter_update_keeps_the_rules_and_the_total(procedure):
    encounter = EncounterFactory(procedure=procedure)

    updated = services.encounter_update(
        user=None, encounter=encounter, data={"msts_pain": 5}, expected_version=1, reason="typo"
    )
    assert (updated.msts_total, updated.version) == (20, 2)
    assert_refused(
        lambda: services.encounter_update(user=None, encounter=encounter, data={"msts_walking": 9}, reason="Corrected"),
        "msts_walking",
        ["Ensure this value is less than or equal to 5."],
    )
    assert Encounter.objects.get(pk=encounter.pk).msts_walking == 3


def test_moving_a_procedure_past_its_follow_up_is_refused(procedure):
    EncounterFactory(procedure=procedure, date=PROCEDURE_DAY + datetime.timedelta(days=10))

    assert_refused(
        lambda: registry_services.procedure_update(
            user=None,
            procedure=procedure,
            data={"date": PROCEDURE_DAY + datetime.timedelta(days=20)},
            reason="Corrected",
        ),
        "date",
        ["A follow-up encounter of this procedure would fall on or before it."],
    )
    procedure.refresh_from_db()
    assert procedure.date == PROCEDURE_DAY


@pytest.mark.parametrize(
    ("create", "model", "extra"),
    [
        (services.secondary_procedure_create, SecondaryProcedure, {"kind": "si_joint_injection"}),
        (services.complication_create, Complication, {"kind": "screw_backout"}),
    ],
)
def test_events_follow_the_index_procedure(procedure, create, model, extra):
    assert_refused(
        lambda: create(user=None, procedure=procedure, date=PROCEDURE_DAY, **extra),
        "date",
        ["The date must be after the procedure date."],
    )
    assert_refused(
        lambda: create(user=None, procedure=procedure, date=PROCEDURE_DAY + datetime.timedelta(days=5), kind="x"),
        "kind",
        ["Value 'x' is not a valid choice."],
    )
    event = create(user=None, procedure=procedure, date=PROCEDURE_DAY + datetime.timedelta(days=90), **extra)

    assert list(model.objects.values_list("pk", flat=True)) == [event.pk]


def test_events_update_and_delete(procedure):
    event = services.complication_create(
        user=None, procedure=procedure, date=PROCEDURE_DAY + datetime.timedelta(days=150), kind="screw_backout"
    )

    services.complication_update(
        user=None, complication=event, data={"resolved": True}, expected_version=1, reason="Corrected"
    )
    assert Complication.objects.get(pk=event.pk).resolved is True
    services.complication_delete(user=None, complication=event, reason="entered twice")
    assert Complication.objects.count() == 0

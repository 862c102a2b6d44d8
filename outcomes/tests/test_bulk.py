"""outcomes.bulk: a batch of new encounters, secondary procedures, complications or visits not done
gets the single-row services' outcome, row by row (the same refusals with the same messages, the
same confirmed warnings in the audit reason), compared with the procedure's saved visits and the
batch's earlier ones; a signed-off procedure refuses them; a row the database refuses is named."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.writes import save_all
from outcomes import bulk, services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import services as registry_services
from registry.models import Procedure
from registry.tests.test_bulk import REASON, last_event_id, new_events, one_at_a_time, patient_fields

pytestmark = pytest.mark.django_db

DAY0 = datetime.date(2023, 1, 10)


def day(offset: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=offset)


@pytest.fixture
def procedure(site_a):
    patient = registry_services.patient_create(
        user=None, **patient_fields(site_a, "E1", death_date=day(200), status="active")
    )
    fields = {"fracture_status": "impending", "service": "orthopaedics"}
    return registry_services.procedure_create(user=None, patient=patient, date=DAY0, treatment="sacroplasty", **fields)


def compare_with_single_rows(model, rows, single_call, bulk_call, build):
    single, single_contexts = one_at_a_time(model, [lambda r=r: single_call(r) for r in rows])
    since = last_event_id(model)
    refused = bulk_call([build(r) for r in rows])
    assert {index: exc.message_dict for index, exc in refused.items()} == {
        index: outcome for index, outcome in enumerate(single) if outcome is not None
    }
    contexts = new_events(model, since)
    assert [context["reason"] for context in contexts] == [
        f"{REASON} ({context['reason']})" if "reason" in context else REASON for context in single_contexts
    ]
    return single, contexts


def test_a_batch_of_encounters_is_refused_and_confirmed_row_by_row_as_one_at_a_time(procedure):
    services.encounter_record(user=None, procedure=procedure, date=day(30), kind="followup", msts_pain=3)
    services.visit_not_done_create(user=None, procedure=procedure, visit="month3", reason="declined")
    rows = [
        {"date": day(-2), "kind": "baseline", "msts_pain": 2},
        {"date": day(-1), "kind": "baseline", "msts_pain": 2},  # a second baseline
        {"date": day(30), "kind": "followup", "msts_gait": 1},  # the saved follow-up's day
        {"date": day(35), "kind": "followup", "msts_gait": 1},  # its window: confirmed
        {"date": day(90), "kind": "followup", "msts_gait": 1},  # a window recorded as not done
        {"date": day(14), "kind": "followup"},  # records nothing
        {"date": day(14), "kind": "followup", "opioid_mme_per_day": Decimal(1200)},  # confirmed
        {"date": day(14), "kind": "followup", "msts_walking": 4},  # the batch's follow-up's day
        {"date": day(201), "kind": "followup", "msts_walking": 4},  # after the death
    ]
    single, contexts = compare_with_single_rows(
        Encounter,
        rows,
        lambda r: services.encounter_record(user=None, procedure=procedure, confirm=True, **r),
        lambda records: bulk.encounters_create_bulk(user=None, encounters=records, reason=REASON, confirm=True),
        lambda r: services.encounter_build(procedure=procedure, **r),
    )
    assert [outcome is None for outcome in single] == [True, False, False, True, False, False, True, False, False]
    assert "Another follow-up of this procedure (2023-02-09)" in contexts[1]["reason"]
    assert "Opioid dose" in contexts[2]["reason"]


def test_a_batch_of_visits_not_done_and_events_is_refused_row_by_row_as_one_at_a_time(procedure):
    services.encounter_record(user=None, procedure=procedure, date=day(14), kind="followup", msts_pain=3)
    compare_with_single_rows(
        VisitNotDone,
        [
            {"visit": "week2", "reason": "declined"},  # a follow-up in its window
            {"visit": "month1", "reason": "other"},  # no note
            {"visit": "month1", "reason": "too_ill"},
            {"visit": "month1", "reason": "declined"},  # the batch's
        ],
        lambda r: services.visit_not_done_create(user=None, procedure=procedure, **r),
        lambda records: bulk.visits_not_done_create_bulk(user=None, visits_not_done=records, reason=REASON),
        lambda r: services.visit_not_done_build(procedure=procedure, **r),
    )
    compare_with_single_rows(
        Complication,
        [
            {"date": day(5), "kind": "infection"},
            {"date": day(0), "kind": "infection"},  # not after the procedure
            {"date": day(6), "kind": "other"},  # not described
            {"date": day(300), "kind": "infection"},  # after the death
        ],
        lambda r: services.complication_create(user=None, procedure=procedure, **r),
        lambda records: bulk.complications_create_bulk(user=None, complications=records, reason=REASON),
        lambda r: Complication(procedure=procedure, **r),
    )
    compare_with_single_rows(
        SecondaryProcedure,
        [{"date": day(40), "kind": "radiation"}, {"date": day(-3), "kind": "radiation"}],
        lambda r: services.secondary_procedure_create(user=None, procedure=procedure, **r),
        lambda records: bulk.secondary_procedures_create_bulk(user=None, secondary_procedures=records, reason=REASON),
        lambda r: SecondaryProcedure(procedure=procedure, **r),
    )
    assert new_events(SecondaryProcedure, 0)[-1] == {"action": "secondary_procedure_create", "reason": REASON}


def test_a_signed_off_procedure_refuses_a_batch_s_records(procedure):
    Procedure.objects.filter(pk=procedure.pk).update(signed_off_at=timezone.now())
    procedure.refresh_from_db()
    with pytest.raises(ValidationError) as single:
        services.complication_create(user=None, procedure=procedure, date=day(5), kind="infection")

    refused = bulk.complications_create_bulk(
        user=None, complications=[Complication(procedure=procedure, date=day(5), kind="infection")], reason=REASON
    )

    assert refused[0].message_dict == single.value.message_dict
    assert not Complication.objects.exists()


def test_a_row_the_database_refuses_is_named_and_the_others_are_written(procedure):
    records = [Encounter(procedure=procedure, date=day(-n), kind="baseline") for n in range(3)]

    with transaction.atomic():
        refused = save_all(records)

    assert sorted(refused) == [1, 2]
    assert "encounter_one_baseline_per_procedure" in refused[1].messages[0]
    assert list(Encounter.objects.values_list("pk", flat=True)) == [records[0].pk]


def test_a_record_of_a_procedure_deleted_meanwhile_gets_the_field_s_own_message(procedure):
    Complication.objects.all().delete()
    Procedure.objects.filter(pk=procedure.pk).delete()
    with pytest.raises(ValidationError) as single:
        services.complication_create(user=None, procedure=procedure, date=day(5), kind="infection")

    refused = bulk.complications_create_bulk(
        user=None, complications=[Complication(procedure=procedure, date=day(5), kind="infection")], reason=REASON
    )

    assert refused[0].message_dict == single.value.message_dict
    assert list(single.value.message_dict) == ["procedure"]

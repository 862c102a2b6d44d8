"""registry.bulk: a batch of new patients or procedures gets the single-row services' outcome, row by
row (the same refusals with the same messages, the same confirmed warnings in the audit reason), in
a few queries, audited under one context, with one news of the change."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from registry import bulk, services
from registry.models import Patient, Procedure, Screw

pytestmark = pytest.mark.django_db

REASON = "import registry.xlsx"
SCREW = {"corridor": "S1", "trajectory": "iliosacral", "side": "right", "diameter_mm": Decimal("6.5")}


def patient_fields(site, mrn, **overrides):
    fields = {"site": site, "mrn": mrn, "birth_date": datetime.date(1960, 3, 4), "sex": "female"}
    return {**fields, "primary_cancer": "breast", **overrides}


def procedure_fields(patient, day, treatment="psfs", **overrides):
    fields = {"patient": patient, "date": day, "treatment": treatment, "fracture_status": "impending"}
    return {**fields, "service": "orthopaedics", **overrides}


def new_events(model, since: int) -> list[dict]:
    events = model.pgh_event_models["insert"].objects.filter(pgh_id__gt=since).order_by("pgh_id")
    return [event.pgh_context.metadata for event in events]


def last_event_id(model) -> int:
    last = model.pgh_event_models["insert"].objects.order_by("-pgh_id").first()
    return last.pgh_id if last else 0


def one_at_a_time(model, calls) -> tuple[list, list[dict]]:
    """What the single-row services answer to ``calls`` in turn (None, or the refusal's message_dict)
    and the audit contexts of what they wrote; then everything is rolled back."""
    since, outcomes = last_event_id(model), []
    with transaction.atomic():
        for call in calls:
            try:
                with transaction.atomic():
                    call()
                outcomes.append(None)
            except ValidationError as exc:
                outcomes.append(exc.message_dict)
        contexts = new_events(model, since)
        transaction.set_rollback(True)
    return outcomes, contexts


def test_a_batch_of_patients_is_refused_and_saved_row_by_row_as_one_at_a_time(site_a, site_b):
    services.patient_create(user=None, **patient_fields(site_a, "M1"))
    rows = [
        patient_fields(site_a, "m1"),  # the registry's M1, in another case
        patient_fields(site_a, "M2"),
        patient_fields(site_a, " m2 "),  # the batch's M2
        patient_fields(site_b, "M2"),  # another site: a new patient
        patient_fields(site_a, "M3", status="withdrawn"),  # no status date
        patient_fields(site_a, "M4", death_date=datetime.date(1950, 1, 1), status_date=datetime.date(2020, 1, 1)),
    ]
    single, _ = one_at_a_time(Patient, [lambda r=r: services.patient_create(user=None, **r) for r in rows])
    assert [outcome is None for outcome in single] == [False, True, False, True, False, False]
    since = last_event_id(Patient)

    patients = [services.patient_build(**row) for row in rows]
    refused = bulk.patients_create_bulk(user=None, patients=patients, reason=REASON)

    assert {index: exc.message_dict for index, exc in refused.items()} == {
        index: outcome for index, outcome in enumerate(single) if outcome is not None
    }
    saved = Patient.objects.filter(pk__in=[p.pk for p in patients if p.pk]).order_by("pk")
    assert [(p.site.code, p.mrn) for p in saved] == [("SITEA", "M2"), ("SITEB", "M2")]
    numbers = [int(re.fullmatch(r"SAC-(\d{5,})", p.study_id).group(1)) for p in saved]
    assert numbers[1] == numbers[0] + 1
    assert new_events(Patient, since) == [{"action": "patient_create", "reason": REASON}] * 2


def test_a_batch_of_patients_costs_a_few_queries_and_one_news_after_the_commit(
    site_a, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    patients = [services.patient_build(**patient_fields(site_a, f"B{n}")) for n in range(300)]
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(12):
        refused = bulk.patients_create_bulk(user=None, patients=patients, reason=REASON)

    assert refused == {}
    assert Patient.objects.count() == 300
    assert len(callbacks) == 1


def test_a_batch_of_procedures_confirms_index_changes_as_one_at_a_time_and_keeps_its_screws(site_a):
    patient = services.patient_create(user=None, **patient_fields(site_a, "P1"))
    services.procedure_create(user=None, screws=[SCREW], **procedure_fields(patient, datetime.date(2023, 5, 1)))
    rows = [
        (procedure_fields(patient, datetime.date(2023, 3, 1)), [SCREW, {**SCREW, "side": "left"}]),
        (procedure_fields(patient, datetime.date(2023, 2, 1), "sacroplasty"), []),  # before the batch's first
        (procedure_fields(patient, datetime.date(2023, 7, 1)), []),  # PSFS without screws
        (procedure_fields(patient, datetime.date(2023, 8, 1), "sacroplasty", cement_volume_ml=Decimal(45)), []),
        (procedure_fields(patient, datetime.date(2023, 9, 1)), [{**SCREW, "diameter_mm": Decimal(13)}]),
    ]
    single, single_contexts = one_at_a_time(
        Procedure,
        [lambda r=r: services.procedure_create(user=None, screws=r[1], confirm=True, **r[0]) for r in rows],
    )
    assert [outcome is None for outcome in single] == [True, True, False, True, False]
    since = last_event_id(Procedure)

    procedures = [(services.procedure_build(**fields), screws) for fields, screws in rows]
    refused = bulk.procedures_create_bulk(user=None, procedures=procedures, reason=REASON, confirm=True)

    assert {index: exc.message_dict for index, exc in refused.items()} == {
        index: outcome for index, outcome in enumerate(single) if outcome is not None
    }
    contexts = new_events(Procedure, since)
    assert [context["reason"] for context in contexts] == [
        f"{REASON} ({context['reason']})" if "reason" in context else REASON for context in single_contexts
    ]
    assert "would become the index procedure instead of PSFS on 2023-05-01" in contexts[0]["reason"]
    assert "would become the index procedure instead of PSFS on 2023-03-01" in contexts[1]["reason"]
    assert "Cement volume" in contexts[2]["reason"]
    first = procedures[0][0]
    assert list(Screw.objects.filter(procedure=first).values_list("side", flat=True)) == ["right", "left"]
    assert Procedure.objects.filter(patient=patient).count() == 4

"""Every change of clinical data leaves an audit event, whatever the path, and the events cannot be changed."""

import pytest
from django.db import DatabaseError, connection, transaction

from outcomes.models import Encounter
from registry import services
from registry.models import Patient
from registry.tests.factories import EncounterFactory, PatientFactory

pytestmark = pytest.mark.django_db


def events(model, label=None):
    rows = model.pgh_event_models["insert"].objects.all()  # one event model holds every label
    return rows.filter(pgh_label=label) if label else rows


def test_a_service_write_records_who_and_why(personas, site_a):
    patient = PatientFactory(site=site_a)

    services.patient_update(
        user=personas["alice"], patient=patient, data={"sex": "male"}, expected_version=1, reason="data entry error"
    )

    update = events(Patient, "update").get()
    assert (update.pgh_obj_id, update.sex) == (patient.pk, "male")
    assert update.pgh_context.metadata == {
        "action": "patient_update",
        "user": personas["alice"].pk,
        "username": "alice",
        "reason": "data entry error",
    }
    assert events(Patient, "insert").get().sex == "female"


def test_a_bulk_update_leaves_one_event_per_row():
    for _ in range(3):
        EncounterFactory()

    changed = Encounter.objects.update(msts_pain=5)

    assert changed == 3
    assert events(Encounter, "update").count() == 3


def test_raw_sql_and_deletes_are_audited():
    encounter = EncounterFactory()

    with connection.cursor() as cursor:
        cursor.execute("UPDATE outcomes_encounter SET msts_gait = 1 WHERE id = %s", [encounter.pk])
    Encounter.objects.filter(pk=encounter.pk).delete()

    assert list(events(Encounter).order_by("pgh_id").values_list("pgh_label", "msts_gait")) == [
        ("insert", 3),
        ("update", 1),
        ("delete", 1),
    ]


def test_audit_events_cannot_be_changed_or_deleted():
    PatientFactory()
    event = events(Patient).get()

    with pytest.raises(DatabaseError), transaction.atomic():
        type(event).objects.filter(pk=event.pk).update(sex="male")
    with pytest.raises(DatabaseError), transaction.atomic():
        type(event).objects.filter(pk=event.pk).delete()

    assert events(Patient).get().sex == "female"

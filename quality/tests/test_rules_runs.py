"""When the rules run: scheduled after each committed clinical change (never on a rollback),
coalesced, incrementally for the changed patients only; in full nightly and from the command."""

import io
from decimal import Decimal
from unittest import mock

import psycopg
import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from outcomes import services as outcome_services
from quality import runs
from quality.models import DataQuery, RuleCheckState
from quality.tests.queries_support import closed
from quality.tests.rules_support import followed_patient, fresh, rule_queries
from registry.tests.factories import PatientFactory

ENQUEUE = "quality.tasks.check_rules_incrementally.apply_async"


def _set_mme(encounter, mme: str):
    return outcome_services.encounter_update(
        user=None,
        encounter=fresh(encounter),
        data={"opioid_mme_per_day": Decimal(mme)},
        reason="Dose from the pharmacy record.",
        confirm=True,
    )


@pytest.mark.django_db
def test_a_committed_change_schedules_one_incremental_run(site_a, django_capture_on_commit_callbacks):
    with mock.patch(ENQUEUE) as enqueue:
        with django_capture_on_commit_callbacks(execute=True):
            PatientFactory(site=site_a)
        with django_capture_on_commit_callbacks(execute=True):
            PatientFactory(site=site_a)  # a second write while the first run is pending: coalesced

    assert enqueue.call_count == 1
    assert enqueue.call_args.kwargs["retry"] is False
    assert 0 < enqueue.call_args.kwargs["countdown"] <= runs.CHECK_COUNTDOWN_SECONDS
    state = RuleCheckState.objects.get()
    assert state.requested_at < state.scheduled_for  # the second write only moved requested_at


@pytest.mark.django_db
def test_a_rolled_back_change_schedules_nothing(site_a, django_capture_on_commit_callbacks):
    with (
        mock.patch(ENQUEUE) as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        PatientFactory(site=site_a)
        raise RuntimeError("the request failed after the write")

    assert callbacks == []
    enqueue.assert_not_called()
    assert not RuleCheckState.objects.exists()


@pytest.mark.django_db
def test_a_broker_failure_does_not_fail_the_write(site_a, django_capture_on_commit_callbacks):
    with (
        mock.patch(ENQUEUE, side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        patient = PatientFactory(site=site_a)

    assert patient.pk is not None
    assert RuleCheckState.objects.get().scheduled_for is None  # the next write tries again


@pytest.mark.django_db(transaction=True)
def test_an_incremental_run_checks_only_the_patients_changed_since_the_last_run(site_a, django_assert_max_num_queries):
    unchanged, _, one = followed_patient(site_a)
    changed, _, two = followed_patient(site_a)
    _set_mme(one[10], "1400")
    _set_mme(two[10], "1400")
    with mock.patch(ENQUEUE):
        first = runs.rules_check_changed()  # the first run checks everyone
    assert first.patients is None and first.opened == 2
    # A data manager closes the unchanged patient's query as fixed although its rule still holds:
    # a full run would open it again; a run for the changed patients only does not look at it.
    closed(DataQuery.objects.get(patient=unchanged), resolution="fixed")
    _set_mme(two[10], "100")

    with django_assert_max_num_queries(20):
        result = runs.rules_check_changed()

    assert (result.patients, result.opened, result.closed) == (1, 0, 1)
    assert [(q[2], q[4], q[5]) for q in rule_queries()] == [
        (one[10].pk, "closed", "fixed"),
        (two[10].pk, "closed", "fixed"),
    ]
    assert runs.rules_check_changed().patients == 0  # nothing changed since
    assert runs.rules_check_all().opened == 1  # the full run asks the unchanged patient again


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_run_that_could_not_see_it_is_checked_by_the_next(site_a):
    _, _, followups = followed_patient(site_a)
    runs.rules_check_all()
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"] or None, port=db["PORT"]
    )
    try:
        # Another session's change, written (its audit event dated at its transaction's start) but
        # not committed while a run reads the registry.
        other.execute("UPDATE outcomes_encounter SET opioid_mme_per_day = 1400 WHERE id = %s", [followups[10].pk])
        assert runs.rules_check_changed().opened == 0
        other.commit()
    finally:
        other.close()

    result = runs.rules_check_changed()

    assert (result.patients, result.opened) == (1, 1)
    assert [q[:3] for q in rule_queries()] == [("mme_unusual", "encounter", followups[10].pk)]


@pytest.mark.django_db(transaction=True)
def test_an_incremental_run_sees_deleted_records(site_a):
    _, _, followups = followed_patient(site_a)
    _set_mme(followups[10], "1400")
    runs.rules_check_all()

    outcome_services.encounter_delete(user=None, encounter=followups[10], reason="Entered in error.")
    result = runs.rules_check_changed()

    assert (result.patients, result.closed) == (1, 1)


@pytest.mark.django_db
def test_the_changed_patients_are_read_from_the_audit_tables(site_a):
    state_marks = []
    since = runs._checkpoint()
    patient, procedure, followups = followed_patient(site_a)
    other, _, _ = followed_patient(site_a)

    # Every event of both patients was created in this test's transaction, at or after its start.
    assert runs.changed_patients(since, runs._floors(state_marks, since)) == sorted([patient.pk, other.pk])
    # Floors above every event id: nothing is read.
    marks = [runs._marks_now()]
    marks[0]["at"] = since.isoformat()
    assert runs.changed_patients(since, runs._floors(marks, since)) == []


@pytest.mark.django_db
def test_the_task_marks_the_pending_run_started_and_runs_it(site_a):
    from quality.tasks import check_rules_incrementally

    _, _, followups = followed_patient(site_a)
    _set_mme(followups[10], "1400")
    RuleCheckState.objects.create(pk=RuleCheckState.SINGLETON, scheduled_for="2024-06-01T00:00:00Z")

    check_rules_incrementally.apply()

    state = RuleCheckState.objects.get()
    assert state.scheduled_for is None and state.started_at is not None and state.checked_from is not None
    assert [q[0] for q in rule_queries()] == ["mme_unusual"]


@pytest.mark.django_db
def test_the_command_checks_everyone_and_prints_the_counts(site_a):
    _, _, followups = followed_patient(site_a)
    _set_mme(followups[10], "1400")
    out = io.StringIO()

    call_command("check_data_quality", stdout=out)

    assert "1 queries opened, 0 closed, 0 restated." in out.getvalue()
    assert RuleCheckState.objects.get().last_full_run_at is not None


def test_beat_runs_the_rules_nightly_at_half_past_two_local_time_and_catches_up_every_minute():
    schedule = settings.CELERY_BEAT_SCHEDULE
    nightly = schedule["check-data-quality-nightly"]
    assert nightly["task"] == "quality.tasks.check_rules_in_full"
    assert nightly["schedule"] == crontab(hour=2, minute=30)
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
    assert schedule["check-data-quality-changes"] == {
        "task": "quality.tasks.check_rules_incrementally",
        "schedule": 60.0,
    }

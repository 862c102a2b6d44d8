import datetime
import logging
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from kombu.exceptions import OperationalError

from analysis import services
from analysis.models import RefreshState, Snapshot
from analysis.selectors import refresh_state, snapshot_latest
from analysis.tasks import refresh_cohort_stats
from outcomes import services as outcome_services
from registry import services as registry_services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueue():
    """The outside broker: records the enqueues instead of sending them."""
    with mock.patch.object(refresh_cohort_stats, "apply_async") as apply_async:
        yield apply_async


@pytest.fixture
def two_site_cohort(site_a, site_b):
    for site, treatment in ((site_a, "psfs"), (site_a, "sacroplasty"), (site_b, "sacroplasty")):
        procedure = ProcedureFactory(patient=PatientFactory(site=site), treatment=treatment)
        EncounterFactory(procedure=procedure, kind="baseline")
        EncounterFactory(procedure=procedure, kind="followup")
    PatientFactory(site=site_b)  # without a procedure


def test_it_stores_a_snapshot_of_the_registry_and_of_each_site(two_site_cohort, site_a, site_b):
    result = services.stats_refresh()

    assert Snapshot.objects.count() == 3
    registry = snapshot_latest(site_id=None)
    assert registry.document["n_patients"] == 4
    assert registry.document["strata"]["pathological"]["groups"]["sacroplasty"]["n"] == 2
    assert registry.source_counts == {
        "patients": 4,
        "index_procedures": 3,
        "baselines": 3,
        "final_followups": 3,
        "secondary_procedures": 0,
        "complications": 0,
    }
    assert registry.fingerprint == result.fingerprint
    assert len(registry.fingerprint) == 64
    assert registry.document["computed_at"] == registry.computed_at.isoformat()
    assert snapshot_latest(site_id=site_a.pk).document["n_patients"] == 2
    assert snapshot_latest(site_id=site_a.pk).document["strata"]["pathological"]["groups"]["psfs"]["n"] == 1
    assert snapshot_latest(site_id=site_b.pk).document["n_patients"] == 2
    assert snapshot_latest(site_id=site_b.pk).document["demographics"]["psfs"]["n"] == 0
    assert (result.n_patients, result.n_sites) == (4, 2)
    assert refresh_state()["status"] == "fresh"


def test_a_second_refresh_replaces_the_snapshots(two_site_cohort, site_a):
    services.stats_refresh()
    first = snapshot_latest(site_id=None)
    PatientFactory(site=site_a)

    services.stats_refresh()

    assert Snapshot.objects.count() == 3
    latest = snapshot_latest(site_id=None)
    assert latest.computed_at > first.computed_at
    assert latest.document["n_patients"] == 5
    assert latest.fingerprint != first.fingerprint


def test_a_failed_refresh_keeps_the_last_good_snapshot_and_records_the_failure(two_site_cohort, caplog):
    services.stats_refresh()
    good = snapshot_latest(site_id=None)
    PatientFactory(mrn="MRN-SECRET-1")

    failing = mock.patch("analysis.stats.cohort_document", side_effect=ValueError("MRN-SECRET-1 broke it"))
    with failing, pytest.raises(ValueError):
        services.stats_refresh()

    assert snapshot_latest(site_id=None).document == good.document
    assert snapshot_latest(site_id=None).computed_at == good.computed_at
    state = refresh_state()
    assert state["status"] == "failed"
    assert state["last_error"] == "builtins.ValueError"
    assert "MRN-SECRET-1" not in caplog.text
    assert "Statistics refresh failed (builtins.ValueError); the last snapshots are kept." in caplog.text


def test_the_state_says_refreshing_then_stale():
    RefreshState.objects.create(pk=RefreshState.SINGLETON, started_at=timezone.now())
    assert refresh_state()["status"] == "refreshing"

    services.stats_refresh()
    assert refresh_state()["status"] == "fresh"

    RefreshState.objects.update(requested_at=timezone.now())
    assert refresh_state()["status"] == "stale"


def test_a_refresh_that_never_ended_stops_counting_as_running():
    services.stats_refresh()
    RefreshState.objects.update(started_at=timezone.now() - datetime.timedelta(minutes=11))
    RefreshState.objects.update(succeeded_at=timezone.now() - datetime.timedelta(minutes=12))

    assert refresh_state()["status"] == "fresh"

    RefreshState.objects.update(requested_at=timezone.now())
    assert refresh_state()["status"] == "stale"


def test_the_state_says_never_before_the_first_snapshot():
    assert refresh_state()["status"] == "never"
    assert refresh_state()["computed_at"] is None


def test_many_writes_in_a_minute_enqueue_one_refresh(enqueue, django_capture_on_commit_callbacks):
    encounter = EncounterFactory()

    for pain in [0, 1, 2, 3, 4, 5] * 50:
        with django_capture_on_commit_callbacks(execute=True):
            outcome_services.encounter_update(
                user=None, encounter=encounter, data={"msts_pain": pain}, reason="Score corrected"
            )

    enqueue.assert_called_once_with(countdown=services.REFRESH_COUNTDOWN_SECONDS, retry=False)
    state = RefreshState.objects.get()
    assert state.scheduled_for is not None
    assert state.requested_at > state.scheduled_for - datetime.timedelta(seconds=services.REFRESH_COUNTDOWN_SECONDS)


def test_writes_during_or_after_a_refresh_enqueue_the_next_one(enqueue, django_capture_on_commit_callbacks):
    encounter = EncounterFactory()

    def write(pain):
        with django_capture_on_commit_callbacks(execute=True):
            outcome_services.encounter_update(
                user=None, encounter=encounter, data={"msts_pain": pain}, reason="Score corrected"
            )

    for pain in range(6):
        write(pain)
    refresh_cohort_stats()  # the pending task runs (the mock broker never delivers it)
    for pain in range(6):
        write(pain)

    assert enqueue.call_count == 2


def test_a_pending_refresh_that_was_lost_is_enqueued_again(enqueue, django_capture_on_commit_callbacks):
    services.stats_refresh_schedule()
    RefreshState.objects.update(scheduled_for=timezone.now() - datetime.timedelta(minutes=11))

    services.stats_refresh_schedule()
    services.stats_refresh_schedule()

    assert enqueue.call_count == 2


def test_the_clinical_write_succeeds_when_the_broker_is_down(enqueue, django_capture_on_commit_callbacks, caplog):
    enqueue.side_effect = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    site = PatientFactory().site

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        patient = registry_services.patient_create(
            user=None,
            site=site,
            mrn="MRN-BROKER-DOWN",
            birth_date=datetime.date(1950, 1, 2),
            sex="male",
            primary_cancer="lung",
        )
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.patient_update(user=None, patient=patient, data={"sex": "female"}, reason="Sex corrected")

    patient.refresh_from_db()
    assert patient.sex == "female"
    assert enqueue.call_count == 2  # the failed enqueue does not block the next one
    assert RefreshState.objects.get().scheduled_for is None
    assert (
        "Could not schedule a statistics refresh (kombu.exceptions.OperationalError); "
        "the periodic refresh will catch up."
    ) in caplog.text
    assert "MRN-BROKER-DOWN" not in caplog.text
    assert "1950" not in caplog.text


def test_the_refresh_stats_command_prints_a_summary_without_phi(two_site_cohort, capsys):
    call_command("refresh_stats")

    out = capsys.readouterr().out
    assert out.startswith("Statistics refreshed: 4 patients, registry and 2 sites, in ")
    assert "MRN" not in out
    assert Snapshot.objects.count() == 3


def test_beat_checks_for_stale_statistics_every_half_minute_and_refreshes_all_every_quarter_hour(settings):
    from analysis.tasks import refresh_cohort_stats_if_stale

    # The analysis app's entries (the quality app's are tested in quality/tests/test_rules_runs.py).
    schedule = {
        name: entry for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if entry["task"].startswith("analysis.")
    }
    assert schedule == {
        "refresh-cohort-stats-if-stale": {"task": refresh_cohort_stats_if_stale.name, "schedule": 30.0},
        "refresh-cohort-stats": {"task": refresh_cohort_stats.name, "schedule": 900.0},
        # The trajectory's own schedule (analysis/tests/test_trajectory_schedule.py).
        "refresh-trajectory": {"task": "analysis.tasks.refresh_trajectory", "schedule": 1800.0},
    }
    assert refresh_cohort_stats_if_stale.name == "analysis.tasks.refresh_cohort_stats_if_stale"
    assert refresh_cohort_stats.name == "analysis.tasks.refresh_cohort_stats"


def test_in_a_burst_the_next_refresh_waits_for_the_minimum_interval(enqueue, django_capture_on_commit_callbacks):
    encounter = EncounterFactory()
    started = timezone.now() - datetime.timedelta(seconds=5)
    RefreshState.objects.update_or_create(pk=RefreshState.SINGLETON, defaults={"started_at": started})

    with django_capture_on_commit_callbacks(execute=True):
        outcome_services.encounter_update(
            user=None, encounter=encounter, data={"msts_pain": 1}, reason="Score corrected"
        )

    countdown = enqueue.call_args.kwargs["countdown"]
    assert services.REFRESH_MIN_INTERVAL_SECONDS - 5 - 1 < countdown <= services.REFRESH_MIN_INTERVAL_SECONDS - 5
    scheduled = RefreshState.objects.get().scheduled_for
    assert scheduled == started + datetime.timedelta(seconds=services.REFRESH_MIN_INTERVAL_SECONDS)


def test_the_stale_check_refreshes_only_what_changed_since(enqueue):
    assert services.stats_refresh_if_stale() is not None  # never computed yet
    assert services.stats_refresh_if_stale() is None  # fresh: nothing to do
    snapshot_at = Snapshot.objects.get(site=None).computed_at

    RefreshState.objects.update(requested_at=timezone.now())  # a write whose own refresh was lost
    result = services.stats_refresh_if_stale()

    assert result is not None
    assert Snapshot.objects.get(site=None).computed_at > snapshot_at
    assert refresh_state()["status"] == "fresh"


def test_the_stale_check_leaves_a_pending_refresh_alone(enqueue):
    services.stats_refresh()
    RefreshState.objects.update(
        requested_at=timezone.now(), scheduled_for=timezone.now() + datetime.timedelta(seconds=10)
    )

    assert services.stats_refresh_if_stale() is None

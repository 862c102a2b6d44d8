"""The trajectory's mixed models too large for the stats refresh, fitted on a schedule of their own
(analysis.services.trajectory_refresh, the Celery task refresh_trajectory) and shown with their age."""

import datetime

import numpy as np
import pytest
from django.conf import settings

from analysis import cohort_extras
from analysis.dashboard import trajectory_ages
from analysis.models import TrajectorySnapshot
from analysis.selectors import snapshot_latest
from analysis.services import stats_refresh, trajectory_refresh
from analysis.tasks import refresh_trajectory
from analysis.trajectory import trajectory_model
from demo.loader import demo_cohort_load
from registry.models import Patient
from registry.tests.factories import EncounterFactory


def _pathological_arrays():
    """The mixed model's arrays of the demo's pathological stratum, read through the ORM."""
    post, psfs, pre, days, patient = [], [], [], [], []
    for person in Patient.objects.order_by("id"):
        procedure = person.procedures.order_by("date", "id").first()
        baseline = procedure.encounters.filter(kind="baseline").order_by("date", "id").first()
        if procedure.fracture_status != "pathological" or baseline is None or baseline.msts_total is None:
            continue
        for followup in procedure.encounters.filter(kind="followup", msts_total__isnull=False).order_by("date", "id"):
            post.append(followup.msts_total)
            psfs.append(procedure.treatment == "psfs")
            pre.append(baseline.msts_total)
            days.append((followup.date - procedure.date).days)
            patient.append(person.pk)
    return [np.array(values) for values in (post, psfs, pre, days, patient)]


@pytest.mark.django_db
def test_strata_too_large_for_the_refresh_are_fitted_on_their_own_schedule(monkeypatch, client, personas):
    monkeypatch.setattr(cohort_extras, "MIXED_MODEL_MAX_PATIENTS", 3)
    assert demo_cohort_load() == 30
    stats_refresh()
    before = snapshot_latest(site_id=None).document["trajectory"]["pathological"]
    assert before["difference"] is None
    assert before["note"].startswith("not computed: 21 patients in this stratum")

    assert trajectory_refresh() >= 2  # at least the registry's two strata
    stored = TrajectorySnapshot.objects.get(site__isnull=True)
    expected = trajectory_model(*_pathological_arrays())
    fitted = stored.document["pathological"]
    assert fitted["n_patients"] == expected["n_patients"] == 21
    assert fitted["n_visits"] == expected["n_visits"]
    for key in ("difference", "ci_low", "ci_high", "p_value"):
        assert fitted[key] == pytest.approx(expected[key], rel=1e-6)

    stats_refresh()
    document = snapshot_latest(site_id=None).document
    after = document["trajectory"]["pathological"]
    assert after["difference"] == pytest.approx(expected["difference"], rel=1e-6)
    assert after["difference"] > 0
    assert after["computed_at"] == stored.computed_at.isoformat()
    assert after["note"] == "fitted on its own schedule (age shown)"
    assert after["visits"] == fitted["visits"]

    # Nothing changed: the next run skips; a new follow-up makes it fit again.
    assert trajectory_refresh() is None
    assert TrajectorySnapshot.objects.get(site__isnull=True).computed_at == stored.computed_at
    procedure = Patient.objects.order_by("id").first().procedures.order_by("date", "id").first()
    EncounterFactory(procedure=procedure, date=procedure.date + datetime.timedelta(days=60))
    assert trajectory_refresh() >= 2
    assert TrajectorySnapshot.objects.get(site__isnull=True).computed_at > stored.computed_at

    # The dashboard says how old the estimate is.
    twelve_minutes_on = stored.computed_at + datetime.timedelta(minutes=12, seconds=5)
    assert trajectory_ages(document, now=twelve_minutes_on) == [
        "Pathological fractures: fitted 12 minutes ago",
        "Impending fractures: fitted 12 minutes ago",
    ]
    client.force_login(personas["ivy"])
    page = client.get("/dashboard/").content.decode()
    assert '<p class="trajectory-age">Pathological fractures: fitted 0 minutes ago</p>' in page


def test_the_refresh_leaves_a_stratum_it_fitted_itself_alone():
    kept = {"pathological": {"difference": 1.0, "note": "x"}, "impending": {"difference": None}}
    document = {"trajectory": {stratum: dict(entry) for stratum, entry in kept.items()}}
    stored = {"pathological": {"difference": 2.0}, "impending": {"difference": 3.0}}
    cohort_extras.trajectory_stored_apply(document, stored, computed_at="2026-01-01T00:00:00+00:00")
    # Fitted by the refresh, or without estimate for another reason than its size: kept as they were.
    assert document["trajectory"] == {
        "pathological": {"difference": 1.0, "note": "x"},
        "impending": {"difference": None},
    }


def test_beat_runs_the_bounded_trajectory_task():
    assert settings.TRAJECTORY_REFRESH_MINUTES == 30
    assert settings.CELERY_BEAT_SCHEDULE["refresh-trajectory"] == {
        "task": "analysis.tasks.refresh_trajectory",
        "schedule": 1800.0,
    }
    assert refresh_trajectory.name == "analysis.tasks.refresh_trajectory"
    assert (refresh_trajectory.soft_time_limit, refresh_trajectory.time_limit) == (600, 660)

"""The refreshes that tests enqueue never reach the checkout's own queue (conftest.py)."""

from pathlib import Path

import pytest
from django.conf import settings

from analysis.tasks import refresh_cohort_stats
from config.celery import app


@pytest.mark.skipif(settings.CELERY_BROKER_URL != "filesystem://", reason="only the filesystem broker has folders")
def test_tests_enqueue_into_a_folder_of_their_own_run():
    checkout_queue = Path(settings.BASE_DIR) / ".local" / "broker" / "queue"
    before = sorted(checkout_queue.glob("*.msg"))
    run_queue = Path(app.conf.broker_transport_options["data_folder_in"])
    waiting = len(list(run_queue.glob("*.msg")))

    refresh_cohort_stats.apply_async(countdown=60, retry=False)

    assert not run_queue.is_relative_to(Path(settings.BASE_DIR))
    assert len(list(run_queue.glob("*.msg"))) == waiting + 1
    assert sorted(checkout_queue.glob("*.msg")) == before

"""Celery tasks of the analysis app: thin, they call a service and own its retries."""

from celery import shared_task

from analysis.services import stats_refresh, stats_refresh_if_stale, trajectory_refresh


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def refresh_cohort_stats() -> None:
    """Recomputes and stores the cohort statistics of the registry and of every site."""
    stats_refresh()


@shared_task(ignore_result=True)
def refresh_cohort_stats_if_stale() -> None:
    """Beat's frequent check: refreshes only if the data changed since the last snapshot."""
    stats_refresh_if_stale()


# Bounded: the fits at 100,000 patients take about 50 s per registry-wide stratum (bench/README.md).
@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def refresh_trajectory() -> None:
    """Beat's periodic fit of the trajectory's mixed models too large for the stats refresh; skips
    when the visits did not change since its last run."""
    trajectory_refresh()

"""Celery tasks of the quality app: thin, they call the rules engine's runs and own their retries."""

from celery import shared_task

from quality.runs import rules_check_all, rules_check_changed, rules_check_started


@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def check_rules_incrementally() -> None:
    """Checks the data-quality rules for the patients changed since the last run."""
    rules_check_started()
    rules_check_changed()


# Bounded: a full run takes seconds at 100,000 patients (bench/README.md, "Data-quality rules").
@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def check_rules_in_full() -> None:
    """Beat's nightly run: checks every data-quality rule for every patient (a window that closed
    overnight changes no record, so only this run opens its missed-visit queries)."""
    rules_check_all()

"""Writes of the analysis app: computing and storing the snapshots, and asking for that to happen."""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis import cohort_extras, selectors, stats
from analysis.models import RefreshState, Snapshot, TrajectorySnapshot
from registry.models import Site

logger = logging.getLogger(__name__)

# A write after a quiet spell is refreshed this soon (a saved follow-up shows on the dashboard
# within seconds); the short wait lets the writes of one form or import land together.
REFRESH_COUNTDOWN_SECONDS = 1
# In a burst, refreshes start at least this far apart: 1,000 saves in a minute give ~4 of them.
REFRESH_MIN_INTERVAL_SECONDS = 15
# A pending refresh older than this was lost (broker restart, worker crash): enqueue another.
PENDING_GIVE_UP_SECONDS = 600


@dataclass(frozen=True)
class RefreshResult:
    n_patients: int
    n_sites: int
    fingerprint: str
    duration_ms: int


def _state_row() -> RefreshState:
    state, _ = RefreshState.objects.get_or_create(pk=RefreshState.SINGLETON)
    return state


def _state_update(**fields) -> None:
    _state_row()
    RefreshState.objects.filter(pk=RefreshState.SINGLETON).update(**fields)


def _failure_text(exc: BaseException) -> str:
    # Database and driver messages may quote row values (PHI): keep only the kind of error.
    return f"{type(exc).__module__}.{type(exc).__name__}"[:300]


@dataclass(frozen=True)
class _Computed:
    site: Site | None
    document: dict
    source_counts: dict
    fingerprint: str
    real_only: bool = False  # the whole registry without its demo patients


def snapshots_compute(cohort: stats.Cohort, sites: list[Site], *, computed_at: str) -> list[_Computed]:
    """The registry-wide document and one per site, all from the one fetched cohort."""
    # Sorted once, each site's rows and each group of a site are contiguous: their subsets are views.
    cohort = cohort.sorted_by("site_id", "fracture_status", "treatment")
    site_ids = cohort["site_id"]
    scopes = [(site, cohort if site is None else cohort.subset(site_ids == site.pk), False) for site in [None, *sites]]
    demo = cohort["is_demo"] if cohort.has_column("is_demo") else None
    if demo is not None and demo.any() and not demo.all():
        # Real and demo patients side by side: the whole registry once more without the demo ones.
        scopes.append((None, cohort.subset(~cohort["is_demo"]), True))
    return [
        _Computed(
            site=site,
            document=stats.cohort_document(part, computed_at=computed_at),
            source_counts=selectors.cohort_source_counts(part),
            fingerprint=selectors.cohort_fingerprint(part),
            real_only=real_only,
        )
        for site, part, real_only in scopes
    ]


@transaction.atomic
def _snapshots_store(computed: list[_Computed], *, computed_at: datetime.datetime, duration_ms: int) -> None:
    if not any(item.real_only for item in computed):
        # No longer real and demo patients side by side: no document without the demo ones.
        Snapshot.objects.filter(real_only=True, computed_at__lte=computed_at).delete()
    for item in computed:
        # Only the row's id and time: reading (and decoding) the stored documents cost ~0.1 s at 100k patients.
        current = (
            Snapshot.objects.select_for_update()
            .filter(site=item.site, real_only=item.real_only)
            .values_list("pk", "computed_at")
            .first()
        )
        if current is not None and current[1] > computed_at:
            continue  # a refresh that read the data later has stored its result already
        fields = {
            "document": item.document,
            "computed_at": computed_at,
            "source_counts": item.source_counts,
            "fingerprint": item.fingerprint,
            "duration_ms": duration_ms,
        }
        if current is None:
            Snapshot.objects.update_or_create(site=item.site, real_only=item.real_only, defaults=fields)
        else:
            Snapshot.objects.filter(pk=current[0]).update(**fields)


def _trajectories_stored_apply(computed: list[_Computed]) -> None:
    """The estimates of the trajectory's own schedule, for the strata the refresh could not fit."""
    stored = {row.site_id: row for row in TrajectorySnapshot.objects.all()}
    for item in computed:
        if item.real_only:
            continue  # the stored fits are of every patient; this scope has the refresh's own
        row = stored.get(item.site.pk if item.site else None)
        if row is not None:
            cohort_extras.trajectory_stored_apply(item.document, row.document, computed_at=row.computed_at.isoformat())


def trajectory_refresh() -> int | None:
    """Fits the trajectory's mixed model for every scope and stratum the refresh leaves unfitted because of
    its size (analysis.cohort_extras), from the visits of the whole registry, and stores them; then asks
    for a stats refresh, which puts them into the documents. Does nothing (returns None) when the visits
    read are those of the last run (same fingerprint); else returns the number of models fitted."""
    data = selectors.trajectory_csv()
    fingerprint = hashlib.blake2b(data, digest_size=32).hexdigest()
    last = TrajectorySnapshot.objects.filter(site__isnull=True).first()
    if last is not None and last.fingerprint == fingerprint:
        return None
    computed_at = timezone.now()
    cohort = selectors.trajectory_cohort_from_csv(data)
    every_stratum = len(cohort) > selectors.VISITS_MAX_PATIENTS  # the refresh reads no visits at all
    fitted = {}
    for site in [None, *Site.objects.order_by("code")]:
        part = cohort if site is None else cohort.subset(cohort["site_id"] == site.pk)
        fitted[site] = cohort_extras.trajectory_scheduled_fits(part, every_stratum=every_stratum)
    with transaction.atomic():
        for site, document in fitted.items():
            TrajectorySnapshot.objects.update_or_create(
                site=site, defaults={"computed_at": computed_at, "fingerprint": fingerprint, "document": document}
            )
    stats_refresh_schedule()
    return sum(len(document) for document in fitted.values())


def stats_refresh() -> RefreshResult:
    """Computes the stats document of the registry and of each site from one read, and stores them.

    Records the start, success or failure in RefreshState. On failure the previous
    snapshots stay as they were and the exception propagates (the task retries).
    """
    started = time.perf_counter()
    computed_at = timezone.now()
    # Writes from now on need another refresh, as this one may not see them.
    _state_update(started_at=computed_at, scheduled_for=None)
    try:
        sites = list(Site.objects.order_by("code"))
        cohort = selectors.cohort_fetch()
        computed = snapshots_compute(cohort, sites, computed_at=computed_at.isoformat())
        _trajectories_stored_apply(computed)
        duration_ms = int((time.perf_counter() - started) * 1000)
        _snapshots_store(computed, computed_at=computed_at, duration_ms=duration_ms)
    except Exception as exc:
        _state_update(failed_at=timezone.now(), last_error=_failure_text(exc))
        logger.warning("Statistics refresh failed (%s); the last snapshots are kept.", _failure_text(exc))
        raise
    duration_ms = int((time.perf_counter() - started) * 1000)
    _state_update(succeeded_at=timezone.now(), last_error="", last_duration_ms=duration_ms)
    logger.info("Statistics refreshed: %d patients, %d sites, %d ms.", len(cohort), len(sites), duration_ms)
    return RefreshResult(
        n_patients=len(cohort), n_sites=len(sites), fingerprint=computed[0].fingerprint, duration_ms=duration_ms
    )


def stats_refresh_if_stale() -> RefreshResult | None:
    """Refreshes when a change came after the last snapshot, no snapshot exists yet, or the last
    refresh failed, and no refresh is pending or running; otherwise does nothing (returns None)."""
    state = selectors.refresh_state()
    if state["status"] not in ("stale", "never", "failed"):
        return None
    pending = state["scheduled_for"] and state["scheduled_for"] > timezone.now()
    if pending:
        return None  # the refresh that write asked for is on its way
    return stats_refresh()


def stats_refresh_schedule() -> None:
    """Asks for a refresh soon; bursts of calls coalesce into one pending task.

    Enqueues ``refresh_cohort_stats`` unless one is already pending: REFRESH_COUNTDOWN_SECONDS
    from now, or REFRESH_MIN_INTERVAL_SECONDS after the last refresh started if that is later.
    Never raises: a clinical write must not fail because the broker or this
    bookkeeping does; the periodic refresh (beat) catches up.
    """
    try:
        _schedule()
    except Exception as exc:
        logger.warning(
            "Could not schedule a statistics refresh (%s); the periodic refresh will catch up.", _failure_text(exc)
        )


def _schedule() -> None:
    from analysis.tasks import refresh_cohort_stats

    now = timezone.now()
    state = _state_row()
    lost = now - datetime.timedelta(seconds=PENDING_GIVE_UP_SECONDS)
    pending = Q(scheduled_for__isnull=False) & Q(scheduled_for__gte=lost)
    eta = now + datetime.timedelta(seconds=REFRESH_COUNTDOWN_SECONDS)
    if state.started_at:
        eta = max(eta, state.started_at + datetime.timedelta(seconds=REFRESH_MIN_INTERVAL_SECONDS))
    countdown = round((eta - now).total_seconds(), 3)
    # One UPDATE claims the right to enqueue, so concurrent writers enqueue at most once.
    claimed = (
        RefreshState.objects.filter(pk=RefreshState.SINGLETON)
        .exclude(pending)
        .update(requested_at=now, scheduled_for=eta)
    )
    if not claimed:
        RefreshState.objects.filter(pk=RefreshState.SINGLETON).update(requested_at=now)
        return
    try:
        # retry=False: with the broker down, fail at once instead of holding up the request.
        refresh_cohort_stats.apply_async(countdown=countdown, retry=False)
    except Exception:
        # Let the next write try the broker again.
        RefreshState.objects.filter(pk=RefreshState.SINGLETON, scheduled_for=eta).update(scheduled_for=None)
        raise

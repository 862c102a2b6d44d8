from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from registry.models import Procedure, Site


class Snapshot(models.Model):
    """The latest stats document of the whole registry (site null) or of one site.

    One row per scope, replaced by each successful refresh; a failed refresh leaves it as it was.
    While the registry holds both real and demo patients, the whole registry has a second row,
    ``real_only``, computed without the demo patients (the dashboard's default then).
    """

    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="stats_snapshots")
    real_only = models.BooleanField(default=False, help_text="Computed without the demo patients (is_demo).")
    document = models.JSONField(encoder=DjangoJSONEncoder, help_text="The stats document of docs/contract.md.")
    computed_at = models.DateTimeField(help_text="When the data the document was computed from was read.")
    source_counts = models.JSONField(default=dict, help_text="Rows of each kind the document was computed from.")
    fingerprint = models.CharField(max_length=64, help_text="BLAKE2b-256 (hex) of the statistics' input arrays.")
    duration_ms = models.PositiveIntegerField(help_text="Duration of the whole refresh that produced it.")

    class Meta:
        constraints = [
            # One registry-wide row: NULL site ids are not distinct for this constraint.
            models.UniqueConstraint(fields=["site", "real_only"], nulls_distinct=False, name="snapshot_one_per_scope"),
        ]

    def __str__(self):
        scope = self.site or ("the registry without demo patients" if self.real_only else "the registry")
        return f"Statistics of {scope} at {self.computed_at:%Y-%m-%d %H:%M}"


class RefreshState(models.Model):
    """One row: where the refresh of the statistics stands, and the coalescing of requests.

    ``scheduled_for`` is set while a refresh task waits in the broker; writes in the
    meantime only move ``requested_at``. The task clears it when it starts.
    """

    SINGLETON = 1

    requested_at = models.DateTimeField(null=True, blank=True, help_text="Last change of clinical data.")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="ETA of the pending refresh task.")
    started_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, help_text="Kind of the last failure; never PHI.")
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return "Statistics refresh state"


class TrajectorySnapshot(models.Model):
    """The mixed models of the trajectory that the refresh leaves unfitted because of their size, fitted
    by their own scheduled task (analysis.services.trajectory_refresh) for the registry (site null) or a site.

    ``document`` maps each stratum fitted to its ``trajectory`` entry (docs/contract.md); the refresh
    copies it into the stats document with ``computed_at``.
    """

    site = models.OneToOneField(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="trajectory_snapshot"
    )
    computed_at = models.DateTimeField(help_text="When the visits the models were fitted on were read.")
    fingerprint = models.CharField(max_length=64, help_text="BLAKE2b-256 (hex) of the visits read.")
    document = models.JSONField(encoder=DjangoJSONEncoder, default=dict, help_text="Stratum -> trajectory entry.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site"], nulls_distinct=False, name="trajectory_snapshot_one_per_scope"),
        ]

    def __str__(self):
        return f"Trajectory of {self.site or 'the registry'} at {self.computed_at:%Y-%m-%d %H:%M}"


class FollowupWindows(models.Model):
    """Which windows of the follow-up schedule (outcomes.schedule.SCHEDULE) hold a follow-up of a
    procedure: bit ``i`` for ``SCHEDULE[i]``, as analysis.completeness reads them. One row per
    procedure with at least one such follow-up, none for the others.

    Derived data, kept by the database itself: triggers on the encounters (every insert, update and
    delete, bulk ones too) and on the procedures (a change of date moves the windows) recompute the
    rows of the procedures they touch (migration 0004, which holds the windows' bounds; a test
    holds them to the schedule). No service writes it; the cohort query reads it instead of joining
    every follow-up. A procedure's deletion removes its row (a foreign key ON DELETE CASCADE made
    by the migration, which Django does not see: hence DO_NOTHING here).
    """

    procedure = models.OneToOneField(
        Procedure, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    windows = models.PositiveSmallIntegerField(help_text="Bit i set: a follow-up in the window of SCHEDULE[i].")

    class Meta:
        verbose_name_plural = "follow-up windows"

    def __str__(self):
        return f"Follow-up windows of procedure {self.procedure_id}: {self.windows:b}"

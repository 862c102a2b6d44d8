"""Data queries (contract: "Data queries"): a question about one record, raised by a rule or a person."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.models import Patient, Site, audited


class QueryKind(models.TextChoices):
    """The kind of record a query is about."""

    PATIENT = "patient", "Patient"
    PROCEDURE = "procedure", "Procedure"
    ENCOUNTER = "encounter", "Encounter"
    SECONDARY_PROCEDURE = "secondary_procedure", "Secondary procedure"
    COMPLICATION = "complication", "Complication"


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class Resolution(models.TextChoices):
    FIXED = "fixed", "Fixed"
    CONFIRMED = "confirmed", "Confirmed as correct"
    WITHDRAWN = "withdrawn", "Withdrawn"


MANUAL_RULE = "manual"


@audited
class DataQuery(models.Model):
    rule = models.CharField(max_length=40, help_text="The rule's code, or 'manual' for a person's question.")
    kind = models.CharField(max_length=24, choices=QueryKind.choices)
    record = models.BigIntegerField(help_text="The id of the record of ``kind`` the query is about.")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="data_queries")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="data_queries")
    field = models.CharField(max_length=40, null=True, blank=True)
    message = models.CharField(max_length=300)
    status = models.CharField(max_length=8, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=12, choices=Resolution.choices, null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = "data query"
        verbose_name_plural = "data queries"
        indexes = [
            models.Index(fields=["site", "status"], name="dataquery_site_status"),
            models.Index(fields=["patient", "status"], name="dataquery_patient_status"),
            models.Index(fields=["kind", "record"], name="dataquery_record"),
        ]
        constraints = [
            # A rule never opens a second query on a record (and field: visit_missed asks once per
            # visit of a procedure) while one is not closed; the rules engine inserts ON CONFLICT DO
            # NOTHING against it. A null field is one value here, not a new one each time.
            models.UniqueConstraint(
                fields=["rule", "kind", "record", "field"],
                condition=~Q(status=QueryStatus.CLOSED) & ~Q(rule=MANUAL_RULE),
                name="dataquery_one_open_per_rule_record",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=(Q(status=QueryStatus.CLOSED) & Q(resolution__isnull=False) & Q(closed_at__isnull=False))
                | (~Q(status=QueryStatus.CLOSED) & Q(resolution__isnull=True)),
                name="dataquery_closed_has_resolution",
            ),
        ]

    def __str__(self):
        return f"{self.rule} on {self.kind} {self.record} ({self.status})"


class RuleCheckState(models.Model):
    """One row: where the rules engine stands (quality.engine), and the coalescing of its runs.

    ``checked_from`` is the time from which audit events have not all been seen by a run yet (the
    incremental run re-checks the patients of every event created at or after it); ``event_marks``
    holds, for the last runs, their time and the highest event id then visible in each audit table,
    so the next run reads only the tail of each table (see quality.engine.changed_patients).
    ``scheduled_for`` is set while an incremental run waits in the broker.
    """

    SINGLETON = 1

    requested_at = models.DateTimeField(null=True, blank=True, help_text="Last change of clinical data.")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="ETA of the pending incremental run.")
    started_at = models.DateTimeField(null=True, blank=True)
    checked_from = models.DateTimeField(null=True, blank=True)
    event_marks = models.JSONField(default=list, blank=True)
    last_full_run_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self):
        return "Rules engine state"

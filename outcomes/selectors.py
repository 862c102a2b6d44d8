"""Reads of the outcomes app that are more than a ``.get``: the follow-up worklist."""

import dataclasses
import datetime

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Exists, OuterRef, Q

from outcomes import schedule
from outcomes.models import EncounterKind
from registry.models import Procedure
from registry.selectors import procedures_visible_to


@dataclasses.dataclass(frozen=True)
class WorklistRow:
    procedure: Procedure
    visit: schedule.VisitStatus

    @property
    def patient(self):
        return self.procedure.patient


def worklist_for(user, *, today: datetime.date, site_id: int | None = None) -> list[WorklistRow]:
    """Follow-up visits due or overdue on ``today`` at the sites ``user`` may see, by site then urgency.

    One query whatever the number of patients: each recent procedure comes with its patient,
    site and the dates of its follow-ups. Deceased patients are left out, and so is a procedure
    followed by a later one of the same patient (the later one's schedule replaces it).
    """
    oldest = today - datetime.timedelta(days=schedule.LISTING_HORIZON_DAYS)
    later = Procedure.objects.filter(patient=OuterRef("patient")).filter(
        Q(date__gt=OuterRef("date")) | Q(date=OuterRef("date"), id__gt=OuterRef("id"))
    )
    procedures = (
        procedures_visible_to(user)
        .filter(date__gte=oldest, date__lt=today, patient__death_date__isnull=True)
        .filter(~Exists(later))
        .select_related("patient__site")
        .annotate(
            followup_dates=ArrayAgg(
                "encounters__date", filter=Q(encounters__kind=EncounterKind.FOLLOWUP), default=[], distinct=True
            )
        )
        .order_by()
    )
    if site_id is not None:
        procedures = procedures.filter(patient__site_id=site_id)
    rows = [
        WorklistRow(procedure, status)
        for procedure in procedures
        for status in schedule.visits_needing_action(procedure.date, procedure.followup_dates, today)
    ]
    urgency = {schedule.OVERDUE: 0, schedule.DUE: 1}
    rows.sort(
        key=lambda row: (
            row.patient.site.code,
            urgency[row.visit.status],
            row.visit.window_end,
            row.patient.study_id,
        )
    )
    return rows

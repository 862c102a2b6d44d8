"""The follow-up schedule of docs/reference.md ("Follow-up schedule"), in one place: pure functions, no database.

After each procedure the registry expects three follow-up visits. Each has a window of
days after the procedure date (day 0) in which a follow-up encounter counts for it:

==========  ==============
visit       window (days)
==========  ==============
1-2 weeks   7 to 21
1 month     22 to 45
3 months    75 to 120
==========  ==============

A visit is *due* while today is inside its window and no follow-up falls in it; it is
*overdue* once the window has closed without one, and stays overdue (with its days overdue)
until a follow-up is recorded in its window or the visit is recorded as not done: a missed
visit never drops off by itself, and a follow-up after the window does not stand in for it.
A patient who died, withdrew or was lost to follow-up on or before a window's last day (or,
while the window is open, by today) has no visit due in it: the same rule as the completeness
statistic's ``expected`` (contract, "Follow-up completeness"). Follow-ups outside every window
are accepted and flagged "outside window"; those after the last window are ordinary "later
visits as needed".
"""

import dataclasses
import datetime
from collections.abc import Collection, Iterable, Sequence

DUE = "due"
OVERDUE = "overdue"


@dataclasses.dataclass(frozen=True)
class Visit:
    key: str
    label: str
    first_day: int
    last_day: int

    def window(self, procedure_date: datetime.date) -> tuple[datetime.date, datetime.date]:
        """First and last date of the window of this visit after a procedure on ``procedure_date``."""
        return (
            procedure_date + datetime.timedelta(days=self.first_day),
            procedure_date + datetime.timedelta(days=self.last_day),
        )


SCHEDULE: tuple[Visit, ...] = (
    Visit("week2", "1-2 weeks", 7, 21),
    Visit("month1", "1 month", 22, 45),
    Visit("month3", "3 months", 75, 120),
)
LAST_WINDOW_DAY = max(visit.last_day for visit in SCHEDULE)


@dataclasses.dataclass(frozen=True)
class VisitStatus:
    visit: Visit
    status: str  # DUE or OVERDUE
    window_start: datetime.date
    window_end: datetime.date
    days_overdue: int = 0


def _day(procedure_date: datetime.date, day: datetime.date) -> int:
    return (day - procedure_date).days


def visit_for_followup(procedure_date: datetime.date, followup_date: datetime.date) -> Visit | None:
    """The scheduled visit whose window holds ``followup_date``, or None when it falls outside every window."""
    day = _day(procedure_date, followup_date)
    return next((visit for visit in SCHEDULE if visit.first_day <= day <= visit.last_day), None)


def followup_timing(procedure_date: datetime.date, followup_date: datetime.date) -> str:
    """How the timeline labels a follow-up: the visit's label, "outside window" or "later visit"."""
    visit = visit_for_followup(procedure_date, followup_date)
    if visit:
        return visit.label
    if _day(procedure_date, followup_date) > LAST_WINDOW_DAY:
        return "later visit"
    return "outside window"


def follow_up_end(death_date: datetime.date | None, status_date: datetime.date | None) -> datetime.date | None:
    """The day the patient's follow-up stopped: the earlier of death and withdrawal or loss
    (``status_date``, set only for a patient who is no longer active); None while followed."""
    days = [day for day in (death_date, status_date) if day is not None]
    return min(days) if days else None


def visit_status(
    visit: Visit,
    procedure_date: datetime.date,
    followup_dates: Iterable[datetime.date],
    today: datetime.date,
    *,
    not_done: Collection[str] = (),
    ended_on: datetime.date | None = None,
) -> VisitStatus | None:
    """DUE or OVERDUE status of one visit on ``today``; None when it needs no action: done (a
    follow-up in its window), recorded as not done (its key in ``not_done``), not yet open, or not
    expected because follow-up ended (``ended_on``, see ``follow_up_end``) by its last day."""
    today_day = _day(procedure_date, today)
    if today_day < visit.first_day or visit.key in not_done:
        return None
    if any(visit.first_day <= _day(procedure_date, d) <= visit.last_day for d in followup_dates):
        return None
    start, end = visit.window(procedure_date)
    if ended_on is not None and ended_on <= min(end, today):
        return None
    if today_day <= visit.last_day:
        return VisitStatus(visit, DUE, start, end)
    return VisitStatus(visit, OVERDUE, start, end, days_overdue=today_day - visit.last_day)


def visits_needing_action(
    procedure_date: datetime.date,
    followup_dates: Sequence[datetime.date],
    today: datetime.date,
    *,
    not_done: Collection[str] = (),
    ended_on: datetime.date | None = None,
) -> list[VisitStatus]:
    """Every visit of the schedule that is due or overdue on ``today`` (see ``visit_status``)."""
    statuses = (
        visit_status(visit, procedure_date, followup_dates, today, not_done=not_done, ended_on=ended_on)
        for visit in SCHEDULE
    )
    return [status for status in statuses if status]


def next_visit(
    procedure_date: datetime.date,
    followup_dates: Sequence[datetime.date],
    today: datetime.date,
    *,
    not_done: Collection[str] = (),
    ended_on: datetime.date | None = None,
) -> tuple[str, Visit, datetime.date, datetime.date] | None:
    """What the timeline says is next: the first visit due or overdue, else the next window to open.

    Returns (status, visit, window start, window end), status being DUE, OVERDUE or "upcoming";
    None when the schedule is complete, or when follow-up has ended (``ended_on``) and nothing is
    left overdue.
    """
    pending = visits_needing_action(procedure_date, followup_dates, today, not_done=not_done, ended_on=ended_on)
    if pending:
        first = pending[0]
        return first.status, first.visit, first.window_start, first.window_end
    if ended_on is not None:
        return None
    today_day = _day(procedure_date, today)
    for visit in SCHEDULE:
        if visit.first_day > today_day and visit.key not in not_done:
            start, end = visit.window(procedure_date)
            return "upcoming", visit, start, end
    return None

"""The follow-up schedule of docs/reference.md ("Follow-up schedule"), in one place: pure functions, no database.

After each procedure the registry expects three follow-up visits. Each has a window of
days after the procedure date (day 0) in which a follow-up encounter counts for it:

==========  ==============  ========================================
visit       window (days)   listed as overdue until (day)
==========  ==============  ========================================
1-2 weeks   7 to 21         45  (the close of the 1-month window)
1 month     22 to 45        120 (the close of the 3-month window)
3 months    75 to 120       180 (two months after its own window)
==========  ==============  ========================================

A visit is *due* while today is inside its window and no follow-up falls in it; it is
*overdue* once the window has closed without one, but only until the day in the last
column and only while no later follow-up exists (a later visit supersedes a missed one).
Follow-ups outside every window are accepted and flagged "outside window"; those after
the last window are ordinary "later visits as needed". Deceased patients have no visits
due; callers leave them out.
"""

import dataclasses
import datetime
from collections.abc import Iterable, Sequence

DUE = "due"
OVERDUE = "overdue"


@dataclasses.dataclass(frozen=True)
class Visit:
    key: str
    label: str
    first_day: int
    last_day: int
    overdue_until_day: int

    def window(self, procedure_date: datetime.date) -> tuple[datetime.date, datetime.date]:
        """First and last date of the window of this visit after a procedure on ``procedure_date``."""
        return (
            procedure_date + datetime.timedelta(days=self.first_day),
            procedure_date + datetime.timedelta(days=self.last_day),
        )


SCHEDULE: tuple[Visit, ...] = (
    Visit("week2", "1-2 weeks", 7, 21, 45),
    Visit("month1", "1 month", 22, 45, 120),
    Visit("month3", "3 months", 75, 120, 180),
)
# Worklist selectors need not look at procedures older than this.
LISTING_HORIZON_DAYS = max(visit.overdue_until_day for visit in SCHEDULE)
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


def visit_status(
    visit: Visit, procedure_date: datetime.date, followup_dates: Iterable[datetime.date], today: datetime.date
) -> VisitStatus | None:
    """DUE or OVERDUE status of one visit on ``today``; None when it needs no action (done, not yet open, stale)."""
    days = sorted(_day(procedure_date, d) for d in followup_dates)
    today_day = _day(procedure_date, today)
    start, end = visit.window(procedure_date)
    if any(visit.first_day <= d <= visit.last_day for d in days):
        return None
    if visit.first_day <= today_day <= visit.last_day:
        return VisitStatus(visit, DUE, start, end)
    if visit.last_day < today_day <= visit.overdue_until_day and not any(d > visit.last_day for d in days):
        return VisitStatus(visit, OVERDUE, start, end, days_overdue=today_day - visit.last_day)
    return None


def visits_needing_action(
    procedure_date: datetime.date, followup_dates: Sequence[datetime.date], today: datetime.date
) -> list[VisitStatus]:
    """Every visit of the schedule that is due or overdue on ``today``."""
    statuses = (visit_status(visit, procedure_date, followup_dates, today) for visit in SCHEDULE)
    return [status for status in statuses if status]


def next_visit(
    procedure_date: datetime.date, followup_dates: Sequence[datetime.date], today: datetime.date
) -> tuple[str, Visit, datetime.date, datetime.date] | None:
    """What the timeline says is next: the first visit due or overdue, else the next window to open.

    Returns (status, visit, window start, window end), status being DUE, OVERDUE or "upcoming";
    None when the schedule is complete or over.
    """
    pending = visits_needing_action(procedure_date, followup_dates, today)
    if pending:
        first = pending[0]
        return first.status, first.visit, first.window_start, first.window_end
    today_day = _day(procedure_date, today)
    for visit in SCHEDULE:
        if visit.first_day > today_day:
            start, end = visit.window(procedure_date)
            return "upcoming", visit, start, end
    return None

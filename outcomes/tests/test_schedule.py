"""The follow-up schedule (docs/reference.md): windows, due, overdue, outside window. No database."""

import datetime

import pytest

from outcomes import schedule
from outcomes.models import ScheduledVisit

DAY0 = datetime.date(2024, 1, 1)


def day(n: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=n)


def pending(followup_days, today_day):
    return [
        (s.visit.key, s.status, s.days_overdue)
        for s in schedule.visits_needing_action(DAY0, [day(d) for d in followup_days], day(today_day))
    ]


def pending_with(followup_days, today_day, **options):
    return [
        (s.visit.key, s.status, s.days_overdue)
        for s in schedule.visits_needing_action(DAY0, [day(d) for d in followup_days], day(today_day), **options)
    ]


def test_the_windows_are_those_of_the_reference():
    assert [(v.label, v.first_day, v.last_day) for v in schedule.SCHEDULE] == [
        ("1-2 weeks", 7, 21),
        ("1 month", 22, 45),
        ("3 months", 75, 120),
    ]
    assert schedule.SCHEDULE[1].window(DAY0) == (datetime.date(2024, 1, 23), datetime.date(2024, 2, 15))


@pytest.mark.parametrize(
    ("today_day", "expected"),
    [
        (6, []),
        (7, [("week2", "due", 0)]),
        (21, [("week2", "due", 0)]),
        (22, [("week2", "overdue", 1), ("month1", "due", 0)]),
        (45, [("week2", "overdue", 24), ("month1", "due", 0)]),
        (46, [("week2", "overdue", 25), ("month1", "overdue", 1)]),
        (75, [("week2", "overdue", 54), ("month1", "overdue", 30), ("month3", "due", 0)]),
        (121, [("week2", "overdue", 100), ("month1", "overdue", 76), ("month3", "overdue", 1)]),
        (181, [("week2", "overdue", 160), ("month1", "overdue", 136), ("month3", "overdue", 61)]),
        (900, [("week2", "overdue", 879), ("month1", "overdue", 855), ("month3", "overdue", 780)]),
    ],
)
def test_without_any_followup_each_visit_is_due_then_overdue_until_dealt_with(today_day, expected):
    assert pending([], today_day) == expected


def test_a_followup_in_the_window_completes_its_visit():
    assert pending([14], 20) == []
    assert pending([7], 30) == [("month1", "due", 0)]
    assert pending([21, 45], 80) == [("month3", "due", 0)]


def test_a_later_followup_does_not_stand_in_for_a_missed_visit():
    # The contract counts a visit done only with a follow-up in its window: a missed one stays
    # listed until it is recorded as not done (it used to vanish once a later follow-up existed).
    assert pending([30], 50) == [("week2", "overdue", 29)]
    assert pending([14, 50], 60) == [("month1", "overdue", 15)]


def test_a_visit_recorded_as_not_done_needs_no_action():
    assert pending_with([], 50, not_done={"week2"}) == [("month1", "overdue", 5)]
    assert pending_with([], 30, not_done={"week2", "month1"}) == []


@pytest.mark.parametrize(
    ("ended_day", "today_day", "expected"),
    [
        # Died, withdrew or was lost by a window's last day: nothing due in it or after.
        (10, 30, []),
        (21, 30, []),
        # Follow-up ended after the 1-2 week window closed: that missed visit stays to deal with.
        (22, 30, [("week2", "overdue", 9)]),
        (60, 130, [("week2", "overdue", 109), ("month1", "overdue", 85)]),
        # An open window with follow-up already ended: not due.
        (8, 10, []),
    ],
)
def test_a_visit_is_not_due_once_follow_up_ended_by_its_last_day(ended_day, today_day, expected):
    assert pending_with([], today_day, ended_on=day(ended_day)) == expected


def test_follow_up_ends_at_the_earlier_of_death_and_withdrawal():
    assert schedule.follow_up_end(None, None) is None
    assert schedule.follow_up_end(day(50), None) == day(50)
    assert schedule.follow_up_end(None, day(40)) == day(40)
    assert schedule.follow_up_end(day(50), day(40)) == day(40)
    assert schedule.follow_up_end(day(30), day(40)) == day(30)


def test_a_followup_outside_every_window_does_not_complete_a_visit_but_is_accepted():
    assert pending([3], 10) == [("week2", "due", 0)]
    assert schedule.followup_timing(DAY0, day(3)) == "outside window"
    assert schedule.followup_timing(DAY0, day(60)) == "outside window"
    assert schedule.followup_timing(DAY0, day(14)) == "1-2 weeks"
    assert schedule.followup_timing(DAY0, day(22)) == "1 month"
    assert schedule.followup_timing(DAY0, day(120)) == "3 months"
    assert schedule.followup_timing(DAY0, day(200)) == "later visit"


def test_next_visit_names_what_the_timeline_shows():
    assert schedule.next_visit(DAY0, [], day(2))[:2] == ("upcoming", schedule.SCHEDULE[0])
    assert schedule.next_visit(DAY0, [day(10)], day(12))[:2] == ("upcoming", schedule.SCHEDULE[1])
    assert schedule.next_visit(DAY0, [], day(10)) == ("due", schedule.SCHEDULE[0], day(7), day(21))
    assert schedule.next_visit(DAY0, [day(10), day(30)], day(50))[:2] == ("upcoming", schedule.SCHEDULE[2])
    assert schedule.next_visit(DAY0, [day(10), day(30), day(100)], day(300)) is None
    assert schedule.next_visit(DAY0, [], day(300))[:2] == ("overdue", schedule.SCHEDULE[0])
    assert schedule.next_visit(DAY0, [day(10)], day(12), not_done={"month1"})[:2] == ("upcoming", schedule.SCHEDULE[2])
    assert schedule.next_visit(DAY0, [day(10)], day(12), ended_on=day(11)) is None


def test_the_visits_a_record_names_are_the_windows_of_the_schedule():
    assert ScheduledVisit.choices == [(visit.key, visit.label) for visit in schedule.SCHEDULE]

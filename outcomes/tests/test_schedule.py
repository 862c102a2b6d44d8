"""The follow-up schedule (docs/reference.md): windows, due, overdue, outside window. No database."""

import datetime

import pytest

from outcomes import schedule

DAY0 = datetime.date(2024, 1, 1)


def day(n: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=n)


def pending(followup_days, today_day):
    return [
        (s.visit.key, s.status, s.days_overdue)
        for s in schedule.visits_needing_action(DAY0, [day(d) for d in followup_days], day(today_day))
    ]


def test_the_windows_are_those_of_the_reference():
    assert [(v.label, v.first_day, v.last_day, v.overdue_until_day) for v in schedule.SCHEDULE] == [
        ("1-2 weeks", 7, 21, 45),
        ("1 month", 22, 45, 120),
        ("3 months", 75, 120, 180),
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
        (46, [("month1", "overdue", 1)]),
        (74, [("month1", "overdue", 29)]),
        (75, [("month1", "overdue", 30), ("month3", "due", 0)]),
        (121, [("month3", "overdue", 1)]),
        (180, [("month3", "overdue", 60)]),
        (181, []),
    ],
)
def test_without_any_followup_each_visit_is_due_then_overdue_for_a_while(today_day, expected):
    assert pending([], today_day) == expected


def test_a_followup_in_the_window_completes_its_visit():
    assert pending([14], 20) == []
    assert pending([7], 30) == [("month1", "due", 0)]
    assert pending([21, 45], 80) == [("month3", "due", 0)]


def test_a_later_followup_supersedes_a_missed_visit():
    assert pending([30], 50) == []  # week2 missed, month1 done
    assert pending([50], 60) == []  # month1 missed, but the patient was seen after its window


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
    assert schedule.next_visit(DAY0, [], day(300)) is None

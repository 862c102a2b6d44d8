"""The follow-up windows of each procedure (analysis.models.FollowupWindows), kept by the database's
triggers (analysis migration 0004): equal after every write path to a recomputation in Python from
the schedule, and their bounds equal to the schedule's."""

import datetime
import importlib

import pytest
from django.db import connection

from analysis.models import FollowupWindows
from outcomes import services as outcome_services
from outcomes.models import Encounter
from outcomes.schedule import LAST_WINDOW_DAY, SCHEDULE, visit_for_followup
from quality.retract import retract
from registry import services
from registry.models import Procedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("analysis.migrations.0004_followup_windows")
DAY0 = datetime.date(2023, 3, 1)
WEEK2, MONTH1, MONTH3 = (1 << i for i in range(len(SCHEDULE)))


def recomputed() -> dict[int, int]:
    """Procedure id -> bits of the windows holding a follow-up, from the schedule in Python (none: no row)."""
    bits: dict[int, int] = {}
    for procedure_id, procedure_date, day in Encounter.objects.filter(kind="followup").values_list(
        "procedure_id", "procedure__date", "date"
    ):
        visit = visit_for_followup(procedure_date, day)
        if visit is not None:
            bits[procedure_id] = bits.get(procedure_id, 0) | 1 << SCHEDULE.index(visit)
    return bits


def stored() -> dict[int, int]:
    return dict(FollowupWindows.objects.values_list("procedure_id", "windows"))


def assert_kept(expected: dict[int, int]) -> None:
    assert stored() == recomputed() == expected


def day(n: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=n)


def test_the_databases_window_bits_are_the_schedules():
    """Fails when the schedule changes without a migration replacing analysis_window_bit."""
    days = range(-30, LAST_WINDOW_DAY + 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT d, analysis_window_bit(d) FROM generate_series(%s, %s) AS d", [days[0], days[-1]])
        database = dict(cursor.fetchall())
    python = {}
    for n in days:
        visit = visit_for_followup(DAY0, day(n))
        python[n] = 0 if visit is None else 1 << SCHEDULE.index(visit)
    assert database == python
    assert tuple((visit.first_day, visit.last_day) for visit in SCHEDULE) == MIGRATION.WINDOWS


def test_the_services_keep_the_windows(personas, site_a):
    alice = personas["alice"]
    patient = PatientFactory(site=site_a)
    procedure = ProcedureFactory(patient=patient, date=DAY0)
    other = ProcedureFactory(patient=patient, date=day(400), treatment="sacroplasty")
    EncounterFactory(procedure=procedure, kind="baseline", date=day(-12))
    assert_kept({})

    first = EncounterFactory(procedure=procedure, date=day(14))
    assert_kept({procedure.pk: WEEK2})
    second = EncounterFactory(procedure=procedure, date=day(30))
    EncounterFactory(procedure=other, date=day(400 + 100))
    assert_kept({procedure.pk: WEEK2 | MONTH1, other.pk: MONTH3})

    # A new date moves the follow-up into another window; new scores alone change nothing.
    second = outcome_services.encounter_update(
        user=alice, encounter=second, data={"date": day(100)}, reason="wrong date", confirm=True
    )
    outcome_services.encounter_update(
        user=alice, encounter=first, data={"msts_pain": 1}, reason="rescored", confirm=True
    )
    assert_kept({procedure.pk: WEEK2 | MONTH3, other.pk: MONTH3})

    # The procedure's date moves every window: day 14 becomes day 24, day 100 day 110.
    services.procedure_update(
        user=alice, procedure=procedure, data={"date": day(-10)}, reason="date corrected", confirm=True
    )
    assert_kept({procedure.pk: MONTH1 | MONTH3, other.pk: MONTH3})

    retract(user=alice, kind="encounter", record=second, reason="entered in error")
    assert_kept({procedure.pk: MONTH1, other.pk: MONTH3})

    # A follow-up outside every window leaves no row; the procedure's retraction takes its row along.
    retract(user=alice, kind="encounter", record=Encounter.objects.get(pk=first.pk), reason="entered in error")
    EncounterFactory(procedure=Procedure.objects.get(pk=procedure.pk), date=day(-10 + 50))
    assert_kept({other.pk: MONTH3})
    retract(user=alice, kind="procedure", record=Procedure.objects.get(pk=other.pk), reason="entered in error")
    assert_kept({})


def test_a_deleted_patient_takes_the_rows_of_its_procedures(personas, site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0)
    EncounterFactory(procedure=procedure, date=day(10))
    assert_kept({procedure.pk: WEEK2})

    retract(user=personas["alice"], kind="patient", record=procedure.patient, reason="entered in error")

    assert_kept({})


def test_bulk_writes_keep_the_windows(site_a):
    """An import's path: bulk_create of many procedures' follow-ups, then updates and deletes of many rows."""
    procedures = [ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0) for _ in range(4)]
    a, b, c, d = (procedure.pk for procedure in procedures)
    Encounter.objects.bulk_create(
        [
            Encounter(procedure_id=a, kind="followup", date=day(7)),
            Encounter(procedure_id=a, kind="followup", date=day(45)),
            Encounter(procedure_id=a, kind="followup", date=day(75)),
            Encounter(procedure_id=b, kind="followup", date=day(21)),
            Encounter(procedure_id=b, kind="baseline", date=day(-1)),
            Encounter(procedure_id=c, kind="followup", date=day(121)),
            Encounter(procedure_id=d, kind="followup", date=day(22)),
        ]
    )
    assert_kept({a: WEEK2 | MONTH1 | MONTH3, b: WEEK2, d: MONTH1})

    Encounter.objects.filter(procedure_id=c).update(date=day(120))  # into month 3
    Encounter.objects.filter(procedure_id=d).update(procedure_id=b)  # moved to another procedure
    Encounter.objects.filter(procedure_id=b, kind="baseline").update(kind="followup", date=day(8))
    assert_kept({a: WEEK2 | MONTH1 | MONTH3, b: WEEK2 | MONTH1, c: MONTH3})

    Procedure.objects.filter(pk__in=[a, c]).update(date=day(-1))  # day 7 -> 8, 45 -> 46, 75 -> 76, 120 -> 121
    Encounter.objects.filter(procedure_id=b, date=day(21)).delete()
    assert_kept({a: WEEK2 | MONTH3, b: WEEK2 | MONTH1})


def test_the_rebuild_recomputes_every_row(site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0)
    EncounterFactory(procedure=procedure, date=day(90))
    FollowupWindows.objects.all().delete()
    FollowupWindows.objects.create(procedure=procedure, windows=WEEK2)  # wrong

    with connection.cursor() as cursor:
        cursor.execute("SELECT analysis_followup_windows_rebuild()")
        assert cursor.fetchone() == (1,)

    assert_kept({procedure.pk: MONTH3})

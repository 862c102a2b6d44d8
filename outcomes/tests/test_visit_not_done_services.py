"""Visits not done: one per procedure and visit, never beside a follow-up in the same window,
a note for "other", a reason for every change, the rights of the site; and the reverse rule on
follow-ups."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.writes import REASON_REQUIRED
from outcomes import services
from outcomes.models import VisitNotDone
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

DAY0 = datetime.date(2024, 1, 1)


def day(n: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=n)


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0)


def not_done(procedure, user=None, **fields):
    return services.visit_not_done_create(
        user=user, procedure=procedure, **{"visit": "week2", "reason": "too_ill", **fields}
    )


def messages(excinfo) -> dict:
    return excinfo.value.message_dict


def test_it_records_a_visit_not_done_with_its_reason(procedure, personas):
    record = not_done(procedure, personas["alice"], visit="month1", reason="declined", note="  by phone ")

    stored = VisitNotDone.objects.get()
    assert (stored.pk, stored.procedure_id, stored.visit, stored.reason, stored.note, stored.version) == (
        record.pk,
        procedure.pk,
        "month1",
        "declined",
        "by phone",
        1,
    )


def test_one_per_procedure_and_visit(procedure):
    not_done(procedure)

    with pytest.raises(ValidationError) as excinfo:
        not_done(procedure, reason="declined")

    assert messages(excinfo) == {"visit": ["This visit is already recorded as not done for this procedure."]}
    assert VisitNotDone.objects.count() == 1


def test_refused_when_a_followup_already_falls_in_the_window(procedure):
    EncounterFactory(procedure=procedure, date=day(30))

    with pytest.raises(ValidationError) as excinfo:
        not_done(procedure, visit="month1")

    assert messages(excinfo) == {
        "visit": ["A follow-up on 2024-01-31 already falls in this visit's window (2024-01-23 to 2024-02-15)."]
    }
    assert not VisitNotDone.objects.exists()
    not_done(procedure, visit="week2")  # another window is free


def test_other_needs_a_note(procedure):
    with pytest.raises(ValidationError) as excinfo:
        not_done(procedure, reason="other", note="   ")

    assert messages(excinfo) == {"note": ["Say why the visit was not done when the reason is 'other'."]}


def test_an_unknown_visit_or_reason_is_refused_naming_it(procedure):
    with pytest.raises(ValidationError) as excinfo:
        not_done(procedure, visit="month6", reason="bored")

    assert set(messages(excinfo)) == {"visit", "reason"}


def test_another_sites_clinician_may_not_record_one(procedure, personas):
    with pytest.raises(PermissionDenied):
        not_done(procedure, personas["charlie"])
    assert not VisitNotDone.objects.exists()


def test_an_update_needs_a_reason_and_keeps_the_rules(procedure, personas):
    record = not_done(procedure)
    not_done(procedure, visit="month1")

    with pytest.raises(ValidationError) as no_reason:
        services.visit_not_done_update(user=personas["alice"], visit_not_done=record, data={"reason": "declined"})
    with pytest.raises(ValidationError) as clash:
        services.visit_not_done_update(
            user=personas["alice"], visit_not_done=record, data={"visit": "month1"}, reason="Wrong visit"
        )
    updated = services.visit_not_done_update(
        user=personas["alice"],
        visit_not_done=record,
        data={"reason": "declined"},
        reason="Misheard",
        expected_version=1,
    )

    assert messages(no_reason) == {"change_reason": [REASON_REQUIRED]}
    assert messages(clash) == {"visit": ["This visit is already recorded as not done for this procedure."]}
    record.refresh_from_db()
    assert (record.reason, record.version, updated.version) == ("declined", 2, 2)


def test_a_deletion_needs_a_reason(procedure, personas):
    record = not_done(procedure)

    with pytest.raises(ValidationError):
        services.visit_not_done_delete(user=personas["alice"], visit_not_done=record, reason=" ")
    assert VisitNotDone.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.visit_not_done_delete(user=personas["charlie"], visit_not_done=record, reason="Entered in error")
    services.visit_not_done_delete(user=personas["alice"], visit_not_done=record, reason="Entered in error")

    assert not VisitNotDone.objects.exists()


def test_a_followup_in_a_window_marked_not_done_is_refused_naming_date(procedure, personas):
    not_done(procedure, visit="month1")

    with pytest.raises(ValidationError) as excinfo:
        EncounterFactory(procedure=procedure, date=day(30))
    in_another_window = EncounterFactory(procedure=procedure, date=day(14))
    with pytest.raises(ValidationError) as moved:
        services.encounter_update(
            user=personas["alice"], encounter=in_another_window, data={"date": day(40)}, reason="Date typo"
        )

    expected = (
        "The 1 month visit of this procedure is recorded as not done, and this date falls in its window "
        "(2024-01-23 to 2024-02-15): change or retract the visit not done first."
    )
    assert messages(excinfo)["date"] == [expected]
    assert messages(moved)["date"] == [expected]
    in_another_window.refresh_from_db()
    assert in_another_window.date == day(14)


def test_the_audit_trail_keeps_who_and_why(procedure, personas):
    record = not_done(procedure, personas["alice"])
    services.visit_not_done_update(
        user=personas["alice"], visit_not_done=record, data={"reason": "declined"}, reason="Misheard"
    )

    events = VisitNotDone.pgh_event_models["update"].objects.filter(pgh_obj_id=record.pk, pgh_label="update")
    assert [(e.pgh_context.metadata["action"], e.pgh_context.metadata.get("reason")) for e in events] == [
        ("visit_not_done_update", "Misheard")
    ]

"""How the rules engine treats the queries it finds: one open per rule, record and field; people's
closures; manual queries; retracted records; the scope of a run; the audit trail."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from outcomes import services as outcome_services
from quality.models import DataQuery, DataQueryEvent
from quality.tests.queries_support import closed, make_query
from quality.tests.rules_support import check, followed_patient, fresh, rule_queries


def _set_mme(encounter, mme: str):
    return outcome_services.encounter_update(
        user=None,
        encounter=fresh(encounter),
        data={"opioid_mme_per_day": Decimal(mme)},
        reason="Dose from the pharmacy record.",
        confirm=True,
    )


@pytest.fixture
def high_dose(site_a):
    """A follow-up with 1,400 MME/day: mme_unusual holds for it."""
    _, _, followups = followed_patient(site_a)
    return _set_mme(followups[10], "1400")


@pytest.mark.django_db
def test_a_rule_never_has_two_queries_not_closed_on_one_record(high_dose):
    check()
    DataQuery.objects.filter(rule="mme_unusual").update(status="answered", answer="Checked: the dose is right.")

    result = check()

    assert result.opened == 0
    assert rule_queries() == [("mme_unusual", "encounter", high_dose.pk, "opioid_mme_per_day", "answered", None)]
    query = DataQuery.objects.get()
    duplicate = {f: getattr(query, f) for f in ("rule", "kind", "record", "patient", "site", "field", "message")}
    with pytest.raises(IntegrityError), transaction.atomic():
        DataQuery.objects.create(**duplicate)


@pytest.mark.django_db
def test_an_answered_query_closes_as_fixed_keeping_its_answer(high_dose):
    check()
    DataQuery.objects.update(status="answered", answer="Will check with the pharmacy.")
    _set_mme(high_dose, "140")

    assert check().closed == 1

    query = DataQuery.objects.get()
    assert (query.status, query.resolution, query.answer) == ("closed", "fixed", "Will check with the pharmacy.")


@pytest.mark.django_db
def test_a_confirmed_query_is_not_reopened_while_the_record_is_unchanged(high_dose):
    check()
    closed(DataQuery.objects.get(), resolution="confirmed")

    assert check().opened == 0
    assert rule_queries() == [("mme_unusual", "encounter", high_dose.pk, "opioid_mme_per_day", "closed", "confirmed")]

    # Once the record changes and the rule still holds, the question is asked again.
    _set_mme(high_dose, "1500")
    assert check().opened == 1
    assert [q[4:] for q in rule_queries()] == [("closed", "confirmed"), ("open", None)]
    assert DataQuery.objects.get(status="open").message.startswith("Opioid dose of 1500 MME/day")


@pytest.mark.django_db
def test_a_withdrawn_query_is_not_reopened_while_the_record_is_unchanged(high_dose):
    check()
    closed(DataQuery.objects.get(), resolution="withdrawn")

    assert check().opened == 0


@pytest.mark.django_db
def test_a_query_closed_as_fixed_while_the_rule_still_holds_opens_again(high_dose):
    check()
    closed(DataQuery.objects.get(), resolution="fixed")

    assert check().opened == 1
    assert [q[4:] for q in rule_queries()] == [("closed", "fixed"), ("open", None)]


@pytest.mark.django_db
def test_manual_queries_are_never_touched(high_dose, site_a):
    _, _, followups = followed_patient(site_a)
    manual = make_query(followups[30], rule="manual", field="msts_pain", message="Pain score looks swapped?")
    manual_on_same_record = make_query(high_dose, rule="manual", field="opioid_mme_per_day", message="Units?")

    check()
    _set_mme(high_dose, "140")
    check()

    for query in (manual, manual_on_same_record):
        before = (query.status, query.resolution, query.message, query.closed_at)
        query.refresh_from_db()
        assert (
            (query.status, query.resolution, query.message, query.closed_at)
            == before
            == ("open", None, query.message, None)
        )


@pytest.mark.django_db
def test_the_query_of_a_retracted_record_closes_as_fixed(high_dose):
    check()
    record = high_dose.pk
    outcome_services.encounter_delete(user=None, encounter=high_dose, reason="Entered on the wrong patient.")

    result = check()

    assert (result.opened, result.closed) == (1, 1)  # and the 2-week visit is now missed
    assert rule_queries("mme_unusual") == [
        ("mme_unusual", "encounter", record, "opioid_mme_per_day", "closed", "fixed")
    ]


@pytest.mark.django_db
def test_an_open_query_is_restated_when_the_value_changes(high_dose):
    check()
    query = DataQuery.objects.get()
    _set_mme(high_dose, "1500")

    result = check()

    assert (result.opened, result.closed, result.restated) == (0, 0, 1)
    query.refresh_from_db()
    assert query.status == "open"
    assert query.message == "Opioid dose of 1500 MME/day is above 1,000 MME/day: check it, or confirm it is right."


@pytest.mark.django_db
def test_a_run_for_some_patients_leaves_the_others_queries_alone(site_a):
    patient, _, one = followed_patient(site_a)
    other, _, two = followed_patient(site_a)
    _set_mme(one[10], "1400")
    _set_mme(two[10], "1400")
    check()
    _set_mme(one[10], "100")
    _set_mme(two[10], "100")

    result = check(patient_ids=[patient.pk])

    assert (result.opened, result.closed, result.patients) == (0, 1, 1)
    assert DataQuery.objects.get(patient=patient).status == "closed"
    assert DataQuery.objects.get(patient=other).status == "open"


@pytest.mark.django_db
def test_a_run_for_no_patient_does_nothing(high_dose):
    assert check(patient_ids=[]).opened == 0
    assert not DataQuery.objects.exists()


@pytest.mark.django_db
def test_the_engines_writes_are_audited_with_its_action_and_reason(high_dose):
    check()
    _set_mme(high_dose, "100")
    check()

    events = DataQueryEvent.objects.order_by("pgh_id")
    assert [(e.pgh_label, e.status) for e in events] == [("insert", "open"), ("update", "closed")]
    for event in events:
        assert event.pgh_context.metadata["action"] == "quality rules"
        assert "user" not in event.pgh_context.metadata
        assert event.pgh_context.metadata["reason"] == "Data-quality rules checked for every patient."

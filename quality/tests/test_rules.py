"""Each data-quality rule opens its query where its condition holds, and the query closes by itself
(``fixed``) once the data are corrected through the services."""

import datetime
from decimal import Decimal

import pytest

from outcomes import services as outcome_services
from quality.engine import check_rules, rule_rows
from quality.models import DataQuery
from quality.rules import RULES
from quality.tests.rules_support import DAY0, TODAY, check, day, followed_patient, fresh, rule_queries
from registry import services
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

RULE = {rule.code: rule for rule in RULES}


def _update_encounter(encounter, **data):
    return outcome_services.encounter_update(
        user=None, encounter=encounter, data=data, reason="Corrected from the clinic letter.", confirm=True
    )


def _assert_opened_then_fixed(rule, kind, record, field, fix):
    result = check()
    assert result.opened == 1
    assert rule_queries() == [(rule, kind, record, field, "open", None)]
    query = DataQuery.objects.get()
    assert query.opened_by is None and query.closed_at is None
    fix()
    result = check()
    assert (result.opened, result.closed) == (0, 1)
    assert rule_queries() == [(rule, kind, record, field, "closed", "fixed")]
    query.refresh_from_db()
    assert query.closed_by is None and query.closed_at is not None
    return query


@pytest.mark.django_db
def test_a_complete_record_raises_no_query(site_a):
    followed_patient(site_a)

    result = check()

    assert (result.opened, result.closed, result.restated) == (0, 0, 0)
    assert not DataQuery.objects.exists()


@pytest.mark.django_db
def test_baseline_missing_opens_on_the_index_procedure_and_closes_when_the_baseline_is_recorded(site_a):
    patient, procedure, _ = followed_patient(site_a)
    baseline = procedure.encounters.get(kind="baseline")
    outcome_services.encounter_delete(user=None, encounter=baseline, reason="Entered on the wrong patient.")
    # A later procedure without a baseline is not the index procedure: no query.
    later = ProcedureFactory(patient=patient, date=day(200))

    query = _assert_opened_then_fixed(
        "baseline_missing",
        "procedure",
        procedure.pk,
        None,
        lambda: EncounterFactory(procedure=procedure, kind="baseline", date=day(-1)),
    )

    assert query.message == "The index procedure has no baseline (pre-operative) encounter."
    assert query.patient == patient and query.site == site_a
    assert not DataQuery.objects.filter(record=later.pk).exists()


@pytest.mark.django_db
def test_msts_incomplete_names_the_domains_not_scored_and_closes_when_all_six_are(site_a):
    _, _, followups = followed_patient(site_a)
    encounter = followups[30]
    _update_encounter(encounter, msts_supports=None, msts_gait=None)

    query = _assert_opened_then_fixed(
        "msts_incomplete",
        "encounter",
        encounter.pk,
        None,
        lambda: _update_encounter(fresh(encounter), msts_supports=2, msts_gait=4),
    )

    assert query.message == "MSTS incomplete: 4 of 6 domains scored; not scored: Use of supports, Gait."


@pytest.mark.django_db
def test_msts_with_no_domain_scored_is_not_incomplete(site_a):
    _, _, followups = followed_patient(site_a)
    _update_encounter(
        followups[10],
        msts_pain=None,
        msts_function=None,
        msts_emotional_acceptance=None,
        msts_supports=None,
        msts_walking=None,
        msts_gait=None,
    )

    assert check().opened == 0


@pytest.mark.django_db
def test_narcotic_change_missing_opens_on_a_follow_up_and_closes_when_recorded(site_a):
    _, _, followups = followed_patient(site_a)
    encounter = followups[90]
    _update_encounter(encounter, narcotic_change=None)

    query = _assert_opened_then_fixed(
        "narcotic_change_missing",
        "encounter",
        encounter.pk,
        "narcotic_change",
        lambda: _update_encounter(fresh(encounter), narcotic_change="decreased"),
    )

    assert query.message.startswith("Follow-up without the change in narcotic use")


@pytest.mark.django_db
def test_visit_missed_opens_per_closed_window_and_closes_when_the_visit_is_marked_not_done(site_a):
    _, procedure, followups = followed_patient(site_a)
    outcome_services.encounter_delete(user=None, encounter=followups[30], reason="Entered in error.")

    query = _assert_opened_then_fixed(
        "visit_missed",
        "procedure",
        procedure.pk,
        "month1",
        lambda: outcome_services.visit_not_done_create(
            user=None, procedure=procedure, visit="month1", reason="too_ill"
        ),
    )

    assert query.message == (
        "The 1 month visit (days 22-45 after the index procedure) was missed: its window has closed "
        "with no follow-up in it, and it is not recorded as not done."
    )


@pytest.mark.django_db
def test_visit_missed_closes_when_a_follow_up_is_recorded_in_the_window(site_a):
    _, procedure, followups = followed_patient(site_a, followup_days=(10, 90))

    _assert_opened_then_fixed(
        "visit_missed",
        "procedure",
        procedure.pk,
        "month1",
        lambda: EncounterFactory(procedure=procedure, kind="followup", date=day(45), narcotic_change="stable"),
    )


@pytest.mark.django_db
def test_visit_missed_one_query_per_window(site_a):
    _, procedure, _ = followed_patient(site_a, followup_days=())

    check()

    assert [(q[2], q[3]) for q in rule_queries("visit_missed")] == [
        (procedure.pk, "week2"),
        (procedure.pk, "month1"),
        (procedure.pk, "month3"),
    ]


@pytest.mark.django_db
def test_visit_missed_waits_for_the_window_to_close(site_a):
    followed_patient(site_a, followup_days=(10, 30))

    # Day 120 is the last day of the 3-month window: not missed yet, missed the day after.
    assert check(today=day(120)).opened == 0
    assert check(today=day(121)).opened == 1
    assert [q[3] for q in rule_queries("visit_missed")] == ["month3"]


@pytest.mark.django_db
def test_no_visit_is_missed_after_death_withdrawal_or_loss_by_the_windows_last_day(site_a):
    # Died on day 45 (the 1-month window's last day): month1 and month3 are not expected.
    followed_patient(site_a, followup_days=(10,), death_date=day(45))
    # Withdrew on day 46: the 1-month window was missed, the 3-month one is not expected.
    _, withdrawn, _ = followed_patient(site_a, followup_days=(10,), status="withdrawn", status_date=day(46))
    # Lost on day 21: nothing is missed after the 2-week visit.
    followed_patient(site_a, followup_days=(10,), status="lost_to_follow_up", status_date=day(21))

    check()

    assert [(q[2], q[3]) for q in rule_queries("visit_missed")] == [(withdrawn.pk, "month1")]


@pytest.mark.django_db
def test_visit_missed_is_asked_of_the_index_procedure_only(site_a):
    patient, _, _ = followed_patient(site_a)
    ProcedureFactory(patient=patient, date=day(200))

    check(today=day(400))

    assert rule_queries("visit_missed") == []


@pytest.mark.django_db
def test_mme_unusual_opens_above_1000_and_closes_when_the_dose_is_corrected(site_a):
    _, _, followups = followed_patient(site_a)
    encounter = followups[10]
    _update_encounter(encounter, opioid_mme_per_day=Decimal("1000.0"))
    assert check().opened == 0  # 1,000 itself is not above the limit
    _update_encounter(fresh(encounter), opioid_mme_per_day=Decimal("1400.0"))

    query = _assert_opened_then_fixed(
        "mme_unusual",
        "encounter",
        encounter.pk,
        "opioid_mme_per_day",
        lambda: _update_encounter(fresh(encounter), opioid_mme_per_day=Decimal("140")),
    )

    assert query.message == "Opioid dose of 1400 MME/day is above 1,000 MME/day: check it, or confirm it is right."


@pytest.mark.django_db
def test_followup_outside_window_opens_between_windows_and_closes_when_the_date_is_corrected(site_a):
    _, _, followups = followed_patient(site_a, followup_days=(10, 30, 50, 90, 130))
    encounter = followups[50]  # between 45 and 75; day 130 (after the last window) is a later visit

    query = _assert_opened_then_fixed(
        "followup_outside_window",
        "encounter",
        encounter.pk,
        "date",
        lambda: _update_encounter(fresh(encounter), date=day(80)),
    )

    assert query.message == "Follow-up on day 50 after its procedure, in no visit window (days 7-21, 22-45 or 75-120)."


@pytest.mark.django_db
def test_followup_outside_window_edges(site_a):
    _, procedure, _ = followed_patient(site_a, followup_days=(6, 7, 21, 22, 45, 46, 74, 75, 120, 121))

    check()

    days = sorted(
        (e.date - procedure.date).days
        for e in procedure.encounters.filter(pk__in=[q[2] for q in rule_queries("followup_outside_window")])
    )
    assert days == [6, 46, 74]


@pytest.mark.django_db
def test_cement_unusual_opens_above_40_ml_and_closes_when_corrected(site_a):
    _, procedure, _ = followed_patient(site_a)

    def set_cement(volume):
        services.procedure_update(
            user=None,
            procedure=fresh(procedure),
            data={"cement_volume_ml": Decimal(volume)},
            reason="Operative note re-read.",
            confirm=True,
        )

    set_cement("40.0")
    assert check().opened == 0
    set_cement("45.5")

    query = _assert_opened_then_fixed(
        "cement_unusual", "procedure", procedure.pk, "cement_volume_ml", lambda: set_cement("12")
    )

    assert query.message == "Cement volume of 45.5 ml is above 40 ml: check it, or confirm it is right."


@pytest.mark.django_db
def test_followup_late_opens_more_than_3_years_after_the_procedure_and_closes_when_corrected(site_a):
    day0 = datetime.date(2020, 2, 29)
    _, _, followups = followed_patient(site_a, day0=day0, followup_days=(10, 30, 90, 400))
    encounter = followups[400]
    # Three years after 29 February 2020 is 28 February 2023: that day is not late, the next is.
    _update_encounter(encounter, date=datetime.date(2023, 2, 28))
    assert check().opened == 0
    _update_encounter(fresh(encounter), date=datetime.date(2023, 3, 1))

    query = _assert_opened_then_fixed(
        "followup_late",
        "encounter",
        encounter.pk,
        "date",
        lambda: _update_encounter(fresh(encounter), date=day(400, day0)),
    )

    assert query.message == (
        "Follow-up 1096 days after its procedure, more than 3 years later: check the date, or confirm it is right."
    )


@pytest.mark.django_db
def test_age_under_18_opens_at_a_procedure_of_a_minor_and_closes_when_the_birth_date_is_corrected(site_a):
    # Born 11 January 2006: 17 on 10 January 2024, the day of the procedure.
    patient, procedure, _ = followed_patient(site_a, birth_date=datetime.date(2006, 1, 11))

    query = _assert_opened_then_fixed(
        "age_under_18",
        "procedure",
        procedure.pk,
        "date",
        lambda: services.patient_update(
            user=None,
            patient=fresh(patient),
            data={"birth_date": datetime.date(1996, 1, 11)},
            reason="Date of birth typed with the wrong decade.",
        ),
    )

    assert query.message == (
        "The patient was 17 at this procedure, under 18: check the procedure date and the date of birth, "
        "or confirm them."
    )


@pytest.mark.django_db
def test_age_counts_full_years_like_the_vocabulary(site_a):
    from registry.vocabulary import age_years

    birth = datetime.date(2008, 2, 29)
    patient = PatientFactory(site=site_a, birth_date=birth)
    minor = ProcedureFactory(patient=patient, date=datetime.date(2026, 2, 28), confirm=True)
    adult = ProcedureFactory(patient=patient, date=datetime.date(2026, 3, 1), confirm=True)
    # 17 on 28 February 2026, 18 on 1 March, as registry.vocabulary.age_years counts.

    rows = rule_rows(RULE["age_under_18"], today=TODAY)

    assert age_years(birth, minor.date) == 17 and age_years(birth, adult.date) == 18
    assert [row[0] for row in rows] == [minor.pk]


@pytest.mark.django_db
def test_each_rule_reads_one_patient_with_a_bounded_number_of_queries(site_a, django_assert_max_num_queries):
    patient, _, _ = followed_patient(site_a)
    followed_patient(site_a)

    # The advisory lock, the trigger setting, jit, the savepoint and the one statement of the rules.
    with django_assert_max_num_queries(8):
        result = check_rules(patient_ids=[patient.pk], today=TODAY)

    assert result.patients == 1


def test_every_rule_of_the_contract_is_defined():
    assert set(RULE) >= {
        "baseline_missing",
        "msts_incomplete",
        "narcotic_change_missing",
        "visit_missed",
        "mme_unusual",
        "followup_outside_window",
    }
    assert {rule.kind for rule in RULES} <= {"patient", "procedure", "encounter", "secondary_procedure", "complication"}
    assert DAY0 < TODAY

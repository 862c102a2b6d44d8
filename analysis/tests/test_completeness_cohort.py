"""Follow-up completeness of a registry with known gaps, through the refresh: every scope's document
against the contract's counts written out by hand and against an independent count over the rows."""

import datetime

import pytest
from django.utils import timezone

from analysis.selectors import snapshot_latest
from analysis.services import stats_refresh
from outcomes import services as outcome_services
from outcomes.schedule import SCHEDULE
from registry import services
from registry.choices import Role
from registry.models import Patient
from registry.sign_off import procedure_sign_off, procedure_unlock
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory, SiteFactory, make_user

pytestmark = pytest.mark.django_db

COUNTS = ("expected", "done", "not_done", "missed", "pending")
PASSWORD = "correct horse battery staple"


def _patient(site, *, days_ago, stratum, treatment, followups=(), death=None, status=None, not_done=None):
    """A patient whose index procedure was ``days_ago`` days before today; ``followups``, ``death``
    and ``status`` (code, day) in days from the index procedure; ``not_done``: {visit: reason}."""
    today = timezone.localdate()
    index = today - datetime.timedelta(days=days_ago)
    day = lambda n: index + datetime.timedelta(days=n)  # noqa: E731
    patient = PatientFactory(site=site, death_date=day(death) if death is not None else None)
    procedure = ProcedureFactory(patient=patient, date=index, treatment=treatment, fracture_status=stratum)
    EncounterFactory(procedure=procedure, kind="baseline", date=index - datetime.timedelta(days=2))
    for n in followups:
        EncounterFactory(procedure=procedure, kind="followup", date=day(n))
    for visit, reason in (not_done or {}).items():
        outcome_services.visit_not_done_create(user=None, procedure=procedure, visit=visit, reason=reason)
    if status:
        code, n = status
        services.patient_update(
            user=None, patient=patient, data={"status": code, "status_date": day(n)}, reason="left the study"
        )
    return procedure


@pytest.fixture
def registry():
    """Two sites; in brackets what becomes of week2 / month1 / month3."""
    s1, s2 = SiteFactory(code="S1"), SiteFactory(code="S2")
    first = _patient(
        s1, days_ago=130, stratum="pathological", treatment="psfs", followups=(14, 100)
    )  # done/missed/done
    # A later procedure of the same patient is not the index one: its follow-up counts nowhere.
    later = ProcedureFactory(
        patient=first.patient, date=timezone.localdate() - datetime.timedelta(days=40), treatment="sacroplasty"
    )
    EncounterFactory(procedure=later, kind="followup", date=later.date + datetime.timedelta(days=30))
    _patient(s1, days_ago=130, stratum="pathological", treatment="psfs", followups=(14,), death=30)  # done/died/died
    _patient(s1, days_ago=60, stratum="pathological", treatment="sacroplasty", status=("withdrawn", 20))  # out/out/-
    _patient(
        s1,
        days_ago=100,
        stratum="impending",
        treatment="psfs",
        status=("lost_to_follow_up", 80),
        not_done={"month1": "too_ill"},
    )  # missed/not done/lost
    _patient(s1, days_ago=10, stratum="impending", treatment="sacroplasty")  # pending/-/-
    _patient(
        s2, days_ago=50, stratum="pathological", treatment="psfs", followups=(30,), not_done={"week2": "declined"}
    )  # not done/done/-
    signed = _patient(s2, days_ago=200, stratum="impending", treatment="sacroplasty")  # missed x 3
    _patient(s2, days_ago=40, stratum="pathological", treatment="sacroplasty", followups=(35,))  # missed/done/-
    PatientFactory(site=s2)  # no procedure at all
    admin = make_user("dm", Role.ADMIN)
    procedure_sign_off(user=admin, procedure=signed, password=PASSWORD)
    return s1, s2, signed


def _counts(**visits):
    return {key: dict(zip(COUNTS, visits[key], strict=True)) for key in ("week2", "month1", "month3")}


def independent_count(patients, today, *, stratum=None, treatment=None) -> dict:
    """The contract's counts in plain loops over the rows (dates, not days; no analysis code)."""
    result = {visit.key: dict.fromkeys(COUNTS, 0) for visit in SCHEDULE}
    for patient in patients:
        procedures = sorted(patient.procedures.all(), key=lambda p: (p.date, p.id))
        if not procedures:
            continue
        index = procedures[0]
        if (stratum and index.fracture_status != stratum) or (treatment and index.treatment != treatment):
            continue
        followups = [e.date for e in index.encounters.all() if e.kind == "followup"]
        not_done = {record.visit for record in index.visits_not_done.all()}
        ends = [patient.death_date, patient.status_date if patient.status != "active" else None]
        ended = min((day for day in ends if day), default=None)
        for visit in SCHEDULE:
            first = index.date + datetime.timedelta(days=visit.first_day)
            last = index.date + datetime.timedelta(days=visit.last_day)
            if first > today:
                continue
            done = any(first <= day <= last for day in followups)
            if not done and ended is not None and ended <= min(last, today):
                continue
            if done:
                outcome = "done"
            elif visit.key in not_done:
                outcome = "not_done"
            elif today <= last:
                outcome = "pending"
            else:
                outcome = "missed"
            result[visit.key]["expected"] += 1
            result[visit.key][outcome] += 1
    return result


def test_every_scope_counts_as_the_contract_and_as_an_independent_count(registry):
    s1, s2, _ = registry

    stats_refresh()

    today = timezone.localdate()
    patients = Patient.objects.prefetch_related("procedures__encounters", "procedures__visits_not_done")
    documents = {scope: snapshot_latest(site_id=scope.pk if scope else None).document for scope in (None, s1, s2)}
    assert documents[None]["completeness"] == _counts(
        week2=(7, 2, 1, 3, 1), month1=(5, 2, 1, 2, 0), month3=(2, 1, 0, 1, 0)
    )
    assert documents[s1]["completeness"] == _counts(
        week2=(4, 2, 0, 1, 1), month1=(2, 0, 1, 1, 0), month3=(1, 1, 0, 0, 0)
    )
    assert documents[s2]["completeness"] == _counts(
        week2=(3, 0, 1, 2, 0), month1=(3, 2, 0, 1, 0), month3=(1, 0, 0, 1, 0)
    )
    for scope, document in documents.items():
        rows = patients.filter(site=scope) if scope else patients.all()
        assert document["completeness"] == independent_count(rows, today)
        for stratum, data in document["strata"].items():
            for treatment, group in data["groups"].items():
                expected = independent_count(rows, today, stratum=stratum, treatment=treatment)
                assert group["completeness"] == expected, (scope, stratum, treatment)
        for visit in document["completeness"].values():
            assert visit["expected"] == visit["done"] + visit["not_done"] + visit["missed"] + visit["pending"]


def test_the_flow_counts_who_left_before_each_window_and_why_visits_were_not_done(registry):
    s1, s2, _ = registry

    stats_refresh()

    flow = snapshot_latest(site_id=None).document["followup_flow"]
    assert flow["index_procedures"] == 8
    assert flow["signed_off"] == 1
    week2, month1, month3 = (flow["visits"][key] for key in ("week2", "month1", "month3"))
    assert (week2["not_yet_open"], week2["died"], week2["withdrawn"], week2["lost"]) == (0, 0, 1, 0)
    assert (month1["not_yet_open"], month1["died"], month1["withdrawn"], month1["lost"]) == (1, 1, 1, 0)
    assert (month3["not_yet_open"], month3["died"], month3["withdrawn"], month3["lost"]) == (4, 1, 0, 1)
    assert week2["not_done_reasons"]["declined"] == 1
    assert month1["not_done_reasons"]["too_ill"] == 1
    assert snapshot_latest(site_id=s1.pk).document["followup_flow"]["signed_off"] == 0
    assert snapshot_latest(site_id=s2.pk).document["followup_flow"]["signed_off"] == 1


def test_a_visit_marked_not_done_moves_from_missed_to_not_done_at_the_next_refresh(registry):
    _, s2, procedure = registry
    stats_refresh()
    before = snapshot_latest(site_id=s2.pk).document["completeness"]["month3"]
    # A signed-off procedure is locked: the data manager unlocks it first.
    procedure_unlock(user=make_user("dm2", Role.ADMIN), procedure=procedure, reason="late visit not done")
    outcome_services.visit_not_done_create(user=None, procedure=procedure, visit="month3", reason="too_ill")

    stats_refresh()

    after = snapshot_latest(site_id=s2.pk).document["completeness"]["month3"]
    assert (before["missed"], before["not_done"]) == (1, 0)
    assert (after["missed"], after["not_done"], after["expected"]) == (0, 1, 1)

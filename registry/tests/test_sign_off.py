"""Record sign-off: registry admins only, with their password, after the 3-month window; a
signed-off procedure and every record hanging on it refuse changes until unlocked with a reason."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.writes import REASON_REQUIRED
from outcomes import schedule
from outcomes import services as outcome_services
from registry import services, sign_off
from registry.models import Procedure
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # registry.tests.factories.make_user
SIGNED_OFF = "This record is signed off as complete; a registry admin must unlock it first."


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def index(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(200))


def signed(index, personas):
    return sign_off.procedure_sign_off(user=personas["root"], procedure=index, password=PASSWORD)


def test_the_sign_off_waits_for_the_last_day_of_the_schedule():
    assert sign_off.SIGN_OFF_AFTER_DAYS == schedule.LAST_WINDOW_DAY


def test_an_admin_signs_off_an_index_procedure_with_her_password(index, personas):
    before = timezone.now()
    procedure = signed(index, personas)

    stored = Procedure.objects.get(pk=index.pk)
    assert stored.signed_off_by == personas["root"]
    assert before <= stored.signed_off_at <= timezone.now()
    assert stored.version == procedure.version == 2
    event = Procedure.pgh_event_models["update"].objects.filter(pgh_obj_id=index.pk, pgh_label="update").get()
    assert event.pgh_context.metadata["action"] == "sign off"
    assert event.pgh_context.metadata["username"] == "root"


def test_a_wrong_password_is_refused_naming_password(index, personas):
    with pytest.raises(ValidationError) as excinfo:
        sign_off.procedure_sign_off(user=personas["root"], procedure=index, password="guess")

    assert excinfo.value.message_dict == {"password": ["The password is not correct."]}
    assert Procedure.objects.get(pk=index.pk).signed_off_at is None


@pytest.mark.parametrize("name", ["alice", "ivy"])
def test_only_admins_sign_off(index, personas, name):
    with pytest.raises(PermissionDenied, match="Only a registry admin may sign off or unlock a record."):
        sign_off.procedure_sign_off(user=personas[name], procedure=index, password=PASSWORD)
    assert Procedure.objects.get(pk=index.pk).signed_off_at is None


def test_only_the_index_procedure_and_only_after_its_3_month_window(site_a, personas):
    patient = PatientFactory(site=site_a)
    recent = ProcedureFactory(patient=patient, date=days_ago(120))
    later = ProcedureFactory(patient=PatientFactory(site=site_a), date=days_ago(300))
    second = ProcedureFactory(patient=later.patient, date=days_ago(200), treatment="sacroplasty")

    with pytest.raises(ValidationError) as window_open:
        sign_off.procedure_sign_off(user=personas["root"], procedure=recent, password=PASSWORD)
    with pytest.raises(ValidationError) as not_index:
        sign_off.procedure_sign_off(user=personas["root"], procedure=second, password=PASSWORD)

    assert window_open.value.messages == [
        f"The 3-month window of this procedure has not closed yet: sign it off after {timezone.localdate():%Y-%m-%d}."
    ]
    assert not_index.value.messages == [
        "Only the patient's index (first) procedure is signed off, with its follow-ups."
    ]
    signed(later, personas)  # 121 days and more: fine
    with pytest.raises(ValidationError) as twice:
        signed(later, personas)
    assert twice.value.messages == ["This record is already signed off."]


def test_a_signed_off_record_refuses_every_change(index, personas):
    alice = personas["alice"]
    encounter = EncounterFactory(procedure=index, date=index.date + datetime.timedelta(days=30))
    secondary = outcome_services.secondary_procedure_create(
        user=alice, procedure=index, date=index.date + datetime.timedelta(days=60), kind="radiation"
    )
    complication = outcome_services.complication_create(
        user=alice, procedure=index, date=index.date + datetime.timedelta(days=61), kind="infection"
    )
    visit = outcome_services.visit_not_done_create(user=alice, procedure=index, visit="week2", reason="too_ill")
    signed(index, personas)
    why = "Correction"
    attempts = [
        lambda: services.procedure_update(
            user=alice, procedure=index, data={"service": "interventional_radiology"}, reason=why
        ),
        lambda: services.procedure_delete(user=alice, procedure=index, reason=why),
        lambda: services.patient_delete(user=alice, patient=index.patient, reason=why),
        lambda: EncounterFactory(procedure=index, date=index.date + datetime.timedelta(days=100)),
        lambda: outcome_services.encounter_update(user=alice, encounter=encounter, data={"msts_pain": 1}, reason=why),
        lambda: outcome_services.encounter_delete(user=alice, encounter=encounter, reason=why),
        lambda: outcome_services.secondary_procedure_create(
            user=alice, procedure=index, date=index.date + datetime.timedelta(days=90), kind="radiation"
        ),
        lambda: outcome_services.secondary_procedure_update(
            user=alice, secondary_procedure=secondary, data={"kind": "neurolysis"}, reason=why
        ),
        lambda: outcome_services.secondary_procedure_delete(user=alice, secondary_procedure=secondary, reason=why),
        lambda: outcome_services.complication_update(
            user=alice, complication=complication, data={"resolved": True}, reason=why
        ),
        lambda: outcome_services.complication_delete(user=alice, complication=complication, reason=why),
        lambda: outcome_services.visit_not_done_create(user=alice, procedure=index, visit="month3", reason="declined"),
        lambda: outcome_services.visit_not_done_update(
            user=alice, visit_not_done=visit, data={"reason": "declined"}, reason=why
        ),
        lambda: outcome_services.visit_not_done_delete(user=alice, visit_not_done=visit, reason=why),
    ]

    for attempt in attempts:
        with pytest.raises(ValidationError) as excinfo:
            attempt()
        assert excinfo.value.messages == [SIGNED_OFF]

    stored = Procedure.objects.get(pk=index.pk)
    assert (stored.service, stored.version) == ("orthopaedics", 2)
    assert stored.encounters.count() == 1
    assert stored.visits_not_done.get().reason == "too_ill"


def test_the_patient_itself_may_still_change(index, personas):
    signed(index, personas)

    services.patient_update(
        user=personas["alice"], patient=index.patient, data={"death_date": days_ago(10)}, reason="Died"
    )

    index.patient.refresh_from_db()
    assert index.patient.death_date == days_ago(10)


def test_an_admin_unlocks_with_a_reason_and_changes_are_accepted_again(index, personas):
    signed(index, personas)

    with pytest.raises(ValidationError) as no_reason:
        sign_off.procedure_unlock(user=personas["root"], procedure=index, reason="")
    with pytest.raises(PermissionDenied):
        sign_off.procedure_unlock(user=personas["alice"], procedure=index, reason="Please")
    sign_off.procedure_unlock(user=personas["root"], procedure=index, reason="A late follow-up came in")
    EncounterFactory(procedure=index, date=index.date + datetime.timedelta(days=100))

    assert no_reason.value.message_dict == {"change_reason": [REASON_REQUIRED]}
    stored = Procedure.objects.get(pk=index.pk)
    assert (stored.signed_off_at, stored.signed_off_by, stored.version) == (None, None, 3)
    event = Procedure.pgh_event_models["update"].objects.filter(pgh_obj_id=index.pk, pgh_label="update").last()
    assert (event.pgh_context.metadata["action"], event.pgh_context.metadata["reason"]) == (
        "unlock",
        "A late follow-up came in",
    )
    with pytest.raises(ValidationError) as not_signed:
        sign_off.procedure_unlock(user=personas["root"], procedure=index, reason="Again")
    assert not_signed.value.messages == ["This record is not signed off."]

"""Consistency between a procedure's visits (outcomes/consistency.py) and the records' own rules:
one follow-up a day, no empty follow-up, no "other" complication without a description (refused
by the services, the API and the pages alike); a second follow-up in one window of the schedule
(the pages ask to confirm it, the API accepts it); nothing dated after the patient's death (the
mirror of the patient form's rule, registry/tests/test_consistency.py)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.writes import NeedsConfirmation
from outcomes import services
from outcomes.consistency import EMPTY_FOLLOWUP
from outcomes.models import Complication, Encounter
from registry import services as registry_services
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

DAY0 = datetime.date(2024, 1, 10)
SCORES = {
    "msts_pain": 1,
    "msts_function": 2,
    "msts_emotional_acceptance": 3,
    "msts_supports": 4,
    "msts_walking": 5,
    "msts_gait": 0,
}
SAME_DAY = "This procedure already has a follow-up on 2024-02-09."
WINDOW_WARNING = (
    "Another follow-up of this procedure (2024-02-09) is already in the 1 month window (days 22-45 after the "
    "procedure): save a second one only if both visits took place."
)
OTHER_NEEDS_DESCRIPTION = "Describe the complication when its kind is 'other'."


def on(days: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=days)


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=DAY0)


@pytest.fixture
def month1(procedure):
    """A follow-up on day 30 (2024-02-09), in the 1-month window (days 22-45)."""
    return EncounterFactory(procedure=procedure, date=on(30), narcotic_change="stable")


def snapshot():
    return (list(Encounter.objects.order_by("pk").values()), list(Complication.objects.order_by("pk").values()))


def record(procedure, **fields):
    return services.encounter_record(
        user=None, procedure=procedure, **{"date": on(30), "kind": "followup", **SCORES, **fields}
    )


def refused(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- Two follow-ups on one day: refused ----------------------------------------------------------


def test_a_second_follow_up_on_the_same_day_is_refused(month1):
    before = snapshot()

    errors = refused(lambda: record(month1.procedure, confirm=True))

    assert errors == {"date": [SAME_DAY]}
    assert snapshot() == before


def test_moving_a_follow_up_onto_another_ones_day_is_refused(month1):
    other = record(month1.procedure, date=on(90))
    before = snapshot()

    errors = refused(
        lambda: services.encounter_update(
            user=None, encounter=other, data={"date": on(30)}, reason="Date typo", confirm=True
        )
    )

    assert errors == {"date": [SAME_DAY]}
    assert snapshot() == before


def test_a_follow_up_of_another_procedure_on_the_same_day_is_accepted(month1):
    other = ProcedureFactory(patient=PatientFactory(site=month1.procedure.patient.site), date=DAY0)

    record(other)

    assert Encounter.objects.filter(date=on(30)).count() == 2


def test_the_api_refuses_a_second_follow_up_on_the_same_day(personas, month1):
    before = snapshot()

    response = client_for(personas["alice"]).post(
        "/api/encounters/",
        {"procedure": month1.procedure_id, "date": "2024-02-09", "kind": "followup", "msts_pain": 3},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"date": [SAME_DAY]}
    assert snapshot() == before


# --- An empty follow-up: refused --------------------------------------------------------------------


def test_an_empty_follow_up_is_refused_naming_what_it_needs(procedure):
    errors = refused(lambda: services.encounter_record(user=None, procedure=procedure, date=on(30), kind="followup"))

    assert errors == {"__all__": [EMPTY_FOLLOWUP]}
    assert EMPTY_FOLLOWUP == (
        "A follow-up needs at least one MSTS domain score, the narcotic change or the opioid dose "
        "(msts_pain to msts_gait, narcotic_change, opioid_mme_per_day)."
    )
    assert Encounter.objects.count() == 0


@pytest.mark.parametrize(
    "fields", [{"msts_gait": 0}, {"narcotic_change": "increased"}, {"opioid_mme_per_day": 0}], ids=str
)
def test_one_score_or_the_narcotic_change_or_the_dose_is_enough(procedure, fields):
    services.encounter_record(user=None, procedure=procedure, date=on(30), kind="followup", **fields)

    assert Encounter.objects.count() == 1


def test_an_empty_baseline_is_still_accepted(procedure):
    services.encounter_record(user=None, procedure=procedure, date=DAY0, kind="baseline")

    assert Encounter.objects.get().kind == "baseline"


def test_emptying_a_follow_up_is_refused(month1):
    before = snapshot()
    emptied = {**dict.fromkeys(SCORES), "narcotic_change": None}

    errors = refused(lambda: services.encounter_update(user=None, encounter=month1, data=emptied, reason="Cleared"))

    assert errors == {"__all__": [EMPTY_FOLLOWUP]}
    assert snapshot() == before


def test_the_api_refuses_an_empty_follow_up(personas, procedure):
    response = client_for(personas["alice"]).post(
        "/api/encounters/", {"procedure": procedure.pk, "date": "2024-02-09", "kind": "followup"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [EMPTY_FOLLOWUP]}
    assert Encounter.objects.count() == 0


# --- Two follow-ups in one window: the pages ask, the API accepts -----------------------------------


def test_a_second_follow_up_in_one_window_asks_first(month1):
    before = snapshot()

    with pytest.raises(NeedsConfirmation) as caught:
        record(month1.procedure, date=on(40))

    assert caught.value.warnings == [WINDOW_WARNING]
    assert snapshot() == before


def test_confirmed_it_is_saved_and_the_audit_keeps_the_confirmation(month1):
    second = record(month1.procedure, date=on(40), confirm=True)

    insert = Encounter.pgh_event_models["insert"].objects.get(pgh_obj_id=second.pk, pgh_label="insert")
    assert insert.pgh_context.metadata["reason"] == f"Confirmed: {WINDOW_WARNING}"


def test_moving_a_follow_up_into_anothers_window_asks_first(month1):
    other = record(month1.procedure, date=on(90))

    with pytest.raises(NeedsConfirmation) as caught:
        services.encounter_update(user=None, encounter=other, data={"date": on(40)}, reason="Date typo")

    assert caught.value.warnings == [WINDOW_WARNING]
    assert Encounter.objects.get(pk=other.pk).date == on(90)


@pytest.mark.parametrize("days", [21, 50, 90], ids=["another window", "outside any window", "later window"])
def test_follow_ups_in_different_windows_or_outside_them_ask_nothing(month1, days):
    record(month1.procedure, date=on(days))

    assert Encounter.objects.count() == 2


def test_rescoring_a_confirmed_second_follow_up_asks_nothing_again(month1):
    second = record(month1.procedure, date=on(40), confirm=True)

    services.encounter_update(user=None, encounter=second, data={"msts_pain": 4}, reason="Rescored")

    assert Encounter.objects.get(pk=second.pk).msts_pain == 4


def test_editing_the_only_follow_up_of_a_window_asks_nothing(month1):
    services.encounter_update(user=None, encounter=month1, data={"date": on(35)}, reason="Date typo")

    assert Encounter.objects.get().date == on(35)


def test_the_api_accepts_a_second_follow_up_in_one_window(personas, month1):
    response = client_for(personas["alice"]).post(
        "/api/encounters/",
        {"procedure": month1.procedure_id, "date": "2024-02-19", "kind": "followup", "msts_pain": 3},
        format="json",
    )

    assert response.status_code == 201
    assert Encounter.objects.count() == 2


# --- A complication "other" needs a description -------------------------------------------------------


@pytest.mark.parametrize("description", ["", "   "], ids=["empty", "blank"])
def test_an_other_complication_without_a_description_is_refused(procedure, description):
    errors = refused(
        lambda: services.complication_create(
            user=None, procedure=procedure, date=on(5), kind="other", description=description
        )
    )

    assert errors == {"description": [OTHER_NEEDS_DESCRIPTION]}
    assert Complication.objects.count() == 0


def test_an_other_complication_with_a_description_or_a_named_kind_without_one_is_accepted(procedure):
    services.complication_create(user=None, procedure=procedure, date=on(5), kind="other", description="Wound pain")
    services.complication_create(user=None, procedure=procedure, date=on(6), kind="infection")

    assert Complication.objects.count() == 2


def test_changing_a_complication_to_other_without_a_description_is_refused(procedure):
    complication = services.complication_create(user=None, procedure=procedure, date=on(5), kind="infection")

    errors = refused(
        lambda: services.complication_update(
            user=None, complication=complication, data={"kind": "other"}, reason="Reclassified"
        )
    )

    assert errors == {"description": [OTHER_NEEDS_DESCRIPTION]}
    assert Complication.objects.get().kind == "infection"


def test_the_model_clean_refuses_it_too(procedure):
    complication = Complication(procedure=procedure, date=on(5), kind="other", description="")

    with pytest.raises(ValidationError) as caught:
        complication.full_clean()

    assert caught.value.message_dict == {"description": [OTHER_NEEDS_DESCRIPTION]}


def test_the_api_refuses_an_other_complication_without_a_description(personas, procedure):
    response = client_for(personas["alice"]).post(
        "/api/complications/", {"procedure": procedure.pk, "date": "2024-01-15", "kind": "other"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"description": [OTHER_NEEDS_DESCRIPTION]}
    assert Complication.objects.count() == 0


# --- Nothing after the death (the mirror of the patient form's rule) ----------------------------------


def test_the_api_refuses_a_follow_up_after_the_death(personas, procedure):
    registry_services.patient_update(user=None, patient=procedure.patient, data={"death_date": on(20)}, reason="Died")

    response = client_for(personas["alice"]).post(
        "/api/encounters/",
        {"procedure": procedure.pk, "date": "2024-02-09", "kind": "followup", "msts_pain": 3},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"date": ["The date cannot be after the patient's date of death (2024-01-30)."]}
    assert Encounter.objects.count() == 0


# --- The pages ---------------------------------------------------------------------------------------


def page_data(**changes):
    data = {"kind": "followup", "date": "2024-02-19", **{k: str(v) for k, v in SCORES.items()}}
    data.update({"narcotic_change": "decreased", "opioid_mme_per_day": ""})
    return {**data, **changes}


def test_the_follow_up_page_asks_about_a_second_visit_in_the_window_then_saves(client, personas, month1):
    client.force_login(personas["alice"])
    url = reverse("encounter_create", args=[month1.procedure_id])
    before = snapshot()

    response = client.post(url, page_data())

    assert response.status_code == 200
    assert response.context["form"].confirmation_warnings == [WINDOW_WARNING]
    assert 'name="confirm_warnings"' in response.content.decode()
    assert snapshot() == before

    response = client.post(url, page_data(confirm_warnings="1"))

    assert response.status_code == 302
    assert Encounter.objects.count() == 2


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"date": "2024-02-09"}, "date", SAME_DAY),
        ({**dict.fromkeys(SCORES, ""), "narcotic_change": "", "date": "2024-04-09"}, "__all__", EMPTY_FOLLOWUP),
    ],
    ids=["same day", "empty"],
)
def test_the_follow_up_page_refuses_the_same_day_and_an_empty_follow_up(
    client, personas, month1, changes, field, message
):
    client.force_login(personas["alice"])
    before = snapshot()

    response = client.post(reverse("encounter_create", args=[month1.procedure_id]), page_data(**changes))

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert snapshot() == before


def test_the_complication_page_refuses_other_without_a_description(client, personas, procedure):
    client.force_login(personas["alice"])

    response = client.post(
        reverse("event_create", kwargs={"kind": "complication", "procedure_pk": procedure.pk}),
        {"date": "2024-01-15", "kind": "other", "description": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["description"] == [OTHER_NEEDS_DESCRIPTION]
    assert Complication.objects.count() == 0

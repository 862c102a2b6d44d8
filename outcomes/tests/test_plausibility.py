"""Plausibility limits of encounters (contract: "Plausibility limits"): at most 5,000 MME/day is
refused everywhere; more than 1,000 MME/day and a follow-up more than 3 years after its procedure
make the pages ask "are you sure?" (the confirmation kept in the audit reason), the API accepts."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.writes import NeedsConfirmation
from outcomes import services
from outcomes.models import MSTS_FIELDS, Encounter
from outcomes.plausibility import years_after
from registry.tests.api_support import client_for
from registry.tests.factories import PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

PROCEDURE_DAY = datetime.date(2020, 3, 1)
MME_MAX = "Opioid dose cannot be more than 5,000 MME/day."
MME_1200 = "Opioid dose: 1,200.0 MME/day is more than 1,000 MME/day, an unusually high dose; check the value."
LATE = "Date: this follow-up is 1,096 days after its procedure (2020-03-01), more than 3 years; check the date."


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=PROCEDURE_DAY)


def followup(procedure, **overrides) -> dict:
    fields = {"procedure": procedure, "date": datetime.date(2020, 3, 31), "kind": "followup", "msts_pain": 3}
    return {**fields, **overrides}


def reason_of(pk, label) -> str | None:
    events = Encounter.pgh_event_models["insert"].objects.filter(pgh_obj_id=pk, pgh_label=label)
    event = events.latest("pgh_id")
    return event.pgh_context.metadata.get("reason") if event.pgh_context else None


def snapshot():
    return list(Encounter.objects.order_by("pk").values())


# --- Hard: at most 5,000 MME/day ---------------------------------------------------------------------


def test_more_than_5000_mme_is_refused_by_the_service(procedure):
    with pytest.raises(ValidationError) as refused:
        services.encounter_record(user=None, **followup(procedure, opioid_mme_per_day=Decimal("5000.1")), confirm=True)

    assert refused.value.message_dict == {"opioid_mme_per_day": [MME_MAX]}
    assert Encounter.objects.count() == 0
    at_max = services.encounter_record(user=None, **followup(procedure, opioid_mme_per_day=Decimal(5000)), confirm=True)
    assert at_max.opioid_mme_per_day == Decimal(5000)


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("5000.1", {"opioid_mme_per_day": [MME_MAX]}),
        (5001, {"opioid_mme_per_day": [MME_MAX]}),
        ("-1", {"opioid_mme_per_day": ["Ensure this value is greater than or equal to 0."]}),
    ],
)
def test_an_mme_outside_0_to_5000_is_a_400_in_the_api(personas, procedure, value, errors):
    body = {"procedure": procedure.pk, "date": "2020-03-31", "kind": "followup", "opioid_mme_per_day": value}

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Encounter.objects.count() == 0


def test_more_than_5000_mme_is_a_form_error(client, personas, procedure):
    client.force_login(personas["alice"])
    data = {"kind": "followup", "date": "2020-03-31", "msts_pain": "3", "opioid_mme_per_day": "5000.1"}

    response = client.post(reverse("encounter_create", args=[procedure.pk]), data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"opioid_mme_per_day": [MME_MAX]}
    assert Encounter.objects.count() == 0


# --- Soft: more than 1,000 MME/day ----------------------------------------------------------------


def test_more_than_1000_mme_needs_confirmation_in_the_service(procedure):
    with pytest.raises(NeedsConfirmation) as asked:
        services.encounter_record(user=None, **followup(procedure, opioid_mme_per_day=Decimal(1200)))
    assert Encounter.objects.count() == 0

    at_1000 = services.encounter_record(user=None, **followup(procedure, opioid_mme_per_day=Decimal(1000)))
    later = followup(procedure, date=datetime.date(2020, 6, 1), opioid_mme_per_day=Decimal(1200))
    confirmed = services.encounter_record(user=None, **later, confirm=True)

    assert asked.value.warnings == [MME_1200]
    assert reason_of(at_1000.pk, "insert") is None
    assert reason_of(confirmed.pk, "insert") == f"Confirmed: {MME_1200}"


def test_a_confirmed_dose_is_not_asked_again_when_a_score_changes(procedure):
    encounter = services.encounter_record(
        user=None, **followup(procedure, opioid_mme_per_day=Decimal(1200)), confirm=True
    )

    rescored = services.encounter_update(user=None, encounter=encounter, data={"msts_pain": 4}, reason="Typo")
    with pytest.raises(NeedsConfirmation) as asked:
        services.encounter_update(
            user=None, encounter=rescored, data={"opioid_mme_per_day": Decimal(1500)}, reason="Pharmacy list"
        )

    assert rescored.version == 2
    assert asked.value.warnings == [
        "Opioid dose: 1,500.0 MME/day is more than 1,000 MME/day, an unusually high dose; check the value."
    ]
    assert Encounter.objects.get().opioid_mme_per_day == Decimal(1200)


def test_the_api_accepts_more_than_1000_mme_and_keeps_it_in_the_audit_reason(personas, procedure):
    body = {"procedure": procedure.pk, "date": "2020-03-31", "kind": "followup", "opioid_mme_per_day": "1200"}

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 201
    assert response.json()["opioid_mme_per_day"] == "1200.0"
    assert reason_of(response.json()["id"], "insert") == f"Confirmed: {MME_1200}"


def test_the_encounter_page_asks_before_saving_more_than_1000_mme(client, personas, procedure):
    client.force_login(personas["alice"])
    url = reverse("encounter_create", args=[procedure.pk])
    scores = dict.fromkeys(MSTS_FIELDS, "3")  # all six: an incomplete score is a question of its own
    data = {"kind": "followup", "date": "2020-03-31", **scores, "opioid_mme_per_day": "1200"}

    asked = client.post(url, data)
    nothing = snapshot()
    saved = client.post(url, {**data, "confirm_warnings": "1"})

    assert asked.status_code == 200
    assert asked.context["form"].confirmation_warnings == [MME_1200]
    assert 'name="confirm_warnings"' in asked.content.decode()
    assert nothing == []
    assert saved.status_code == 302
    encounter = Encounter.objects.get()
    assert encounter.opioid_mme_per_day == Decimal(1200)
    assert reason_of(encounter.pk, "insert") == f"Confirmed: {MME_1200}"


# --- Soft: a follow-up more than 3 years after its procedure ------------------------------------------


def test_years_after_keeps_the_calendar_day():
    assert years_after(datetime.date(2020, 3, 1), 3) == datetime.date(2023, 3, 1)
    assert years_after(datetime.date(2020, 2, 29), 3) == datetime.date(2023, 2, 28)


def test_a_followup_more_than_3_years_after_needs_confirmation(procedure):
    with pytest.raises(NeedsConfirmation) as asked:
        services.encounter_record(user=None, **followup(procedure, date=datetime.date(2023, 3, 2)))
    assert Encounter.objects.count() == 0

    at_3_years = services.encounter_record(user=None, **followup(procedure, date=datetime.date(2023, 3, 1)))

    assert asked.value.warnings == [LATE]
    assert reason_of(at_3_years.pk, "insert") is None


def test_moving_a_followup_past_3_years_needs_confirmation(procedure):
    encounter = services.encounter_record(user=None, **followup(procedure))

    with pytest.raises(NeedsConfirmation) as asked:
        services.encounter_update(
            user=None, encounter=encounter, data={"date": datetime.date(2023, 3, 2)}, reason="Date typo"
        )
    moved = services.encounter_update(
        user=None, encounter=encounter, data={"date": datetime.date(2023, 3, 2)}, reason="Date typo", confirm=True
    )

    assert asked.value.warnings == [LATE]
    assert moved.date == datetime.date(2023, 3, 2)
    assert reason_of(encounter.pk, "update") == f"Date typo (Confirmed: {LATE})"


def test_the_api_accepts_a_late_followup(personas, procedure):
    body = {"procedure": procedure.pk, "date": "2023-03-02", "kind": "followup", "msts_pain": 2}

    response = client_for(personas["alice"]).post("/api/encounters/", body, format="json")

    assert response.status_code == 201
    assert reason_of(response.json()["id"], "insert") == f"Confirmed: {LATE}"

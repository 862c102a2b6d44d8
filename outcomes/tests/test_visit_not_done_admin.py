"""Visits not done in the admin (through the services, a reason for every change) and in the audit
history (/history/visit-not-done/<id>/, for those who may read the record)."""

import datetime

import pytest
from django.urls import reverse

from outcomes import services
from outcomes.models import VisitNotDone
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure(site_a):
    return ProcedureFactory(patient=PatientFactory(site=site_a), date=datetime.date(2023, 3, 1))


def test_the_admin_adds_through_the_service_and_shows_its_rule_beside_the_field(admin_client, procedure):
    EncounterFactory(procedure=procedure, date=datetime.date(2023, 3, 15))
    url = "/admin/outcomes/visitnotdone/add/"

    refused = admin_client.post(url, {"procedure": procedure.pk, "visit": "week2", "reason": "declined", "note": ""})
    saved = admin_client.post(url, {"procedure": procedure.pk, "visit": "month1", "reason": "declined", "note": ""})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "visit": ["A follow-up on 2023-03-15 already falls in this visit's window (2023-03-08 to 2023-03-22)."]
    }
    assert saved.status_code == 302
    record = VisitNotDone.objects.get()
    event = VisitNotDone.pgh_event_models["insert"].objects.get(pgh_obj_id=record.pk, pgh_label="insert")
    assert event.pgh_context.metadata["action"] == "visit_not_done_create"


def test_an_admin_change_needs_a_reason(admin_client, procedure):
    record = services.visit_not_done_create(user=None, procedure=procedure, visit="month3", reason="too_ill")
    url = f"/admin/outcomes/visitnotdone/{record.pk}/change/"
    data = {"procedure": procedure.pk, "visit": "month3", "reason": "declined", "note": "", "edited_version": 1}

    refused = admin_client.post(url, {**data, "change_reason": " "})
    saved = admin_client.post(url, {**data, "change_reason": "Misheard"})

    assert refused.status_code == 200
    assert "change_reason" in refused.context["adminform"].form.errors
    assert saved.status_code == 302
    record.refresh_from_db()
    assert (record.reason, record.version) == ("declined", 2)


def test_its_history_is_read_by_the_sites_staff_only(client, personas, procedure):
    record = services.visit_not_done_create(
        user=personas["alice"], procedure=procedure, visit="week2", reason="too_ill"
    )
    services.visit_not_done_update(
        user=personas["alice"], visit_not_done=record, data={"reason": "declined"}, reason="Misheard"
    )
    url = reverse("record_history", args=["visit-not-done", record.pk])

    client.force_login(personas["bob"])
    page = client.get(url)
    client.force_login(personas["charlie"])
    other_site = client.get(url)
    client.force_login(personas["ivy"])
    investigator = client.get(url)

    assert page.status_code == 200
    assert [(e["action"], e["reason"]) for e in page.context["entries"]] == [
        ("visit_not_done_create", ""),
        ("visit_not_done_update", "Misheard"),
    ]
    assert other_site.status_code == 404
    assert investigator.status_code == 403

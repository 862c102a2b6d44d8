"""No change to the registry is context-free. In a request, pghistory's middleware names the user
and the page of every event, bulk updates included; outside the application (a shell, a command,
raw SQL), the events of a transaction get a context naming the database role and client program
that made the change, so a reviewer sees who connected rather than nothing."""

import datetime

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import path

from registry import services
from registry.models import Patient
from tests.test_audit_cannot_be_rewritten import app_db, app_role, audited, run  # noqa: F401 (fixtures)

Update = Patient.pgh_event_models["update"]


def bulk_update_view(request):
    from django.http import HttpResponse

    Patient.objects.filter(site__code="SITEA").update(primary_cancer_detail="bulk", primary_cancer="other")
    return HttpResponse("done")


urlpatterns = [path("bulk/", bulk_update_view)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_bulk_update_in_a_request_names_the_user_and_the_page(client, personas, site_a):
    patient = services.patient_create(
        user=personas["alice"],
        site=site_a,
        mrn="MRN-BULK-1",
        birth_date=datetime.date(1960, 1, 2),
        sex="female",
        primary_cancer="breast",
    )
    client.force_login(personas["root"])

    assert client.post("/bulk/").status_code == 200

    event = Update.objects.get(pgh_obj=patient, pgh_label="update")
    assert event.primary_cancer_detail == "bulk"
    assert (event.pgh_context.metadata["user"], event.pgh_context.metadata["url"]) == (personas["root"].pk, "/bulk/")


def metadata_of_last_update(patient) -> dict:
    event = Update.objects.filter(pgh_obj=patient, pgh_label="update").order_by("pgh_id").last()
    assert event is not None and event.pgh_context is not None
    return event.pgh_context.metadata


@pytest.mark.django_db(transaction=True)
def test_a_bulk_update_outside_any_context_names_the_database_role_and_client(app_db, audited):  # noqa: F811
    with connection.cursor() as cursor:
        cursor.execute("SET application_name = 'a maintenance script'")
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    try:
        Patient.objects.filter(pk=audited.pk).update(sex="male")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET application_name")

    metadata = metadata_of_last_update(audited)
    assert (metadata["action"], metadata["db_role"], metadata["application_name"]) == (
        "unattributed",
        owner,
        "a maintenance script",
    )
    assert "user" not in metadata


@pytest.mark.django_db(transaction=True)
def test_raw_sql_of_the_app_role_without_context_names_the_app_role(app_db, app_role, audited):  # noqa: F811
    run(app_db, "SET application_name = 'psql'")
    with app_db.transaction():
        run(app_db, "UPDATE registry_patient SET sex = 'male' WHERE id = %s", [audited.pk])
        run(app_db, "UPDATE registry_patient SET sex = 'female' WHERE id = %s", [audited.pk])

    events = Update.objects.filter(pgh_obj=audited, pgh_label="update").order_by("pgh_id")
    assert len(events) == 2
    assert events[0].pgh_context_id == events[1].pgh_context_id  # one context for the transaction
    metadata = events[0].pgh_context.metadata
    assert (metadata["action"], metadata["db_role"], metadata["application_name"]) == (
        "unattributed",
        app_role[0],
        "psql",
    )

"""Each read or export of identified patient data leaves one append-only row: who, when, which
patient or export, from which address. De-identified reads (investigators) are not PHI access."""

import datetime

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from psycopg import sql

from registry.models import PhiAccess
from registry.tests.api_support import client_for
from registry.tests.factories import PatientFactory, ProcedureFactory
from tests.test_audit_cannot_be_rewritten import app_db, app_role, audited, run  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a, mrn="MRN-A-1", birth_date=datetime.date(1950, 1, 15))


def rows():
    return list(
        PhiAccess.objects.order_by("id").values_list(
            "username", "user_id", "action", "patient_id", "study_id", "what", "client_address"
        )
    )


def test_a_clinician_viewing_a_patient_page_leaves_one_row(client, personas, patient_a):
    alice = personas["alice"]
    client.force_login(alice)

    response = client.get(reverse("patient_detail", args=[patient_a.pk]), {"mrn": "MRN-A-1"}, REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    assert rows() == [
        (
            "alice",
            alice.pk,
            "view_patient",
            patient_a.pk,
            patient_a.study_id,
            f"/patients/{patient_a.pk}/",
            "10.1.2.3",
        )
    ]
    assert PhiAccess.objects.get().at is not None


def test_the_address_behind_the_proxy_is_the_one_the_proxy_added(client, personas, patient_a, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client.force_login(personas["alice"])

    client.get(
        reverse("patient_detail", args=[patient_a.pk]),
        HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7",
        REMOTE_ADDR="10.0.0.1",
    )

    assert PhiAccess.objects.get().client_address == "192.0.2.7"


def test_an_investigators_de_identified_page_leaves_no_row(client, personas, patient_a):
    client.force_login(personas["ivy"])

    response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    assert response.status_code == 200
    assert rows() == []


def test_a_refused_page_leaves_no_row(client, personas, patient_a):
    client.force_login(personas["charlie"])  # site B

    response = client.get(reverse("patient_detail", args=[patient_a.pk]))

    assert response.status_code == 404
    assert rows() == []


def test_the_history_page_leaves_one_row(client, personas, patient_a):
    client.force_login(personas["bob"])

    response = client.get(reverse("record_history", args=["patient", patient_a.pk]), REMOTE_ADDR="10.9.9.9")

    assert response.status_code == 200
    assert rows() == [
        (
            "bob",
            personas["bob"].pk,
            "view_history",
            patient_a.pk,
            patient_a.study_id,
            f"/history/patient/{patient_a.pk}/",
            "10.9.9.9",
        )
    ]


def test_the_history_of_a_procedure_names_its_patient(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))
    client.force_login(personas["alice"])

    client.get(reverse("record_history", args=["procedure", procedure.pk]))

    assert [(r[2], r[3], r[4]) for r in rows()] == [("view_history", patient_a.pk, patient_a.study_id)]


@pytest.mark.parametrize("export_format", ["csv", "json"])
def test_an_identified_export_leaves_one_row(personas, patient_a, export_format):
    ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1))
    client = client_for(personas["alice"])

    response = client.get(f"/api/exports/encounters.{export_format}", REMOTE_ADDR="10.4.4.4")
    b"".join(response.streaming_content)

    assert response.status_code == 200
    assert rows() == [
        ("alice", personas["alice"].pk, "export_identified", None, "", f"encounters.{export_format}", "10.4.4.4")
    ]


def test_a_de_identified_export_leaves_no_row(personas, patient_a):
    response = client_for(personas["alice"]).get("/api/exports/encounters-deidentified.csv")
    b"".join(response.streaming_content)

    assert response.status_code == 200
    assert rows() == []


def test_an_api_read_of_one_patient_leaves_one_row(personas, patient_a):
    response = client_for(personas["alice"]).get(f"/api/patients/{patient_a.pk}/", REMOTE_ADDR="10.5.5.5")

    assert response.status_code == 200
    assert rows() == [
        (
            "alice",
            personas["alice"].pk,
            "api_read",
            patient_a.pk,
            patient_a.study_id,
            f"/api/patients/{patient_a.pk}/",
            "10.5.5.5",
        )
    ]


def test_an_api_list_leaves_one_row_with_its_path_and_count_not_its_query(personas, patient_a, site_a):
    PatientFactory(site=site_a)

    response = client_for(personas["root"]).get(
        "/api/patients/", {"mrn": "MRN-A-1", "page_size": 10}, REMOTE_ADDR="10.6.6.6"
    )

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert rows() == [("root", personas["root"].pk, "api_read", None, "", "/api/patients/ (1 patients)", "10.6.6.6")]


def test_an_investigators_api_reads_leave_no_row(personas, patient_a):
    client = client_for(personas["ivy"])

    assert client.get("/api/patients/").status_code == 200
    assert client.get(f"/api/patients/{patient_a.pk}/").status_code == 200
    assert rows() == []


def test_a_refused_api_read_leaves_no_row(personas, patient_a):
    response = client_for(personas["charlie"]).get(f"/api/patients/{patient_a.pk}/")

    assert response.status_code == 404
    assert rows() == []


# --- the admin: read only ------------------------------------------------------------------------


@pytest.fixture
def logged(personas, patient_a, client):
    client.force_login(personas["alice"])
    client.get(reverse("patient_detail", args=[patient_a.pk]), REMOTE_ADDR="10.1.2.3")
    client.logout()
    return PhiAccess.objects.get()


def test_the_admin_lists_the_rows_with_filters(client, personas, logged, patient_a):
    client.force_login(personas["root"])

    response = client.get(reverse("admin:registry_phiaccess_changelist"), {"action__exact": "view_patient"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "alice" in page and patient_a.study_id in page and "10.1.2.3" in page
    assert reverse("admin:registry_phiaccess_add") not in page
    searched = client.get(reverse("admin:registry_phiaccess_changelist"), {"q": patient_a.study_id})
    assert searched.status_code == 200 and "10.1.2.3" in searched.content.decode()


def test_the_admin_cannot_add_change_or_delete_a_row(client, personas, logged):
    client.force_login(personas["root"])
    before = rows()

    assert client.get(reverse("admin:registry_phiaccess_add")).status_code == 403
    add = reverse("admin:registry_phiaccess_add")
    assert client.post(add, {"username": "x", "action": "api_read"}).status_code == 403
    change = reverse("admin:registry_phiaccess_change", args=[logged.pk])
    assert client.post(change, {"username": "mallory", "action": "api_read"}).status_code == 403
    delete = reverse("admin:registry_phiaccess_delete", args=[logged.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:registry_phiaccess_changelist"),
        {"action": "delete_selected", "_selected_action": [logged.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert rows() == before


# --- the application's database role may add rows, never change or remove one ---------------------

PHI_TABLE = PhiAccess._meta.db_table


def phi_rows() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT t::text FROM {} AS t ORDER BY id").format(sql.Identifier(PHI_TABLE)).as_string())
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_app_role_inserts_and_reads_rows_but_cannot_update_delete_or_truncate_them(app_db, personas):  # noqa: F811
    run(
        app_db,
        f"INSERT INTO {PHI_TABLE} (user_id, username, at, action, patient_id, study_id, what) "
        "VALUES (%s, 'alice', now(), 'view_patient', NULL, '', '/patients/1/')",
        [personas["alice"].pk],
    )
    assert run(app_db, f"SELECT count(*) FROM {PHI_TABLE}").fetchone()[0] == 1
    before = phi_rows()

    for statement in (
        f"UPDATE {PHI_TABLE} SET username = 'mallory'",
        f"DELETE FROM {PHI_TABLE}",
        f"TRUNCATE {PHI_TABLE}",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            run(app_db, statement)

    assert phi_rows() == before


@pytest.mark.django_db(transaction=True)
def test_the_guard_triggers_hold_on_the_log_even_if_someone_grants_too_much(app_db, app_role, personas):  # noqa: F811
    PhiAccess.objects.create(user=personas["alice"], username="alice", action="api_read", what="/api/patients/")
    before = phi_rows()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT UPDATE, DELETE, TRUNCATE ON {} TO {}")
            .format(sql.Identifier(PHI_TABLE), sql.Identifier(app_role[0]))
            .as_string(cursor.connection)
        )
    try:
        for statement in (
            f"UPDATE {PHI_TABLE} SET username = 'mallory'",
            f"DELETE FROM {PHI_TABLE}",
            f"TRUNCATE {PHI_TABLE}",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit trail"):
                run(app_db, statement)
    finally:
        call_command("grant_app_role", verbosity=0)

    assert phi_rows() == before

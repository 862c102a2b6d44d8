"""The application's own database role cannot change or remove the audit trail.

Web, worker and beat log in as a role that is not a superuser and owns nothing; the role that
migrates owns every table. The tests log in with the application's own credentials, as a
compromised process would, and try what a superuser could do: rewrite who and why in the
context table, delete it, switch pgtrigger's protections off with ``pgtrigger.ignore``, turn
all triggers off with ``session_replication_role``, truncate an event table, disable the triggers
of a clinical table. Each attempt fails and the audit rows stay exactly as they were.
"""

import datetime
import json
import os
import secrets
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from config import embedded_db
from core.management.commands.grant_app_role import DEFAULT_APP_ROLE
from registry import services
from registry.models import STUDY_ID_SEQUENCE, Patient

pytestmark = pytest.mark.django_db(transaction=True)

CONTEXT_TABLE = "pghistory_context"
EVENT_TABLE = Patient.pgh_event_models["insert"]._meta.db_table
CLINICAL_TABLE = Patient._meta.db_table
FORGED = json.dumps({"action": "patient_update", "user": 0, "username": "mallory", "reason": "forged"})


@pytest.fixture
def app_role(monkeypatch):
    """The application role's name and password, as the deployment gives them to grant_app_role
    (on the embedded server, the checkout's own password)."""
    if not os.environ.get("APP_DB_PASSWORD"):
        # The same for every test run of the checkout: runs on the same server share the role.
        monkeypatch.setenv("APP_DB_PASSWORD", embedded_db.app_role_password() or secrets.token_urlsafe(24))
    return os.environ.get("APP_DB_USER") or DEFAULT_APP_ROLE, os.environ["APP_DB_PASSWORD"]


@pytest.fixture
def audited(personas, site_a, app_role):
    """A patient created through the service (an insert event and its context), and the grants
    that every deployment applies after migrate."""
    patient = services.patient_create(
        user=personas["alice"],
        site=site_a,
        mrn="MRN-AUDIT-1",
        birth_date=datetime.date(1960, 1, 2),
        sex="female",
        primary_cancer="breast",
    )
    call_command("grant_app_role", verbosity=0)
    yield patient
    # The context function goes back to pghistory's own for the tests that follow in this database.
    from pghistory.models import Context

    Context.install_pgh_attach_context_func()


@pytest.fixture
def app_db(audited, app_role):
    """A connection to the test database with the application's own credentials."""
    user, password = app_role
    params = connection.settings_dict
    conn = psycopg.connect(
        dbname=params["NAME"],
        user=user,
        password=password,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    )
    yield conn
    conn.close()


def audit_rows() -> dict:
    """Every row of the event table and the context table, as text, read by the owner."""
    rows = {}
    with connection.cursor() as cursor:
        for table in (EVENT_TABLE, CONTEXT_TABLE):
            cursor.execute(
                sql.SQL("SELECT t::text FROM {} AS t ORDER BY t::text").format(sql.Identifier(table)).as_string()
            )
            rows[table] = [row[0] for row in cursor.fetchall()]
    return rows


def run(conn, statement: str, params=()):
    return conn.execute(statement, params)


def pgtrigger_ignore_all(conn, table: str) -> None:
    """What pgtrigger.ignore() sets: a transaction-local array of the trigger names to skip; here
    for the whole session and every trigger of the table."""
    names = [
        name
        for (name,) in run(
            conn, "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table]
        )
    ]
    run(conn, "SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + ",".join(names) + "}"])


def test_the_audit_rows_exist_before_the_attacks(audited):
    rows = audit_rows()
    assert len(rows[EVENT_TABLE]) == 1
    insert = Patient.pgh_event_models["insert"].objects.get()
    assert (insert.pgh_context.metadata["action"], insert.pgh_context.metadata["username"]) == (
        "patient_create",
        "alice",
    )


def test_1_rewriting_who_and_why_in_the_context_table_fails(app_db):
    before = audit_rows()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"UPDATE {CONTEXT_TABLE} SET metadata = %s::jsonb", [FORGED])

    assert audit_rows() == before


def test_2_deleting_the_context_table_rows_fails(app_db):
    before = audit_rows()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"DELETE FROM {CONTEXT_TABLE}")

    assert audit_rows() == before


def test_3_pgtrigger_ignore_does_not_open_the_event_table_to_updates_or_deletes(app_db):
    before = audit_rows()
    pgtrigger_ignore_all(app_db, EVENT_TABLE)

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"UPDATE {EVENT_TABLE} SET mrn = 'FORGED'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"DELETE FROM {EVENT_TABLE}")

    assert audit_rows() == before


def test_4_replica_mode_cannot_be_set_to_delete_events(app_db):
    before = audit_rows()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, "SET session_replication_role = replica")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"DELETE FROM {EVENT_TABLE}")

    assert audit_rows() == before


def test_5_truncating_an_event_table_fails(app_db):
    before = audit_rows()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"TRUNCATE {EVENT_TABLE}")

    assert audit_rows() == before


def test_6_disabling_the_triggers_of_a_clinical_table_fails(app_db):
    before = audit_rows()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"ALTER TABLE {CLINICAL_TABLE} DISABLE TRIGGER ALL")

    # The triggers still record changes.
    count = len(before[EVENT_TABLE])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CLINICAL_TABLE} SET sex = 'male'")
    assert len(audit_rows()[EVENT_TABLE]) == count + 1


def test_the_app_role_cannot_write_an_event_of_its_own_making(app_db):
    """A forged "delete" of the patient, attributed to alice's context."""
    before = audit_rows()
    columns = [
        name
        for (name,) in run(
            app_db,
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'pgh_id'",
            [EVENT_TABLE],
        )
    ]
    values = ["'delete'" if name == "pgh_label" else name for name in columns]

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(app_db, f"INSERT INTO {EVENT_TABLE} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {EVENT_TABLE}")

    assert audit_rows() == before


def test_pgtrigger_ignore_does_not_let_the_app_role_change_clinical_data_unaudited(app_db, audited):
    count = len(audit_rows()[EVENT_TABLE])
    pgtrigger_ignore_all(app_db, CLINICAL_TABLE)

    run(app_db, f"UPDATE {CLINICAL_TABLE} SET sex = 'male' WHERE id = %s", [audited.pk])

    assert len(audit_rows()[EVENT_TABLE]) == count + 1


def test_the_context_function_cannot_be_used_to_rewrite_an_earlier_context(app_db):
    """The upsert of pghistory's context function runs as the owner; called by the app role with
    the id of a context of an earlier transaction, it leaves that context as it was."""
    before = audit_rows()
    (context_id,) = run(app_db, f"SELECT id FROM {CONTEXT_TABLE}").fetchone()

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run(
            app_db,
            f"INSERT INTO {CONTEXT_TABLE} (id, metadata, created_at, updated_at) VALUES (%s, %s, now(), now())",
            [uuid.uuid4(), FORGED],
        )
    run(app_db, "SELECT set_config('pghistory.context_id', %s, false)", [str(context_id)])
    run(app_db, "SELECT set_config('pghistory.context_metadata', %s, false)", [FORGED])
    (returned,) = run(app_db, "SELECT _pgh_attach_context()").fetchone()

    assert returned != context_id
    rows = audit_rows()
    assert rows[EVENT_TABLE] == before[EVENT_TABLE]
    assert set(before[CONTEXT_TABLE]) <= set(rows[CONTEXT_TABLE])  # the earlier context is unchanged


def test_the_guard_triggers_hold_even_if_someone_grants_too_much(app_db, app_role):
    """Privileges are the first wall; the audit tables' own triggers (not pgtrigger's, so
    pgtrigger.ignore cannot switch them off) refuse every role but the owner."""
    before = audit_rows()
    user, _ = app_role
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT UPDATE, DELETE, TRUNCATE ON {}, {} TO {}")
            .format(sql.Identifier(EVENT_TABLE), sql.Identifier(CONTEXT_TABLE), sql.Identifier(user))
            .as_string(cursor.connection)
        )
    try:
        pgtrigger_ignore_all(app_db, EVENT_TABLE)
        for statement, params in [
            (f"UPDATE {CONTEXT_TABLE} SET metadata = %s::jsonb", [FORGED]),
            (f"DELETE FROM {CONTEXT_TABLE}", []),
            (f"UPDATE {EVENT_TABLE} SET mrn = 'FORGED'", []),
            (f"DELETE FROM {EVENT_TABLE}", []),
            (f"TRUNCATE {EVENT_TABLE}", []),
            (f"TRUNCATE {CONTEXT_TABLE}", []),
        ]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit trail"):
                run(app_db, statement, params)
    finally:
        call_command("grant_app_role", verbosity=0)  # takes the extra privileges back

    assert audit_rows() == before


def test_the_app_role_still_does_its_work_and_every_change_is_audited(app_db, audited):
    before = audit_rows()
    context_id = str(uuid.uuid4())
    metadata = json.dumps({"action": "patient_update", "user": 1, "username": "alice"})

    with app_db.transaction():
        run(app_db, "SELECT set_config('pghistory.context_id', %s, true)", [context_id])
        run(app_db, "SELECT set_config('pghistory.context_metadata', %s, true)", [metadata])
        run(app_db, f"UPDATE {CLINICAL_TABLE} SET sex = 'male' WHERE id = %s", [audited.pk])
        (study_number,) = run(app_db, "SELECT nextval(%s)", [STUDY_ID_SEQUENCE]).fetchone()

    assert study_number > 0
    rows = audit_rows()
    assert len(rows[EVENT_TABLE]) == len(before[EVENT_TABLE]) + 1
    assert len(rows[CONTEXT_TABLE]) == len(before[CONTEXT_TABLE]) + 1
    assert Patient.objects.get(pk=audited.pk).sex == "male"
    update = Patient.pgh_event_models["insert"].objects.get(pgh_label="update")
    assert (str(update.pgh_context_id), update.pgh_context.metadata["username"]) == (context_id, "alice")


def test_the_app_role_is_no_superuser_belongs_to_no_role_and_owns_nothing(audited, app_role):
    user, _ = app_role
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oid, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            [user],
        )
        oid, *flags = cursor.fetchone()
        assert flags == [False, False, False, False, False, True]
        cursor.execute("SELECT count(*) FROM pg_auth_members WHERE member = %s", [oid])
        assert cursor.fetchone()[0] == 0
        owned = {}
        for catalog, column in [
            ("pg_class", "relowner"),
            ("pg_proc", "proowner"),
            ("pg_namespace", "nspowner"),
            ("pg_type", "typowner"),
        ]:
            cursor.execute(f"SELECT count(*) FROM {catalog} WHERE {column} = %s", [oid])  # noqa: S608
            owned[catalog] = cursor.fetchone()[0]
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != user  # the tests themselves run as the owner
    assert owned == {"pg_class": 0, "pg_proc": 0, "pg_namespace": 0, "pg_type": 0}


WHO_AM_I = (
    "from django.db import connection; print('ROLE', connection.cursor().execute('SELECT current_user').fetchone()[0])"
)


def role_of(*args: str) -> str:
    env = {key: value for key, value in os.environ.items() if key not in (embedded_db.USER_VARIABLE, "DATABASE_URL")}
    process = subprocess.run(
        [sys.executable, *args], cwd=embedded_db.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("ROLE ")]
    assert lines, process.stdout[-2000:] + process.stderr[-2000:]
    return lines[-1].removeprefix("ROLE ")


def test_on_the_embedded_server_the_runtime_logs_in_as_the_app_role_and_the_commands_as_the_owner():
    """gunicorn's and Celery's entry points use the application role; manage.py the owner."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL names the database: the deployment gives each process its credentials")

    web = role_of("-c", f"import config.wsgi; {WHO_AM_I}")
    worker = role_of(
        "-c", f"from config.celery import app; app.conf.broker_url; import django; django.setup(); {WHO_AM_I}"
    )
    command = role_of("manage.py", "shell", "-c", WHO_AM_I)

    assert (web, worker, command) == (embedded_db.app_role_name(), embedded_db.app_role_name(), "postgres")

"""Gives the application's database role what web, worker and beat need, and no way to change the
audit trail. Run by the role that migrates and owns the tables, after every migrate (``make run``
and the compose file's ``migrate`` service do):

    APP_DB_USER=registry_app APP_DB_PASSWORD=... python manage.py grant_app_role

Idempotent. The role (APP_DB_USER, by default registry_app) is created when missing, with
APP_DB_PASSWORD, and kept a plain login: no superuser, no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS,
member of no role (so it cannot SET ROLE), owner of nothing (so it cannot ALTER, DROP or DISABLE
TRIGGER). It may read and write the clinical and framework tables and use their sequences; on the
audit trail (pghistory's context table and every event table of an audited model) it may only
read; on the PHI access log (``registry.PhiAccess``, which the application itself writes) it may
read and insert, never update or delete. The events are written by pghistory's event triggers,
whose functions run as the owner (SECURITY DEFINER, fixed search_path): a change the role makes
is recorded, but the role cannot write an event of its own making.

Privileges are the first wall. The second: triggers of the audit tables that refuse UPDATE, DELETE
and TRUNCATE to every role but the tables' owner. They are plain PL/pgSQL, not pgtrigger's, so
``pgtrigger.ignore`` does not switch them off; turning them off needs the owner (ALTER TABLE) or a
superuser (session_replication_role), which the application never is.

pgtrigger's ``_pgtrigger_should_ignore()``, which every pgtrigger trigger asks (pghistory's event
triggers and its append-only protections among them), answers no for the role: a change it makes
to a clinical table always leaves its event.

pghistory's ``_pgh_attach_context()`` upserts the context of each change (who, why) from session
variables anyone can set. It becomes SECURITY DEFINER, run as the owner, so the role needs no
write privilege on the context table; and it only updates a context written by the current
transaction: called with the id of an earlier context and other metadata, it writes a new context
for the events of this transaction and leaves the earlier one as it was. A change made with no
context at all (a shell, raw SQL) gets one too, marked ``unattributed``, naming the database role,
the client program (application_name) and address: no event is left without a "who".
"""

import os
import time

import pghistory.models
import pghistory.trigger
import pgtrigger
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from psycopg import sql

DEFAULT_APP_ROLE = "registry_app"
GUARD_FUNCTION = "audit_trail_guard"  # its triggers fire before pgtrigger's (by name)
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

GUARD_SQL = """
CREATE OR REPLACE FUNCTION {schema}.{guard}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    table_owner name := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID);
BEGIN
    -- The owner only, logged in as itself; on the context table, also the owner's own context
    -- function called by the application (SECURITY DEFINER: current_user is the owner).
    IF current_user = table_owner
       AND (session_user = table_owner OR (TG_OP = 'UPDATE' AND TG_ARGV[0] = 'context')) THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit trail cannot be changed: % on % refused for role %.',
        TG_OP, TG_TABLE_NAME, session_user
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

CONTEXT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION {schema}._pgh_attach_context() RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    _pgh_context_id uuid;
    _pgh_context_metadata jsonb;
    _written_at timestamptz;
    _written jsonb;
BEGIN
    BEGIN
        SELECT INTO _pgh_context_id current_setting('pghistory.context_id');
        SELECT INTO _pgh_context_metadata current_setting('pghistory.context_metadata');
    EXCEPTION WHEN OTHERS THEN
    END;
    IF _pgh_context_id IS NULL OR _pgh_context_metadata IS NULL THEN
        -- No context: a change made outside the services and requests (a shell, a command, raw
        -- SQL). Its events still name the database role and client program; one context per
        -- transaction.
        _pgh_context_id := md5('unattributed' || txid_current()::text || extract(epoch FROM now())::text)::uuid;
        _pgh_context_metadata := jsonb_build_object(
            'action', 'unattributed',
            'db_role', session_user::text,
            'application_name', current_setting('application_name', true),
            'client_address', host(inet_client_addr())
        );
    END IF;
    SELECT created_at, metadata INTO _written_at, _written FROM {context} WHERE id = _pgh_context_id;
    IF FOUND AND _written_at <> now() AND _written <> _pgh_context_metadata THEN
        -- Written by an earlier transaction: it stays as it was; the events of this one get a
        -- context of their own (one per transaction, updated while the transaction runs).
        _pgh_context_id := md5(_pgh_context_id::text || extract(epoch FROM now())::text)::uuid;
    END IF;
    INSERT INTO {context} (id, metadata, created_at, updated_at)
        VALUES (_pgh_context_id, _pgh_context_metadata, now(), now())
        ON CONFLICT (id) DO UPDATE
            SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
            WHERE {context}.metadata <> EXCLUDED.metadata AND {context}.created_at = now();
    RETURN _pgh_context_id;
END;
$$
"""


# pgtrigger's own function (its installation template, in the schema it names), but never for the role.
IGNORE_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION "public"._pgtrigger_should_ignore(trigger_name NAME) RETURNS BOOLEAN AS $$
    DECLARE
        _pgtrigger_ignore TEXT[];
        _result BOOLEAN;
    BEGIN
        IF session_user = {role} OR current_user = {role} THEN
            RETURN FALSE;
        END IF;
        BEGIN
            SELECT INTO _pgtrigger_ignore CURRENT_SETTING('pgtrigger.ignore');
            EXCEPTION WHEN OTHERS THEN
        END;
        IF _pgtrigger_ignore IS NOT NULL THEN
            SELECT trigger_name = ANY(_pgtrigger_ignore) INTO _result;
            RETURN _result;
        ELSE
            RETURN FALSE;
        END IF;
    END;
$$ LANGUAGE plpgsql
"""


def audit_tables() -> tuple[str, list[str]]:
    """pghistory's context table and the event tables of every audited model (new ones included)."""
    events = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and model._meta.managed and not model._meta.proxy
    }
    return pghistory.models.Context._meta.db_table, sorted(events)


def append_only_tables() -> list[str]:
    """Tables the application appends to but never changes: those of every model that says
    ``append_only = True`` (the PHI access log)."""
    return sorted(model._meta.db_table for model in apps.get_models() if getattr(model, "append_only", False))


def event_trigger_functions() -> list[str]:
    """The functions of pghistory's event triggers (pgtrigger names a trigger's function after it)."""
    return sorted(
        {
            trigger.get_pgid(model)
            for model, trigger in pgtrigger.registered()
            if isinstance(trigger, pghistory.trigger.Event)
        }
    )


class Command(BaseCommand):
    help = "Creates the application's database role if missing and grants it what it needs, audit trail read-only."

    def handle(self, *args, **options):
        role = os.environ.get("APP_DB_USER") or DEFAULT_APP_ROLE
        password = os.environ.get("APP_DB_PASSWORD") or ""
        context, events = audit_tables()
        existing = set(connection.introspection.table_names())
        if context not in existing or not {*events, *append_only_tables()} <= existing:
            raise CommandError("The audit tables are missing: run `python manage.py migrate` first.")
        with transaction.atomic(), connection.cursor() as cursor:
            self.cursor = cursor
            owner = self.one("SELECT current_user")
            if role == owner:
                raise CommandError(f"APP_DB_USER must not be {owner}, the role that migrates and owns the tables.")
            self.ensure_role(role, password)
            self.grant(role, context, events)
            self.guard(role, context, events)
        if options["verbosity"]:
            self.stdout.write(
                f"{role}: reads and writes the registry; reads the audit trail ({len(events)} event tables and "
                f"{context}), which only the triggers of its changes write and which it cannot change or remove."
            )

    # --- helpers ---------------------------------------------------------------------------

    def run(self, statement: str, *params, **named):
        composed = sql.SQL(statement).format(*params, **named)
        self.cursor.execute(composed.as_string(self.cursor.connection))

    def one(self, query: str, params=()):
        self.cursor.execute(query, params)
        row = self.cursor.fetchone()
        return row[0] if row else None

    # --- the role ----------------------------------------------------------------------------

    def ensure_role(self, role: str, password: str) -> None:
        name = sql.Identifier(role)
        # Roles belong to the whole server: a run of this command on another database of it (a
        # test database) may create or alter the role at the same moment; the loser tries again.
        for attempt in range(1, 6):
            try:
                with transaction.atomic():
                    self.create_or_alter_role(role, password)
                break
            except (IntegrityError, InternalError, ProgrammingError):
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
        # A member of another role could SET ROLE to it.
        self.cursor.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s",
            [role],
        )
        for (group,) in self.cursor.fetchall():
            self.run("REVOKE {} FROM {}", sql.Identifier(group), name)
        owned = self.one(
            "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
            " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
            " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
            " + (SELECT count(*) FROM pg_type WHERE typowner = r.oid)"
            " FROM pg_roles r WHERE r.rolname = %s",
            [role],
        )
        if owned:
            raise CommandError(
                f"The role {role} owns {owned} objects of this database: the owner could alter them and their "
                "triggers. Reassign them to the role that migrates (REASSIGN OWNED BY) and run this again."
            )

    def create_or_alter_role(self, role: str, password: str) -> None:
        name = sql.Identifier(role)
        exists = self.one(
            "SELECT NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls) AND rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        if exists is None:
            if not password:
                raise CommandError(f"The role {role} does not exist: set APP_DB_PASSWORD to create it.")
            self.run("CREATE ROLE {} " + ROLE_ATTRIBUTES + " PASSWORD {}", name, sql.Literal(password))
        elif password or not exists:
            extra = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
            self.run("ALTER ROLE {} " + ROLE_ATTRIBUTES + "{}", name, extra)

    # --- privileges --------------------------------------------------------------------------

    def grant(self, role: str, context: str, events: list[str]) -> None:
        name, schema = sql.Identifier(role), sql.Identifier(self.one("SELECT current_schema()"))
        self.run("GRANT CONNECT ON DATABASE {} TO {}", sql.Identifier(connection.settings_dict["NAME"]), name)
        self.run("REVOKE CREATE ON SCHEMA {} FROM PUBLIC", schema)
        self.run("GRANT USAGE ON SCHEMA {} TO {}", schema, name)
        # From nothing, every time: a privilege granted by hand does not outlive the next run.
        self.run("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}", schema, name)
        self.run("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}", schema, name)
        self.run("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}", schema, name)
        self.run("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}", schema, name)
        self.run("REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {}", name)
        # The event triggers and the context function write the audit tables as the owner.
        for table in [context, *events]:
            self.run("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}", sql.Identifier(table), name)
        for table in append_only_tables():
            self.run("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}", sql.Identifier(table), name)
        # Tables of later migrations: readable and appendable until this command runs again.
        self.run("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT, INSERT ON TABLES TO {}", schema, name)
        self.run("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}", schema, name)

    # --- the audit tables' own triggers and the context function -----------------------------

    def guard(self, role: str, context: str, events: list[str]) -> None:
        schema = sql.Identifier(self.one("SELECT current_schema()"))
        guard = sql.Identifier(GUARD_FUNCTION)
        self.run(GUARD_SQL, schema=schema, guard=guard)
        protected = [(context, "context"), *((table, "events") for table in [*events, *append_only_tables()])]
        for table, kind in protected:
            target = sql.SQL("{}.{}").format(schema, sql.Identifier(table))
            self.run(
                "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}.{}({})",
                sql.Identifier(f"{GUARD_FUNCTION}_row"),
                target,
                schema,
                guard,
                sql.Literal(kind),
            )
            self.run(
                "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}.{}({})",
                sql.Identifier(f"{GUARD_FUNCTION}_truncate"),
                target,
                schema,
                guard,
                sql.Literal(kind),
            )
        for function in event_trigger_functions():
            target = sql.SQL("{}.{}").format(schema, sql.Identifier(function))
            if self.one("SELECT to_regprocedure(%s) IS NOT NULL", [f"{target.as_string(self.cursor.connection)}()"]):
                self.run("ALTER FUNCTION {}() SECURITY DEFINER SET search_path = {}, pg_temp", target, schema)
        if self.one("SELECT to_regprocedure('public._pgtrigger_should_ignore(name)') IS NOT NULL"):
            self.run(IGNORE_FUNCTION_SQL, role=sql.Literal(role))
        self.run(CONTEXT_FUNCTION_SQL, schema=schema, context=sql.SQL("{}.{}").format(schema, sql.Identifier(context)))
        self.run("REVOKE EXECUTE ON FUNCTION {}._pgh_attach_context() FROM PUBLIC", schema)
        self.run("GRANT EXECUTE ON FUNCTION {}._pgh_attach_context() TO {}", schema, sql.Identifier(role))

"""The follow-up windows' triggers (analysis migration 0004) under the conditions of production: two
transactions writing one procedure's follow-ups at once, and the application's own database role
(grant_app_role), which writes the windows only through the triggers of its changes."""

import threading

import psycopg
import pytest
from django.db import connection

from analysis.tests.test_followup_windows import MONTH1, MONTH3, WEEK2, assert_kept, day
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory
from tests.test_audit_cannot_be_rewritten import app_db, app_role, audited  # noqa: F401 fixtures

pytestmark = pytest.mark.django_db(transaction=True)

INSERT_FOLLOWUP = (
    "INSERT INTO outcomes_encounter (version, created_at, updated_at, procedure_id, date, kind) "
    "VALUES (1, now(), now(), %s, %s, 'followup')"
)


def connect(**extra) -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        dbname=params["NAME"],
        user=extra.pop("user", params.get("USER") or None),
        password=extra.pop("password", params.get("PASSWORD") or None),
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        **extra,
    )


def test_two_transactions_adding_follow_ups_to_one_procedure_take_turns(site_a):
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=day(0))
    first, second = connect(), connect()
    try:
        first.execute(INSERT_FOLLOWUP, [procedure.pk, day(14)])  # its transaction stays open
        errors = []

        def add_second():
            try:
                second.execute(INSERT_FOLLOWUP, [procedure.pk, day(30)])
                second.commit()
            except Exception as exc:  # noqa: BLE001 reported below
                errors.append(exc)

        waiting = threading.Thread(target=add_second)
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive(), "the second transaction should wait for the first one's procedure"
        first.commit()
        waiting.join(timeout=30)
        assert not waiting.is_alive() and errors == []
    finally:
        first.close()
        second.close()

    # The second transaction recomputed after the first had committed: both windows are there.
    assert_kept({procedure.pk: WEEK2 | MONTH1})


def test_the_application_role_keeps_the_windows_through_its_changes(app_db, site_a):  # noqa: F811
    procedure = ProcedureFactory(patient=PatientFactory(site=site_a), date=day(0))
    EncounterFactory(procedure=procedure, date=day(14))
    assert_kept({procedure.pk: WEEK2})

    app_db.execute(INSERT_FOLLOWUP, [procedure.pk, day(100)])
    assert_kept({procedure.pk: WEEK2 | MONTH3})
    app_db.execute("UPDATE registry_procedure SET date = %s WHERE id = %s", [day(-10), procedure.pk])
    assert_kept({procedure.pk: MONTH1 | MONTH3})
    app_db.execute("DELETE FROM outcomes_encounter WHERE procedure_id = %s AND date = %s", [procedure.pk, day(14)])
    assert_kept({procedure.pk: MONTH3})

"""A backup restores into an empty database with every row, the audit trail and the study id sequence."""

import datetime
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from registry.tests.factories import EncounterFactory


def _scratch_db(name: str, *, create: bool):
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"],
        password=params.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def _query(name: str, sql: str):
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"],
        password=params.get("PASSWORD") or None,
        dbname=name,
    ) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(tmp_path):
    encounter = EncounterFactory(date=datetime.date(2023, 4, 1))
    target = f"{connection.settings_dict['NAME']}_restored"
    dump = tmp_path / "registry.dump"
    _scratch_db(target, create=True)
    try:
        out = StringIO()
        call_command("backup_registry", str(dump), stdout=out)
        call_command("restore_registry", str(dump), "--database-name", target, stdout=StringIO())

        assert out.getvalue().startswith(f"Backup written to {dump} (")
        assert _query(target, "SELECT study_id, mrn FROM registry_patient") == [
            (encounter.procedure.patient.study_id, encounter.procedure.patient.mrn)
        ]
        assert _query(target, "SELECT msts_total FROM outcomes_encounter") == [(18,)]
        assert _query(target, "SELECT count(*) FROM outcomes_encounterevent") == [(1,)]
        seq = _query(target, "SELECT last_value FROM registry_study_number_seq")[0][0]
        assert f"SAC-{seq:05d}" == encounter.procedure.patient.study_id
    finally:
        _scratch_db(target, create=False)


@pytest.mark.django_db(transaction=True)
def test_a_restore_into_a_database_in_use_fails_and_changes_nothing(tmp_path):
    EncounterFactory()
    dump = tmp_path / "registry.dump"
    call_command("backup_registry", str(dump), stdout=StringIO())

    with pytest.raises(Exception, match="pg_restore failed"):
        call_command("restore_registry", str(dump), stdout=StringIO())

    assert _query(connection.settings_dict["NAME"], "SELECT count(*) FROM registry_patient") == [(1,)]

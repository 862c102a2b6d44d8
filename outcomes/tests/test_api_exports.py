import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from outcomes import exports
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(site_a, site_b):
    """Site A: a 91-year-old with a baseline and a follow-up and a later procedure; site B: one encounter."""
    old = PatientFactory(
        site=site_a, mrn="A-OLD", birth_date=datetime.date(1932, 1, 1), death_date=datetime.date(2023, 12, 1)
    )
    index = ProcedureFactory(patient=old, date=datetime.date(2023, 3, 1))
    EncounterFactory(procedure=index, kind="baseline", date=datetime.date(2023, 2, 27), msts_gait=None)
    EncounterFactory(procedure=index, kind="followup", date=datetime.date(2023, 3, 31))
    later = ProcedureFactory(patient=old, date=datetime.date(2023, 6, 1), treatment="sacroplasty")
    EncounterFactory(procedure=later, kind="followup", date=datetime.date(2023, 6, 11))
    other = PatientFactory(site=site_b, mrn="B-1", birth_date=datetime.date(1960, 5, 17))
    EncounterFactory(procedure=ProcedureFactory(patient=other, date=datetime.date(2023, 3, 1)))
    return old, other


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def read_json(response) -> list[dict]:
    return json.loads(b"".join(response.streaming_content))


def test_it_streams_the_identified_csv_of_the_clinicians_sites(personas, cohort):
    old, _ = cohort

    response = client_for(personas["alice"]).get("/api/exports/encounters.csv")

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="encounters.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == exports.IDENTIFIED_COLUMNS
    assert [(r["study_id"], r["mrn"], r["kind"], r["days_from_index"]) for r in rows] == [
        (old.study_id, "A-OLD", "baseline", "-2"),
        (old.study_id, "A-OLD", "followup", "30"),
        (old.study_id, "A-OLD", "followup", "102"),
    ]
    first = rows[0]
    assert (first["birth_date"], first["age_at_index"], first["is_index_procedure"]) == ("1932-01-01", "90+", "true")
    assert (first["msts_total"], first["msts_percent"], first["screw_count"]) == ("", "", "1")
    assert (rows[1]["msts_total"], rows[1]["msts_percent"]) == ("18", "60.0")
    later = (rows[2]["treatment"], rows[2]["is_index_procedure"], rows[2]["screw_count"])
    assert later == ("sacroplasty", "false", "0")


def test_it_exports_every_site_to_an_admin_as_json(personas, cohort):
    response = client_for(personas["root"]).get("/api/exports/encounters.json")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/json"
    rows = read_json(response)
    assert len(rows) == 4
    assert {r["mrn"] for r in rows} == {"A-OLD", "B-1"}
    assert rows[0]["indications"] == []
    assert rows[0]["encounter_date"] == "2023-02-27"


def test_it_refuses_the_identified_export_to_investigators(personas, cohort):
    for url in ("/api/exports/encounters.csv", "/api/exports/encounters.json"):
        response = client_for(personas["ivy"]).get(url)

        assert response.status_code == 403
        assert response.json() == {"detail": "Investigators may use only the de-identified export."}


def test_it_refuses_exports_without_credentials(cohort):
    response = client_for().get("/api/exports/encounters-deidentified.csv")

    assert response.status_code == 401


@pytest.mark.parametrize("export_format", ["csv", "json"])
def test_it_de_identifies_the_investigator_export(personas, cohort, export_format):
    old, other = cohort

    response = client_for(personas["ivy"]).get(f"/api/exports/encounters-deidentified.{export_format}")

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    rows = read_csv(response) if export_format == "csv" else read_json(response)
    assert list(rows[0]) == exports.DEIDENTIFIED_COLUMNS
    assert not {"mrn", "birth_date", "death_date", "primary_cancer_detail", "encounter_date", "procedure_date"} & set(
        rows[0]
    )
    raw = json.dumps(rows)
    for identifier in ("A-OLD", "B-1", "1932-01-01", "2023-", "1960-05-17"):
        assert identifier not in raw
    by_patient = [r for r in rows if r["study_id"] == old.study_id]
    as_text = [{k: str(v) for k, v in r.items()} for r in by_patient]
    assert [(r["encounter_day"], r["procedure_day"], r["age_at_index"], r["death_day"]) for r in as_text] == [
        ("-2", "0", "90+", "275"),
        ("30", "0", "90+", "275"),
        ("102", "92", "90+", "275"),
    ]
    assert len(rows) == 4


def test_it_scopes_the_de_identified_export_of_a_clinician(personas, cohort):
    _, other = cohort

    rows = read_csv(client_for(personas["charlie"]).get("/api/exports/encounters-deidentified.csv"))

    assert [r["study_id"] for r in rows] == [other.study_id]
    assert rows[0]["age_at_index"] == "62"


def test_it_reads_the_rows_with_a_server_side_cursor(personas, cohort, monkeypatch):
    chunk_sizes = []
    original = type(exports.export_queryset(exports.Encounter.objects.all())).iterator

    def spy(self, chunk_size=None):
        chunk_sizes.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(exports.export_queryset(exports.Encounter.objects.all())), "iterator", spy)

    rows = read_csv(client_for(personas["root"]).get("/api/exports/encounters.csv"))

    assert len(rows) == 4
    assert chunk_sizes == [exports.CHUNK_SIZE]


def _screw(corridor, trajectory, side, diameter, fully_threaded):
    return {
        "corridor": corridor,
        "trajectory": trajectory,
        "side": side,
        "diameter_mm": Decimal(diameter),
        "fully_threaded": fully_threaded,
    }


S1_LEFT = _screw("S1", "transsacral", "left", "7.3", True)
S2_RIGHT = _screw("S2", "iliosacral", "right", "6.5", False)
TWO_SCREWS = "S1/transsacral/left/7.3/true;S2/iliosacral/right/6.5/false"


@pytest.fixture
def screwed(site_a):
    """A PSFS procedure with two screws and two encounters, a later sacroplasty, and a patient whose
    screws were recorded S2 first (the column follows the order of recording, not the corridors)."""
    patient = PatientFactory(site=site_a, mrn="SCR-1")
    psfs = ProcedureFactory(patient=patient, date=datetime.date(2023, 3, 1), screws=[S1_LEFT, S2_RIGHT])
    EncounterFactory(procedure=psfs, kind="baseline")
    EncounterFactory(procedure=psfs, kind="followup")
    later = ProcedureFactory(patient=patient, date=datetime.date(2023, 6, 1), treatment="sacroplasty")
    EncounterFactory(procedure=later, kind="followup")
    reversed_patient = PatientFactory(site=site_a, mrn="SCR-2")
    EncounterFactory(procedure=ProcedureFactory(patient=reversed_patient, screws=[S2_RIGHT, S1_LEFT]))
    return patient, reversed_patient


def _screws_by_patient(rows):
    return [(r["study_id"], r["treatment"], r["screw_count"], r["screws"]) for r in rows]


@pytest.mark.parametrize("export_format", ["csv", "json"])
def test_the_identified_export_lists_each_procedures_screws_in_the_order_recorded(personas, screwed, export_format):
    patient, reversed_patient = screwed

    response = client_for(personas["alice"]).get(f"/api/exports/encounters.{export_format}")

    assert response.status_code == 200
    rows = read_csv(response) if export_format == "csv" else read_json(response)
    assert list(rows[0]) == exports.IDENTIFIED_COLUMNS
    count = (lambda n: str(n)) if export_format == "csv" else (lambda n: n)
    assert _screws_by_patient(rows) == [
        (patient.study_id, "psfs", count(2), TWO_SCREWS),
        (patient.study_id, "psfs", count(2), TWO_SCREWS),
        (patient.study_id, "sacroplasty", count(0), ""),
        (reversed_patient.study_id, "psfs", count(2), "S2/iliosacral/right/6.5/false;S1/transsacral/left/7.3/true"),
    ]


@pytest.mark.parametrize("export_format", ["csv", "json"])
def test_the_de_identified_export_carries_the_screws_and_no_phi(personas, screwed, export_format):
    patient, _ = screwed

    response = client_for(personas["ivy"]).get(f"/api/exports/encounters-deidentified.{export_format}")

    assert response.status_code == 200
    rows = read_csv(response) if export_format == "csv" else read_json(response)
    assert list(rows[0]) == exports.DEIDENTIFIED_COLUMNS
    mine = [r["screws"] for r in rows if r["study_id"] == patient.study_id]
    assert mine == [TWO_SCREWS, TWO_SCREWS, ""]
    raw = json.dumps(rows)
    for identifier in ("SCR-1", "SCR-2", "1960-05-17", "2023-"):
        assert identifier not in raw


def test_the_screws_cost_no_query_per_row(personas, site_a):
    client = client_for(personas["root"])

    def export_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            rows = read_csv(client.get("/api/exports/encounters.csv"))
        return len(rows), len(queries)

    patient = PatientFactory(site=site_a)
    EncounterFactory(procedure=ProcedureFactory(patient=patient, screws=[S1_LEFT]))
    small = export_queries()
    for _ in range(5):
        many = ProcedureFactory(patient=PatientFactory(site=site_a), screws=[S1_LEFT, S2_RIGHT, S1_LEFT])
        EncounterFactory(procedure=many, kind="baseline")
        EncounterFactory(procedure=many, kind="followup")
    large = export_queries()

    assert (small[0], large[0]) == (1, 11)
    assert small[1] == large[1]


def test_the_schema_describes_the_screws_column(client, personas):
    client.force_login(personas["ivy"])
    paths = client.get("/api/schema/?format=json").json()["paths"]

    for path in ("/api/exports/encounters.csv", "/api/exports/encounters-deidentified.json"):
        description = paths[path]["get"]["description"]
        assert ", screw_count, screws, encounter_id, " in description, path
        assert "'S1/transsacral/left/7.3/true'" in description, path

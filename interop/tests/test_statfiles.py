"""The Stata and SPSS encounter exports read back with pyreadstat, value by value against the CSV
export of the same data; their rights, the PHI access log, and the codebook."""

import csv
import datetime
import io
import math
import re
from decimal import Decimal

import pyreadstat
import pytest
from django.http import FileResponse

from core.csv_safe import looks_like_formula
from interop.codebook import BOOLEAN, CODE_LIST, CODED, DATE, DECIMAL, STRING, VARIABLES, codebook, layout
from outcomes.exports import DEIDENTIFIED_COLUMNS, IDENTIFIED_COLUMNS
from outcomes.models import EncounterKind, NarcoticChange
from registry.choices import Ablation, Approach, FractureStatus, PrimaryCancer, Service, Sex, Treatment
from registry.models import PhiAccess
from registry.tests.api_support import client_for
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

READERS = {"dta": pyreadstat.read_dta, "sav": pyreadstat.read_sav}
MAGIC = {"dta": b"<stata_dta><header><release>119</release>", "sav": b"$FL2"}
MEDIA_TYPES = {"dta": "application/x-stata-dta", "sav": "application/x-spss-sav"}
# The labels of each coded column, straight from the vocabulary.
CHOICES = {
    "sex": Sex,
    "primary_cancer": PrimaryCancer,
    "treatment": Treatment,
    "fracture_status": FractureStatus,
    "ablation": Ablation,
    "service": Service,
    "approach": Approach,
    "kind": EncounterKind,
    "narcotic_change": NarcoticChange,
}


@pytest.fixture
def cohort(site_a, site_b):
    """Site A: a dead 91-year-old with two procedures, every coded column filled, a formula-like MRN and
    free text; site B: a patient with one default encounter."""
    old = PatientFactory(
        site=site_a,
        mrn="=A-OLD",
        sex="male",
        primary_cancer="renal",
        primary_cancer_detail='@clear cell, "stage IV"; é',
        birth_date=datetime.date(1932, 1, 1),
        death_date=datetime.date(2023, 12, 1),
    )
    index = ProcedureFactory(
        patient=old,
        date=datetime.date(2023, 3, 1),
        ablation="rfa",
        prior_local_radiation=True,
        service="interventional_radiology",
        cement_volume_ml=Decimal("7.5"),
        approach="transiliac",
        indications=["destructive_lesion", "mechanical_pain"],
    )
    EncounterFactory(procedure=index, kind="baseline", date=datetime.date(2023, 2, 27), msts_gait=None)
    EncounterFactory(
        procedure=index,
        kind="followup",
        date=datetime.date(2023, 3, 31),
        narcotic_change="decreased",
        opioid_mme_per_day=Decimal("15.5"),
    )
    later = ProcedureFactory(
        patient=old, date=datetime.date(2023, 6, 1), treatment="sacroplasty", fracture_status="impending"
    )
    EncounterFactory(procedure=later, kind="followup", date=datetime.date(2023, 6, 11), narcotic_change="increased")
    other = PatientFactory(site=site_b, mrn="B-1", birth_date=datetime.date(1960, 5, 17))
    EncounterFactory(procedure=ProcedureFactory(patient=other, date=datetime.date(2023, 3, 1)))
    return old, other


def read_file(response, file_format, tmp_path):
    assert isinstance(response, FileResponse)
    content = b"".join(response.streaming_content)
    assert content.startswith(MAGIC[file_format])
    path = tmp_path / f"export.{file_format}"
    path.write_bytes(content)
    return READERS[file_format](str(path), apply_value_formats=False)


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def unquoted(cell: str) -> str:
    """The CSV cell without the quote that keeps a spreadsheet from running it as a formula."""
    return cell[1:] if cell.startswith("'") and looks_like_formula(cell[1:]) else cell


def missing(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def assert_same_value(name: str, cell: str, value, value_labels: dict):
    """One value of the file against the CSV cell of the same row and column."""
    variable, text = VARIABLES[name], unquoted(cell)
    if variable.type in (STRING, CODE_LIST):
        assert value == text, name
    elif text == "":
        assert missing(value), name
    elif variable.type == DATE:
        assert value == datetime.date.fromisoformat(text), name
    elif variable.type == BOOLEAN:
        assert (value, value_labels[name][value]) == (
            {"false": 0, "true": 1}[text],
            {"false": "no", "true": "yes"}[text],
        )
    elif variable.type == CODED:
        assert value_labels[name][value] == CHOICES[name](text).label, name
    elif text == "90+":
        assert (value, value_labels[name][value]) == (90, "90 or older")
    elif variable.type == DECIMAL:
        assert value == float(text), name
    else:
        assert value == int(text), name


@pytest.mark.parametrize("file_format", ["dta", "sav"])
@pytest.mark.parametrize("deidentified", [False, True])
def test_the_file_holds_the_csv_values_with_labels(personas, cohort, tmp_path, file_format, deidentified):
    suffix = "-deidentified" if deidentified else ""
    client = client_for(personas["root"])

    response = client.get(f"/api/exports/encounters{suffix}.{file_format}")

    assert response.status_code == 200
    assert response["Content-Type"] == MEDIA_TYPES[file_format]
    assert response["Content-Disposition"] == f'attachment; filename="encounters{suffix}.{file_format}"'
    assert response["Cache-Control"] == "no-store"
    frame, meta = read_file(response, file_format, tmp_path)
    rows = read_csv(client.get(f"/api/exports/encounters{suffix}.csv"))
    columns = DEIDENTIFIED_COLUMNS if deidentified else IDENTIFIED_COLUMNS
    assert meta.column_names == columns == list(rows[0])
    assert meta.column_names_to_labels == {v.name: v.label for v in layout(deidentified=deidentified)}
    assert all(meta.column_names_to_labels.values())
    labels = meta.variable_value_labels
    assert labels == {v.name: v.value_labels for v in layout(deidentified=deidentified) if v.value_labels}
    for name, choices in CHOICES.items():
        assert labels[name] == {number: label for number, (_, label) in enumerate(choices.choices, start=1)}
    assert labels["is_index_procedure"] == labels["prior_local_radiation"] == {0: "no", 1: "yes"}
    assert len(frame) == len(rows) == 4
    for record, row in zip(frame.to_dict("records"), rows, strict=True):
        for name in columns:
            assert_same_value(name, row[name], record[name], labels)
    # The values the comparison rests on are really in the data (a CSV-to-file mapping that dropped
    # them would make the loop above vacuous).
    first = frame.to_dict("records")[0]
    assert (first["treatment"], first["ablation"], first["approach"], first["service"]) == (1, 2, 2, 2)
    assert (first["age_at_index"], first["prior_local_radiation"], first["cement_volume_ml"]) == (90, 1, 7.5)
    assert first["indications"] == "destructive_lesion;mechanical_pain"
    assert frame["opioid_mme_per_day"].tolist()[1] == 15.5
    if deidentified:
        assert (first["deceased"], first["death_day"], first["encounter_day"]) == (1, 275, -2)
    else:
        assert (first["mrn"], first["primary_cancer_detail"]) == ("=A-OLD", '@clear cell, "stage IV"; é')
        assert (first["birth_date"], first["encounter_date"]) == (datetime.date(1932, 1, 1), datetime.date(2023, 2, 27))
        assert missing(frame["death_date"].tolist()[3])


@pytest.mark.parametrize("file_format", ["dta", "sav"])
def test_investigators_get_only_the_de_identified_file(personas, cohort, tmp_path, file_format):
    client = client_for(personas["ivy"])

    refused = client.get(f"/api/exports/encounters.{file_format}")
    allowed = client.get(f"/api/exports/encounters-deidentified.{file_format}")

    assert refused.status_code == 403
    assert refused.json() == {"detail": "Investigators may use only the de-identified export."}
    assert allowed.status_code == 200
    frame, _ = read_file(allowed, file_format, tmp_path)
    assert len(frame) == 4
    assert not {"mrn", "birth_date", "death_date", "primary_cancer_detail", "encounter_date"} & set(frame.columns)
    assert PhiAccess.objects.count() == 0


@pytest.mark.parametrize("suffix", ["", "-deidentified"])
def test_a_clinician_gets_the_rows_of_their_sites(personas, cohort, tmp_path, suffix):
    _, other = cohort

    response = client_for(personas["charlie"]).get(f"/api/exports/encounters{suffix}.sav")

    frame, _ = read_file(response, "sav", tmp_path)
    assert frame["study_id"].tolist() == [other.study_id]
    assert frame["site"].tolist() == ["SITEB"]


def test_files_and_codebook_need_credentials(cohort):
    for url in (
        "/api/exports/encounters.dta",
        "/api/exports/encounters-deidentified.sav",
        "/api/exports/codebook.csv",
    ):
        response = client_for().get(url)

        assert response.status_code == 401, url


def test_an_identified_file_is_logged_as_a_phi_access(personas, cohort):
    client_for(personas["alice"]).get("/api/exports/encounters-deidentified.dta")
    assert PhiAccess.objects.count() == 0

    response = client_for(personas["alice"]).get("/api/exports/encounters.dta")

    assert response.status_code == 200
    assert list(PhiAccess.objects.values_list("username", "action", "what", "patient_id")) == [
        ("alice", "export_identified", "encounters.dta", None)
    ]


def test_the_files_are_empty_but_labelled_without_encounters(personas, tmp_path):
    for file_format in ("dta", "sav"):
        response = client_for(personas["alice"]).get(f"/api/exports/encounters.{file_format}")

        frame, meta = read_file(response, file_format, tmp_path)
        assert len(frame) == 0
        assert meta.column_names == IDENTIFIED_COLUMNS
        assert meta.variable_value_labels["sex"] == {1: "Male", 2: "Female"}


def _numbered_codes(cell: str) -> dict[int, str]:
    return {int(number): label for number, label in re.findall(r"[^;=\s]+=(\d+) ([^;]+)", cell)}


def test_the_codebook_lists_every_column_with_the_files_value_labels(personas, cohort, tmp_path):
    response = client_for(personas["ivy"]).get("/api/exports/codebook.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="codebook.csv"'
    rows = read_csv(response)
    assert list(rows[0]) == ["variable", "label", "type", "unit", "codes"]
    assert [row["variable"] for row in rows] == list(dict.fromkeys(IDENTIFIED_COLUMNS + DEIDENTIFIED_COLUMNS))
    by_name = {row["variable"]: row for row in rows}
    assert (
        by_name["treatment"]["codes"]
        == "psfs=1 PSFS (screw fixation with sacroplasty); sacroplasty=2 Sacroplasty alone"
    )
    assert (by_name["opioid_mme_per_day"]["unit"], by_name["cement_volume_ml"]["unit"]) == ("MME/day", "ml")
    assert by_name["indications"]["codes"].startswith("destructive_lesion: Large destructive lesion; ")
    for deidentified, file_format in ((False, "dta"), (True, "sav")):
        suffix = "-deidentified" if deidentified else ""
        _, meta = read_file(
            client_for(personas["root"]).get(f"/api/exports/encounters{suffix}.{file_format}"), file_format, tmp_path
        )
        for name in meta.column_names:
            assert _numbered_codes(by_name[name]["codes"]) == meta.variable_value_labels.get(name, {}), name
            assert by_name[name]["label"] == meta.column_names_to_labels[name]


def test_every_variable_suits_stata_and_spss():
    for variable in codebook():
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", variable.name), variable.name
        assert 0 < len(variable.label) <= 80, variable.name
        assert variable.type in (STRING, CODE_LIST, DATE, BOOLEAN, CODED, DECIMAL, "integer")
        assert (variable.type == CODED) == (variable.name in CHOICES)
    assert {v.name for v in codebook()} == set(IDENTIFIED_COLUMNS) | set(DEIDENTIFIED_COLUMNS)


def test_the_codebook_page_lists_every_variable_for_an_investigator(personas):
    client = client_for()
    client.force_login(personas["ivy"])

    response = client.get("/codebook/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'<tr id="var-([a-z0-9_]+)">', html) == [v.name for v in codebook()]
    assert "<code>psfs</code> = 1 PSFS (screw fixation with sacroplasty)" in html
    assert 'href="/codebook/"' in client.get("/dashboard/").content.decode()


def test_the_codebook_page_needs_a_login():
    response = client_for().get("/codebook/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/codebook/"


def test_the_screws_column_is_a_labelled_text_in_the_files_and_the_codebook(personas, cohort, tmp_path):
    by_name = {row["variable"]: row for row in read_csv(client_for(personas["ivy"]).get("/api/exports/codebook.csv"))}
    assert (by_name["screws"]["type"], by_name["screws"]["label"], by_name["screws"]["codes"]) == (
        "string",
        "Screws (corridor/trajectory/side/diameter mm/fully threaded[/length mm]; ...)",
        "",
    )

    frame, meta = read_file(client_for(personas["root"]).get("/api/exports/encounters.dta"), "dta", tmp_path)

    assert meta.column_names_to_labels["screws"] == by_name["screws"]["label"]
    assert frame["screws"].tolist() == [
        "S1/transsacral/left/7.3/true",
        "S1/transsacral/left/7.3/true",
        "",
        "S1/transsacral/left/7.3/true",
    ]

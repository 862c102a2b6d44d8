"""The optional screw length (mm) on every surface that lists screws: the procedure form, the timeline,
the API, the encounter export, the registry workbook, the admin; and the side's help text on the page."""

import datetime
import io
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registry.models import Procedure, Screw
from registry.tests.api_support import client_for, procedure_body
from registry.tests.factories import EncounterFactory, PatientFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

SCREW = {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": Decimal("7.3")}


@pytest.fixture
def patient_a(site_a):
    return PatientFactory(site=site_a, mrn="LEN-1")


def form_data(**screw_cells):
    return {
        "date": "2024-01-10",
        "treatment": "psfs",
        "fracture_status": "pathological",
        "service": "orthopaedics",
        "ablation": "none",
        "approach": "",
        "screws-TOTAL_FORMS": "2",
        "screws-INITIAL_FORMS": "0",
        "screws-0-corridor": "S1",
        "screws-0-trajectory": "transsacral",
        "screws-0-side": "left",
        "screws-0-diameter_mm": "7.3",
        "screws-0-fully_threaded": "on",
        **screw_cells,
    }


def test_the_procedure_form_records_a_screw_length(client, personas, patient_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), form_data(**{"screws-0-length_mm": "140"}))

    assert response.status_code == 302
    assert list(Screw.objects.values_list("diameter_mm", "length_mm")) == [(Decimal("7.3"), Decimal("140.0"))]


def test_the_length_is_optional_and_a_row_with_only_a_length_is_a_screw_to_complete(client, personas, patient_a):
    client.force_login(personas["alice"])

    without = client.post(reverse("procedure_create", args=[patient_a.pk]), form_data())
    only_length = client.post(
        reverse("procedure_create", args=[patient_a.pk]),
        form_data(**{"screws-1-length_mm": "120", "date": "2024-02-10"}),
    )

    assert without.status_code == 302
    assert Screw.objects.get().length_mm is None
    assert only_length.status_code == 200
    assert only_length.context["formset"].forms[1].errors["corridor"] == ["This field is required."]
    assert Procedure.objects.count() == 1


def test_a_length_beyond_250_mm_is_refused_beside_the_screw(client, personas, patient_a):
    client.force_login(personas["alice"])

    response = client.post(reverse("procedure_create", args=[patient_a.pk]), form_data(**{"screws-0-length_mm": "300"}))

    assert response.status_code == 200
    assert not Procedure.objects.exists()
    assert "Screw length must be more than 0 and at most 250 mm." in response.content.decode()


def test_the_form_has_a_length_column_and_the_side_help_text_its_inputs_point_at(client, personas, patient_a):
    client.force_login(personas["alice"])

    page = client.get(reverse("procedure_create", args=[patient_a.pk])).content.decode()

    assert '<th scope="col">Length (mm, optional)</th>' in page
    assert 'name="screws-0-length_mm"' in page
    described = re.search(r'<select name="screws-0-side"[^>]*aria-describedby="([^"]+)"', page).group(1)
    assert described == "id_screws-0-side_helptext"
    assert re.search(rf'id="{described}">The side of entry; a transiliac-transsacral screw', page)


def test_the_timeline_lists_the_length(client, personas, patient_a):
    ProcedureFactory(patient=patient_a, screws=[{**SCREW, "length_mm": Decimal("135.5")}, SCREW])
    client.force_login(personas["alice"])

    page = client.get(reverse("patient_detail", args=[patient_a.pk])).content.decode()

    assert "<td>7.3 mm</td><td>135.5 mm</td>" in page
    assert "<td>7.3 mm</td><td>—</td>" in page


def test_the_api_reads_and_writes_length_mm(personas, patient_a):
    body = procedure_body(patient_a.pk)
    body["screws"] = [{**body["screws"][0], "length_mm": "95.0"}, {**body["screws"][0], "length_mm": None}]

    created = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert created.status_code == 201, created.json()
    assert [s["length_mm"] for s in created.json()["screws"]] == ["95.0", None]
    assert list(Screw.objects.order_by("id").values_list("length_mm", flat=True)) == [Decimal("95.0"), None]


@pytest.mark.parametrize(
    ("length", "error"),
    [
        ("0", "Ensure this value is greater than or equal to 0.1."),
        (251, "Ensure this value is less than or equal to 250."),
    ],
)
def test_the_api_refuses_a_length_out_of_range(personas, patient_a, length, error):
    body = procedure_body(patient_a.pk)
    body["screws"] = [{**body["screws"][0], "length_mm": length}]

    response = client_for(personas["alice"]).post("/api/procedures/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"screws": {"0": {"length_mm": [error]}}}
    assert not Procedure.objects.exists()


def test_the_openapi_schema_documents_length_mm(personas):
    schema = client_for(personas["alice"]).get("/api/schema/", {"format": "json"}).json()

    screw = schema["components"]["schemas"]["Screw"]["properties"]
    assert screw["length_mm"]["nullable"] is True
    write = schema["components"]["schemas"]["ScrewWriteRequest"]["properties"]["length_mm"]
    assert write["nullable"] is True
    assert write["description"] == "Optional: more than 0, at most 250; null when not recorded."


def test_the_encounter_export_appends_the_length_where_recorded(personas, patient_a):
    procedure = ProcedureFactory(
        patient=patient_a, date=datetime.date(2023, 3, 1), screws=[{**SCREW, "length_mm": Decimal("140")}, SCREW]
    )
    EncounterFactory(procedure=procedure)

    response = client_for(personas["alice"]).get("/api/exports/encounters.json")

    rows = json.loads(b"".join(response.streaming_content))

    assert [r["screws"] for r in rows] == ["S1/transsacral/left/7.3/true/140.0;S1/transsacral/left/7.3/true"]


def test_the_registry_workbook_has_a_length_column(personas, patient_a):
    ProcedureFactory(patient=patient_a, date=datetime.date(2023, 3, 1), screws=[{**SCREW, "length_mm": Decimal("88")}])

    response = client_for(personas["alice"]).get("/api/exports/registry.xlsx")

    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    header, row = list(book["screws"].iter_rows(values_only=True))
    assert header[-3:] == ("diameter_mm", "length_mm", "fully_threaded")
    assert row[-3:] == (7.3, 88, True)


def test_the_admin_edits_the_length_with_the_screws(client, personas, patient_a):
    procedure = ProcedureFactory(patient=patient_a)
    client.force_login(personas["root"])

    page = client.get(reverse("admin:registry_procedure_change", args=[procedure.pk])).content.decode()

    assert 'name="screws-0-length_mm"' in page

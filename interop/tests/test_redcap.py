"""The REDCap data dictionary: REDCap's header, a field for every contract field, the contract's codes
as raw values, validations, identifiers, rights and the OpenAPI schema."""

import csv
import io
import re

import pytest

from interop.redcap import HEADER
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

URL = "/api/exports/redcap-data-dictionary.csv"
REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
# The contract's fields of each resource (docs/contract.md, "Resources"), but the read-only ids: REDCap's
# record id and repeat instances stand in for them. Names shared by several resources are prefixed.
CONTRACT = {
    "patient": [
        "study_id",
        "site",
        "mrn",
        "birth_date",
        "sex",
        "primary_cancer",
        "primary_cancer_detail",
        "death_date",
    ],
    "procedure": [
        "procedure_date",
        "treatment",
        "fracture_status",
        "ablation",
        "prior_local_radiation",
        "service",
        "cement_volume_ml",
        "approach",
        "indications",
    ],
    "screw": ["screw_procedure", "corridor", "trajectory", "side", "diameter_mm", "length_mm", "fully_threaded"],
    "encounter": [
        "encounter_procedure",
        "encounter_date",
        "encounter_kind",
        "msts_pain",
        "msts_function",
        "msts_emotional_acceptance",
        "msts_supports",
        "msts_walking",
        "msts_gait",
        "msts_total",
        "msts_percent",
        "narcotic_change",
        "opioid_mme_per_day",
    ],
    "secondary_procedure": ["secondary_procedure", "secondary_date", "secondary_kind", "reason"],
    "complication": ["complication_procedure", "complication_date", "complication_kind", "description", "resolved"],
}


def fetch(user):
    response = client_for(user).get(URL)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(text)))


def by_variable(rows):
    return {row[0]: dict(zip(REDCAP_HEADER, row, strict=True)) for row in rows[1:]}


def test_an_investigator_reads_the_dictionary_with_redcaps_header(personas):
    response, rows = fetch(personas["ivy"])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="redcap-data-dictionary.csv"'
    assert response["Cache-Control"] == "no-store"
    assert rows[0] == REDCAP_HEADER == HEADER
    assert all(len(row) == 18 for row in rows)


def test_every_contract_field_has_a_field_in_its_form_in_order(personas):
    _, rows = fetch(personas["alice"])

    forms = {}
    for row in rows[1:]:
        forms.setdefault(row[1], []).append(row[0])
    assert forms == CONTRACT
    assert list(forms) == list(CONTRACT)
    assert rows[1][0] == "study_id"  # REDCap's record id is the first field of the first form
    names = [row[0] for row in rows[1:]]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,25}", name) for name in names)
    assert [row[2] for row in rows[1:] if row[2]] == [
        "Patient",
        "Procedure",
        "Screw",
        "Encounter",
        "Secondary procedure",
        "Complication",
    ]


def test_choices_are_the_contracts_codes(personas):
    fields = by_variable(fetch(personas["ivy"])[1])

    choices = "Choices, Calculations, OR Slider Labels"
    assert fields["treatment"]["Field Type"] == "radio"
    assert fields["treatment"][choices] == (
        "psfs, PSFS (screw fixation with sacroplasty) | sacroplasty, Sacroplasty alone"
    )
    assert (fields["sex"]["Field Type"], fields["sex"][choices]) == ("radio", "male, Male | female, Female")
    assert fields["corridor"][choices] == "S1, S1 | S2, S2"
    assert fields["indications"]["Field Type"] == "checkbox"
    assert fields["indications"][choices].startswith("destructive_lesion, Large destructive lesion | ")
    assert fields["encounter_kind"][choices] == "baseline, Baseline (pre-operative) | followup, Follow-up"
    assert [fields[name]["Field Type"] for name in ("prior_local_radiation", "fully_threaded", "resolved")] == [
        "yesno"
    ] * 3
    assert (fields["reason"]["Field Type"], fields["description"]["Field Type"]) == ("notes", "notes")


def test_validations_follow_the_contracts_limits(personas):
    fields = by_variable(fetch(personas["ivy"])[1])

    def validation(name):
        field = fields[name]
        return (
            field["Field Type"],
            field["Text Validation Type OR Show Slider Number"],
            field["Text Validation Min"],
            field["Text Validation Max"],
        )

    for domain in ("msts_pain", "msts_function", "msts_emotional_acceptance", "msts_supports", "msts_walking"):
        assert validation(domain) == ("text", "integer", "0", "5"), domain
    assert validation("msts_gait") == ("text", "integer", "0", "5")
    assert validation("cement_volume_ml") == ("text", "number", "0", "100")
    assert validation("opioid_mme_per_day") == ("text", "number", "0", "5000")
    assert validation("birth_date") == ("text", "date_ymd", "1900-01-01", "today")
    assert validation("encounter_date") == ("text", "date_ymd", "", "today")
    assert fields["msts_total"]["Field Type"] == "calc"
    assert fields["msts_total"]["Choices, Calculations, OR Slider Labels"] == (
        "[msts_pain]+[msts_function]+[msts_emotional_acceptance]+[msts_supports]+[msts_walking]+[msts_gait]"
    )
    assert fields["narcotic_change"]["Branching Logic (Show field only if...)"] == "[encounter_kind] = 'followup'"


def test_identifiers_and_required_fields_are_flagged(personas):
    fields = by_variable(fetch(personas["ivy"])[1])

    identifiers = {name for name, field in fields.items() if field["Identifier?"] == "y"}
    assert identifiers == {
        "mrn",
        "birth_date",
        "death_date",
        "primary_cancer_detail",
        "procedure_date",
        "encounter_date",
        "secondary_date",
        "reason",
        "complication_date",
        "description",
    }
    required = {name for name, field in fields.items() if field["Required Field?"] == "y"}
    assert {"study_id", "site", "mrn", "birth_date", "sex", "primary_cancer", "treatment", "corridor"} <= required
    assert not {"death_date", "cement_volume_ml", "approach", "msts_pain", "narcotic_change", "reason"} & required
    assert fields["primary_cancer_detail"]["Branching Logic (Show field only if...)"] == "[primary_cancer] = 'other'"


def test_the_dictionary_needs_credentials():
    assert client_for().get(URL).status_code == 401


def test_the_schema_documents_the_dictionary_as_csv(client, personas):
    client.force_login(personas["ivy"])
    paths = client.get("/api/schema/?format=json").json()["paths"]

    operation = paths[URL]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
    assert sorted(operation["responses"]) == ["200", "401", "403"]
    assert "REDCap data dictionary" in operation["summary"]

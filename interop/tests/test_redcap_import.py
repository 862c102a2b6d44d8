"""import_registry reads a REDCap raw record export of a project built from the registry's data
dictionary (longitudinal, repeating instruments): into an empty registry it gives back the records;
a second import changes nothing; a row naming an unknown procedure instance is refused."""

import csv
import datetime
from decimal import Decimal

import pytest

from interop.redcap import FORMS, variable_name
from interop.tests.test_import import build_registry, registry_records, run
from registry import services
from registry.choices import Indication
from registry.models import Patient, Procedure

pytestmark = pytest.mark.django_db

CHILDREN = {"screw": "screws", "encounter": "encounters", "secondary_procedure": "secondary_procedures"}
CHILDREN["complication"] = "complications"


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _header() -> list[str]:
    header = ["study_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in FORMS:
        if form.name not in ("patient", "procedure"):
            header.append(f"{form.prefix}_procedure")
        for field in form.fields:
            if field == "study_id":
                continue
            if field == "indications":
                header.extend(f"indications___{code}" for code in Indication.values)
            else:
                header.append(variable_name(form, field))
    return header


def redcap_export(path) -> None:
    """The registry as REDCap's raw record export of the dictionary's project would hold it."""
    header = _header()
    forms = {form.name: form for form in FORMS}
    rows = []

    def row(study_id, event, instrument, instance, form, record, **extra):
        cells = {"study_id": study_id, "redcap_event_name": event, "redcap_repeat_instrument": instrument}
        cells["redcap_repeat_instance"] = instance
        for field in form.fields:
            if field == "study_id":
                continue
            value = getattr(record, field)
            if field == "indications":
                cells.update({f"indications___{code}": "1" if code in value else "0" for code in Indication.values})
            else:
                cells[variable_name(form, field)] = _value(value)
        cells.update(extra)
        rows.append([cells.get(column, "") for column in header])

    for patient in Patient.objects.select_related("site").order_by("id"):
        row(patient.study_id, "enrolment_arm_1", "", "", forms["patient"], patient, site=patient.site.code)
        for instance, procedure in enumerate(patient.procedures.order_by("date", "id"), start=1):
            row(patient.study_id, "enrolment_arm_1", "procedure", instance, forms["procedure"], procedure)
            children = {
                "screw": procedure.screws.order_by("id"),
                "encounter": procedure.encounters.order_by("date", "id"),
                "secondary_procedure": procedure.secondary_procedures.order_by("date", "id"),
                "complication": procedure.complications.order_by("date", "id"),
            }
            for name, records in children.items():
                form = forms[name]
                for number, record in enumerate(records, start=1):
                    link = {f"{form.prefix}_procedure": instance}
                    row(patient.study_id, "follow_up_arm_1", name, number, form, record, **link)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def export(site_a, site_b, tmp_path):
    build_registry([site_a, site_b], 10, seed=11)
    path = tmp_path / "redcap.csv"
    redcap_export(path)
    return path


def _without_visits_not_done(records: dict) -> dict:
    """The records but visits not done (no REDCap form); a checkbox holds codes, not their order."""
    kept = {name: rows for name, rows in records.items() if name != "visits_not_done"}
    at = 1 + list(services.PROCEDURE_EDITABLE[2:]).index("indications")
    kept["procedures"] = [(*row[:at], sorted(row[at]), *row[at + 1 :]) for row in kept["procedures"]]
    return kept


def test_a_redcap_export_imported_into_an_empty_registry_gives_back_its_records(export):
    before = _without_visits_not_done(registry_records())
    procedures = Procedure.objects.count()
    Patient.objects.all().delete()

    output, error = run(export)
    again, again_error = run(export)

    assert error is None, output
    assert _without_visits_not_done(registry_records()) == before
    assert "patients: 10 were created, 0 were updated, 0 unchanged" in output
    assert f"procedures: {procedures} were created, 0 were updated, 0 unchanged" in output
    assert again_error is None, again
    assert "patients: 0 were created, 0 were updated, 10 unchanged" in again
    assert f"procedures: 0 were created, 0 were updated, {procedures} unchanged" in again


def test_a_redcap_row_naming_an_unknown_procedure_instance_is_refused_with_its_line(export, tmp_path):
    with open(export, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    header = rows[0]
    line = next(i for i, row in enumerate(rows) if row[header.index("redcap_repeat_instrument")] == "encounter")
    rows[line][header.index("encounter_procedure")] = "9"
    other = next(
        i for i, row in enumerate(rows) if i > line and row[header.index("redcap_repeat_instrument")] == "encounter"
    )
    rows[other][header.index("msts_pain")] = "9"
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    Patient.objects.all().delete()

    output, error = run(bad, "--dry-run")

    assert error is not None
    assert f"encounters, line {other + 1}, msts_pain: Ensure this value is less than or equal to 5." in output
    assert (
        f"encounters, line {line + 1}, encounter_procedure: No procedure with this repeat instance in this record."
        in output
    )
    assert output.count(", line ") == 2
    assert not Patient.objects.exists()

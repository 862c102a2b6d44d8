"""The importer holds a chunk of rows' records, not the registry's: it reads the records the rows of a
chunk name (``interop.import_base.chunks``, the batch size of rows), a few queries a chunk, and
nothing of the patients the file does not name."""

import math

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from interop.importer import import_registry
from interop.tests.registry_support import build_registry, draw_registry, registry_records
from interop.workbook import workbook_write
from outcomes import services as outcome_services
from outcomes.models import Encounter
from registry import services
from registry.choices import Role
from registry.models import Patient, Procedure
from registry.tests.factories import make_user

pytestmark = pytest.mark.django_db

# The queries a chunk of each sheet reads: its patients, then its procedures (and their screws, on the
# procedures sheet) and its records.
READS = {
    "patients": 1,
    "procedures": 3,
    "encounters": 3,
    "secondary_procedures": 3,
    "complications": 3,
    "visits_not_done": 3,
}


@pytest.fixture
def small_file(tmp_path, site_a, site_b):
    build_registry([site_a, site_b], 6, seed=3)
    path = tmp_path / "registry.xlsx"
    workbook_write(path, user=make_user("importer-admin", Role.ADMIN))
    return path


def _rows(path) -> dict[str, int]:
    book = load_workbook(path)
    return {name: sum(1 for row in book[name].iter_rows(min_row=2, values_only=True) if any(row)) for name in READS}


def _reimport(path, monkeypatch, size: int) -> list[str]:
    monkeypatch.setattr("interop.import_batches.BATCH_SIZE", size)
    with CaptureQueriesContext(connection) as queries:
        report = import_registry(path)
    assert report.errors == []
    assert {sheet: counts["created"] + counts["updated"] for sheet, counts in report.counts.items()} == dict.fromkeys(
        report.counts, 0
    )
    return [query["sql"] for query in queries.captured_queries]


def test_the_queries_of_an_import_grow_with_its_chunks_not_its_rows(small_file, monkeypatch):
    rows = _rows(small_file)
    assert rows["patients"] == 6 and rows["encounters"] > 12  # several chunks of 2 and of 5 rows
    whole = _reimport(small_file, monkeypatch, 1000)  # one chunk a sheet
    fixed = len(whole) - sum(READS[sheet] for sheet in READS if rows[sheet])

    for size in (2, 5):
        chunks = {sheet: math.ceil(count / size) for sheet, count in rows.items()}
        sql = _reimport(small_file, monkeypatch, size)

        assert len(sql) == fixed + sum(READS[sheet] * chunks[sheet] for sheet in READS)
        patient_reads = [query for query in sql if query.startswith("SELECT") and 'FROM "registry_patient"' in query]
        assert len(patient_reads) == sum(chunks.values())


def test_an_import_in_chunks_of_two_rows_gives_the_registry_of_one_chunk(small_file, monkeypatch):
    before = registry_records()
    Patient.objects.all().delete()
    monkeypatch.setattr("interop.import_batches.BATCH_SIZE", 2)

    report = import_registry(small_file)

    assert report.errors == []
    assert report.counts["patients"] == {"created": 6, "updated": 0, "unchanged": 0}
    assert registry_records() == before


def _read_instances(monkeypatch) -> list[tuple[type, int]]:
    """The model instances the ORM makes from the database's rows, as (model, id)."""
    read = []
    from_db = models.Model.from_db.__func__

    def counting(cls, db, field_names, values):
        instance = from_db(cls, db, field_names, values)
        read.append((cls, instance.pk))
        return instance

    monkeypatch.setattr(models.Model, "from_db", classmethod(counting))
    return read


def test_a_reimport_reads_only_the_records_its_file_names(small_file, monkeypatch, site_a, site_b):
    named = {
        Patient: set(Patient.objects.values_list("id", flat=True)),
        Procedure: set(Procedure.objects.values_list("id", flat=True)),
        Encounter: set(Encounter.objects.values_list("id", flat=True)),
    }
    for records in draw_registry([site_a, site_b], 20, seed=5):  # 20 patients the file does not name
        patient = services.patient_create(user=None, **{**records["patient"], "mrn": f"X-{records['patient']['mrn']}"})
        procedure = services.procedure_create(user=None, patient=patient, **records["procedure"])
        for encounter in records["encounters"]:
            outcome_services.encounter_record(user=None, procedure=procedure, **encounter)
    others = Patient.objects.exclude(id__in=named[Patient])
    assert others.count() == 20 and Encounter.objects.filter(procedure__patient__in=others).count() > 40
    before = registry_records()
    read = _read_instances(monkeypatch)

    report = import_registry(small_file)
    monkeypatch.undo()

    assert report.errors == []
    assert report.counts["patients"] == {"created": 0, "updated": 0, "unchanged": 6}
    assert registry_records() == before
    for model, ids in named.items():
        assert {pk for cls, pk in read if cls is model} == ids


def test_a_patient_is_found_by_its_mrn_as_mrn_key_compares_it_beyond_ascii(small_file, tmp_path):
    book = load_workbook(small_file)
    for name in book.sheetnames:
        if name != "patients":
            book.remove(book[name])
    patient = Patient.objects.get(mrn=book["patients"]["B3"].value)
    Patient.objects.filter(pk=patient.pk).update(mrn="Straße-7")  # casefolded: strasse-7
    book["patients"]["B3"].value = "STRASSE-7"
    path = tmp_path / "patients.xlsx"
    book.save(path)

    report = import_registry(path)

    assert report.errors == []
    assert report.counts["patients"] == {"created": 0, "updated": 0, "unchanged": 6}
    assert Patient.objects.count() == 6

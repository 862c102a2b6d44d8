"""import_registry: the workbook of a registry, imported into an empty one, gives the same records and
the same statistics; a second import changes nothing; a bad row stops the whole file."""

import datetime
import io
import re
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from openpyxl import load_workbook

from core.writes import clinical_data_committed
from demo.loader import demo_cohort_load
from interop.importer import import_registry
from interop.tests.registry_support import (  # noqa: F401 (build_registry: the other import tests use it from here)
    MODELS,
    audit_events,
    build_registry,
    registry_records,
    sortable,
    stats_document,
)
from interop.workbook import workbook_write
from outcomes.models import Encounter, VisitNotDone
from registry.models import Patient, Procedure, Site
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

# The registry is built through the bulk services (the same rules; the single-row build of the
# same draws gives the same records: test_the_bulk_build_gives_the_records_of_the_single_row_build).
PATIENTS = 1000


@pytest.fixture
def small_file(tmp_path, site_a, site_b):
    build_registry([site_a, site_b], 6, seed=3)
    path = tmp_path / "registry.xlsx"
    workbook_write(path, user=_admin())
    return path


def _admin():
    from registry.choices import Role
    from registry.tests.factories import make_user

    return make_user("importer-admin", Role.ADMIN)


def run(path, *options) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_registry", str(path), *options, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_the_workbook_imported_into_an_empty_registry_reproduces_every_record_and_figure(
    personas, site_a, site_b, tmp_path
):
    demo_cohort_load(force=True)
    build_registry([site_a, site_b], PATIENTS, in_bulk=True)
    assert Patient.objects.count() == PATIENTS + 30
    assert all(model.objects.count() >= PATIENTS // 10 for model in MODELS[2:])  # screws, visits, events, ...
    records, document = registry_records(), stats_document()
    response = client_for(personas["root"]).get("/api/exports/registry.xlsx")
    path = tmp_path / "registry.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    Patient.objects.all().delete()
    assert not Procedure.objects.exists() and Site.objects.count() == 3

    started = time.perf_counter()
    output, error = run(path)
    elapsed = time.perf_counter() - started

    assert error is None, output
    assert sortable(registry_records()) == sortable(records)
    assert stats_document() == document
    assert f"patients: {PATIENTS + 30} were created, 0 were updated, 0 unchanged" in output
    created = Patient.pgh_event_models["insert"].objects.filter(pgh_label="insert").order_by("-pgh_id").first()
    assert created.pgh_context.metadata == {"action": "patient_create", "reason": "import registry.xlsx"}
    print(f"imported {PATIENTS + 30} patients in {elapsed:.1f} s")


def test_the_bulk_build_gives_the_records_of_the_single_row_build(site_a, site_b):
    build_registry([site_a, site_b], 40, seed=9)
    single = registry_records()
    Patient.objects.all().delete()

    build_registry([site_a, site_b], 40, seed=9, in_bulk=True)

    assert registry_records() == single


def test_rows_written_in_small_batches_give_the_same_registry_and_one_news_after_the_commit(
    small_file, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    book = load_workbook(small_file)
    book["encounters"].append([cell.value for cell in book["encounters"][2]])  # a second row: an update
    twice = tmp_path / "twice.xlsx"
    book.save(twice)
    before = registry_records()
    Patient.objects.all().delete()
    monkeypatch.setattr("interop.import_batches.BATCH_SIZE", 2)
    news = []
    clinical_data_committed.connect(lambda sender, **kwargs: news.append(sender), weak=False, dispatch_uid="test-news")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            output, error = run(twice)
    finally:
        clinical_data_committed.disconnect(dispatch_uid="test-news")

    assert error is None, output
    assert registry_records() == before
    assert f"encounters: {Encounter.objects.count()} were created, 0 were updated, 1 unchanged" in output
    assert news == [None]


def test_a_row_refused_for_an_earlier_row_of_its_batch_is_named_by_its_line(small_file, tmp_path):
    book = load_workbook(small_file)
    sheet = book["encounters"]
    baseline = next(row for row in sheet.iter_rows(min_row=2) if row[5].value == "baseline")
    again = [cell.value for cell in baseline]
    again[4] -= datetime.timedelta(days=1)  # another date: a second baseline of the procedure
    again[6] = 7  # and a bad score: both named
    sheet.append(again)
    line = sheet.max_row
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    Patient.objects.all().delete()

    output, error = run(bad)

    assert error is not None
    assert f"encounters, line {line}, kind: This procedure already has a baseline encounter." in output
    assert f"encounters, line {line}, msts_pain: Ensure this value is less than or equal to 5." in output
    assert output.count(", line ") == 2
    assert not Patient.objects.exists()


def test_a_confirmed_warning_goes_into_the_audit_reason_with_the_import(small_file, tmp_path):
    book = load_workbook(small_file)
    sheet = book["encounters"]
    column = next(cell.column_letter for cell in sheet[1] if cell.value == "opioid_mme_per_day")
    sheet[f"{column}3"].value = 1500
    high = tmp_path / "high.xlsx"
    book.save(high)
    Patient.objects.all().delete()
    since = Encounter.pgh_event_models["insert"].objects.order_by("-pgh_id").values_list("pgh_id", flat=True)[0]

    output, error = run(high)

    assert error is None, output
    encounter = Encounter.objects.get(opioid_mme_per_day=1500)
    event = Encounter.pgh_event_models["insert"].objects.get(pgh_obj_id=encounter.pk)
    assert event.pgh_context.metadata["action"] == "encounter_record"
    assert event.pgh_context.metadata["reason"].startswith("import high.xlsx (Confirmed: Opioid dose: 1,500.0 MME/day")
    others = Encounter.pgh_event_models["insert"].objects.filter(pgh_id__gt=since).exclude(pgh_obj_id=encounter.pk)
    assert {e.pgh_context.metadata["reason"] for e in others} == {"import high.xlsx"}


def test_importing_the_same_file_again_changes_nothing(small_file):
    before = registry_records()
    events = audit_events()

    output, error = run(small_file)

    assert error is None, output
    assert "patients: 0 were created, 0 were updated, 6 unchanged" in output
    assert "encounters: 0 were created, 0 were updated" in output
    assert "screws: 0 were created, 0 were updated" in output
    assert registry_records() == before
    assert audit_events() == events
    assert set(Patient.objects.values_list("version", flat=True)) == {1}


def test_a_changed_value_updates_that_record_with_the_import_as_its_reason(small_file, tmp_path):
    book = load_workbook(small_file)
    book["patients"]["E2"].value = "male" if book["patients"]["E2"].value == "female" else "female"
    mrn = book["patients"]["B2"].value
    book["screws"]["J2"].value = not book["screws"]["J2"].value
    changed = tmp_path / "changed.xlsx"
    book.save(changed)

    output, error = run(changed)

    assert error is None, output
    assert "patients: 0 were created, 1 were updated, 5 unchanged" in output
    assert "procedures: 0 were created, 1 were updated" in output
    assert "screws: 0 were created, 1 were updated" in output
    patient = Patient.objects.get(mrn=mrn.lstrip("'"))
    assert (patient.version, patient.sex) == (2, book["patients"]["E2"].value)
    update = Patient.pgh_event_models["insert"].objects.filter(pgh_label="update").get()
    assert update.pgh_context.metadata == {"action": "patient_update", "reason": "import changed.xlsx"}


def test_a_file_with_one_bad_row_is_reported_and_refused_whole(small_file, tmp_path):
    book = load_workbook(small_file)
    sheet = book["encounters"]
    assert sheet["G1"].value == "msts_pain"
    sheet["G5"].value = 7
    book["patients"]["B3"].value = "NEW-MRN"  # a new patient, to be created only if all is well
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    before, events = registry_records(), audit_events()

    dry_output, dry_error = run(bad, "--dry-run")
    output, error = run(bad)

    assert "patients: 1 would be created, 0 would be updated, 5 unchanged" in dry_output
    assert "encounters, line 5, msts_pain: Ensure this value is less than or equal to 5." in dry_output
    assert dry_output.count(", line ") == 1
    assert str(error) == "The file has 1 errors; nothing was imported."
    assert error.returncode == 1
    assert "encounters, line 5, msts_pain: Ensure this value is less than or equal to 5." in output
    assert registry_records() == before
    assert audit_events() == events
    assert not Patient.objects.filter(mrn="NEW-MRN").exists()


def test_a_dry_run_of_a_good_file_writes_nothing(small_file):
    Patient.objects.all().delete()

    output, error = run(small_file, "--dry-run")

    assert error is None, output
    assert "patients: 6 would be created, 0 would be updated, 0 unchanged" in output
    assert "Dry run: nothing was written." in output
    assert not Patient.objects.exists()


def test_site_option_limits_the_import_to_one_site(small_file):
    Patient.objects.all().delete()

    output, error = run(small_file, "--site", "sitea")

    assert "patients, line 3, site: This import is limited to site SITEA." in output
    assert not Patient.objects.exists()
    assert error is not None


def test_the_importer_reports_unknown_sheets_and_columns(small_file, tmp_path):
    book = load_workbook(small_file)
    book["patients"]["I1"].value = "favourite_colour"
    book.create_sheet("notes")
    odd = tmp_path / "odd.xlsx"
    book.save(odd)

    report = import_registry(odd, dry_run=True)

    assert [str(error) for error in report.errors] == [
        "patients, line 1, favourite_colour: Unknown column.",
        "notes, line 1, sheet: Unknown sheet.",
    ]


def test_a_progress_bar_goes_to_a_terminal_and_nowhere_else(small_file, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)

    output, error = run(small_file, "--dry-run")

    assert error is None, output
    # The export does not declare its size (write-only mode), so the bar counts the rows it has read.
    assert re.search(r"registry\.xlsx: [1-9]\d*rows \[", terminal.getvalue())
    assert "rows [" not in output


def test_visits_not_done_are_matched_by_procedure_and_visit_and_go_through_the_service(small_file, tmp_path):
    book = load_workbook(small_file)
    sheet = book["visits_not_done"]
    assert [cell.value for cell in sheet[1]] == [
        "site",
        "mrn",
        "procedure_date",
        "procedure_treatment",
        "visit",
        "reason",
        "note",
    ]
    count = VisitNotDone.objects.count()
    assert sheet.max_row - 1 == count >= 1
    site, mrn, procedure_date, treatment, visit = (cell.value for cell in sheet[2][:5])
    sheet["F2"].value, sheet["G2"].value = "withdrawn", "  consent withdrawn "
    sheet.append([site, mrn, procedure_date, treatment, "month6", "declined", None])
    changed = tmp_path / "changed.xlsx"
    book.save(changed)

    dry_output, dry_error = run(changed, "--dry-run")
    sheet.delete_rows(sheet.max_row)
    book.save(changed)
    output, error = run(changed)

    assert f"visits_not_done, line {count + 2}, visit: Value 'month6' is not a valid choice." in dry_output
    assert dry_output.count(", line ") == 1 and dry_error is not None
    assert error is None, output
    assert f"visits_not_done: 0 were created, 1 were updated, {count - 1} unchanged" in output
    record = VisitNotDone.objects.get(procedure__patient__site__code=site, procedure__patient__mrn=mrn, visit=visit)
    assert (record.reason, record.note, record.version) == ("withdrawn", "consent withdrawn", 2)
    event = VisitNotDone.pgh_event_models["insert"].objects.filter(pgh_label="update").get()
    assert event.pgh_context.metadata == {"action": "visit_not_done_update", "reason": "import changed.xlsx"}


def test_a_visit_not_done_in_a_window_with_a_follow_up_is_refused_with_the_services_message(small_file, tmp_path):
    book = load_workbook(small_file)
    encounters = [row for row in book["encounters"].iter_rows(min_row=2, values_only=True) if row[5] == "followup"]
    site, mrn, procedure_date, treatment, day = encounters[0][:5]
    offset = (day - procedure_date).days
    visit = {14: "week2", 30: "month1", 90: "month3"}.get(offset)
    if visit is None:
        pytest.skip("the first follow-up of this registry is not in a scheduled window")
    book["visits_not_done"].append([site, mrn, procedure_date, treatment, visit, "declined", None])
    line = book["visits_not_done"].max_row
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    count = VisitNotDone.objects.count()
    Patient.objects.all().delete()

    output, error = run(bad)

    assert error is not None
    assert (
        f"visits_not_done, line {line}, visit: A follow-up on {day:%Y-%m-%d} already falls in this visit's window"
        in output
    )
    assert output.count(", line ") == 1
    assert not Patient.objects.exists() and not VisitNotDone.objects.exists() and count >= 1


def test_the_errors_go_to_a_csv_file_with_line_sheet_field_and_message(small_file, tmp_path):
    book = load_workbook(small_file)
    book["encounters"]["G5"].value = 7
    book["complications"].append(
        ["SITEA", "NOBODY", datetime.date(2022, 1, 1), "psfs", datetime.date(2022, 2, 1), "infection"]
    )
    line = book["complications"].max_row
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    errors, good = tmp_path / "errors.csv", tmp_path / "none.csv"

    output, error = run(bad, "--dry-run", "--errors-csv", str(errors))
    good_output, good_error = run(small_file, "--dry-run", "--errors-csv", str(good))

    assert error is not None and good_error is None
    assert errors.read_text(encoding="utf-8").splitlines() == [
        "line,sheet,field,message",
        "5,encounters,msts_pain,Ensure this value is less than or equal to 5.",
        f"{line},complications,mrn,No patient with this MRN at this site.",
    ]
    assert good.read_text(encoding="utf-8").splitlines() == ["line,sheet,field,message"]


def test_the_errors_csv_cannot_run_in_a_spreadsheet(tmp_path):
    from interop.import_rows import ImportReport, RowError

    report = ImportReport(file_name="x.xlsx", dry_run=True)
    report.errors.append(RowError("patients", 2, "sex", "“=HYPERLINK(1)” is not a valid choice."))
    report.errors.append(RowError("patients", 3, "=cmd", "bad"))
    path = tmp_path / "e.csv"
    with open(path, "w", newline="", encoding="utf-8") as file:
        report.write_errors_csv(file)

    assert path.read_text(encoding="utf-8").splitlines()[1:] == [
        "2,patients,sex,“=HYPERLINK(1)” is not a valid choice.",
        "3,patients,'=cmd,bad",
    ]


def test_a_second_row_with_the_key_of_a_record_the_file_created_updates_that_record(small_file, tmp_path):
    book = load_workbook(small_file)
    sheet = book["encounters"]
    row = [cell.value for cell in sheet[2]]
    pain = sheet["G1"].column - 1
    row[pain] = 0 if row[pain] != 0 else 1
    sheet.append(row)
    twice = tmp_path / "twice.xlsx"
    book.save(twice)
    encounters = Encounter.objects.count()
    Patient.objects.all().delete()

    output, error = run(twice)

    assert error is None, output
    assert f"encounters: {encounters} were created, 1 were updated, 0 unchanged" in output
    assert Encounter.objects.count() == encounters
    assert Encounter.objects.filter(version=2).get().msts_pain == row[pain]


def test_a_large_import_refreshes_the_planners_statistics_of_the_tables_it_wrote(small_file, monkeypatch):
    """A table vacuumed while it held only dead rows says "0 rows" to the planner until autovacuum
    analyzes it again; the export of 1,000 freshly imported patients then ran for minutes."""
    Patient.objects.all().delete()
    with connection.cursor() as cursor:  # what such a vacuum leaves: no rows in some pages
        cursor.execute("UPDATE pg_class SET reltuples = 0, relpages = 30 WHERE relname = 'registry_patient'")
    monkeypatch.setattr("interop.importer.ANALYZE_AFTER_CREATED", 5)

    output, error = run(small_file)

    assert error is None, output
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'registry_patient'")
        assert cursor.fetchone()[0] == Patient.objects.count() == 6


def test_a_small_import_leaves_the_statistics_to_autovacuum(small_file):
    Patient.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_class SET reltuples = 0, relpages = 30 WHERE relname = 'registry_patient'")

    output, error = run(small_file)

    assert error is None, output
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'registry_patient'")
        assert cursor.fetchone()[0] == 0

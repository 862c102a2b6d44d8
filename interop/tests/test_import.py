"""import_registry: the workbook of a registry, imported into an empty one, gives the same records and
the same statistics; a second import changes nothing; a bad row stops the whole file."""

import datetime
import io
import random
import re
import time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from analysis import selectors as analysis_selectors
from analysis import stats
from demo.loader import demo_cohort_load
from interop.importer import import_registry
from interop.workbook import workbook_write
from outcomes import services as outcome_services
from outcomes.models import MSTS_FIELDS, Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import services
from registry.models import Patient, Procedure, Screw, Site
from registry.tests.api_support import client_for

pytestmark = pytest.mark.django_db

# 1,000 patients pass too, in about 90 s here (the import itself about 40 s): too slow for every run.
PATIENTS = 200
MODELS = (Patient, Procedure, Screw, Encounter, SecondaryProcedure, Complication, VisitNotDone)
# In the order of services.SCREW_FIELDS: corridor, trajectory, side, diameter, length (optional), fully threaded.
SCREW_CHOICES = [
    ("S1", "transsacral", "left", Decimal("7.3"), Decimal("140.0"), True),
    ("S1", "iliosacral", "right", Decimal("6.5"), None, False),
    ("S2", "transsacral", "right", Decimal("8.0"), Decimal("152.5"), True),
    ("S2", "iliosacral", "left", Decimal("7.0"), None, True),
]


def _decimal_or_none(rng, low, high):
    return None if rng.random() < 0.2 else Decimal(rng.randint(low * 10, high * 10)) / 10


def build_registry(sites, count: int, seed: int = 7) -> None:
    """``count`` patients over ``sites`` with PSFS screws, encounters, secondary procedures,
    complications, later procedures and deaths, all through the services."""
    rng = random.Random(seed)
    for number in range(count):
        day0 = datetime.date(2021, 1, 1) + datetime.timedelta(days=rng.randint(0, 900))
        cancer = rng.choice(["breast", "renal", "lung", "multiple_myeloma", "other"])
        patient = services.patient_create(
            user=None,
            site=sites[number % len(sites)],
            mrn=f"=M{number}" if number % 37 == 0 else f"M{number:05d}",
            birth_date=datetime.date(rng.randint(1930, 1985), rng.randint(1, 12), rng.randint(1, 28)),
            sex=rng.choice(["male", "female"]),
            primary_cancer=cancer,
            primary_cancer_detail="@chondrosarcoma" if cancer == "other" else "",
            death_date=day0 + datetime.timedelta(days=400) if rng.random() < 0.15 else None,
        )
        psfs = rng.random() < 0.6
        procedure = services.procedure_create(
            user=None,
            patient=patient,
            date=day0,
            treatment="psfs" if psfs else "sacroplasty",
            fracture_status=rng.choice(["pathological", "impending"]),
            service=rng.choice(["orthopaedics", "interventional_radiology"]),
            ablation=rng.choice(["none", "rfa", "cryo", "microwave"]),
            prior_local_radiation=rng.random() < 0.5,
            cement_volume_ml=_decimal_or_none(rng, 2, 30),
            approach=rng.choice([None, "posterior", "transiliac", "combined"]),
            indications=rng.sample(
                ["destructive_lesion", "pain_despite_radiation", "mechanical_pain"], rng.randint(0, 2)
            ),
            screws=[
                dict(zip(services.SCREW_FIELDS, s, strict=True)) for s in rng.sample(SCREW_CHOICES, rng.randint(1, 3))
            ]
            if psfs
            else [],
        )
        scores = lambda: {f: (None if rng.random() < 0.05 else rng.randint(0, 5)) for f in MSTS_FIELDS}  # noqa: E731
        outcome_services.encounter_record(
            user=None,
            procedure=procedure,
            date=day0 - datetime.timedelta(days=rng.randint(0, 10)),
            kind="baseline",
            opioid_mme_per_day=_decimal_or_none(rng, 0, 200),
            **scores(),
        )
        followups = rng.sample([14, 30, 90, 180], rng.randint(1, 4))
        for days in followups:
            outcome_services.encounter_record(
                user=None,
                procedure=procedure,
                date=day0 + datetime.timedelta(days=days),
                kind="followup",
                narcotic_change=rng.choice([None, "decreased", "stable", "increased"]),
                opioid_mme_per_day=_decimal_or_none(rng, 0, 120),
                **scores(),
            )
        if rng.random() < 0.3:
            outcome_services.secondary_procedure_create(
                user=None,
                procedure=procedure,
                date=day0 + datetime.timedelta(days=rng.randint(20, 300)),
                kind=rng.choice(["radiation", "neurolysis", "hardware_removal", "other"]),
                reason=rng.choice(["", "persistent pain", "=cmd|' /C calc'!A0"]),
            )
        if rng.random() < 0.25:
            date = day0 + datetime.timedelta(days=rng.randint(1, 60))
            kind = rng.choice(["screw_backout", "cement_extravasation", "radiculopathy", "infection", "other"])
            description = rng.choice(["", "minor leak", "+1 grade"])
            outcome_services.complication_create(
                user=None,
                procedure=procedure,
                date=date,
                kind=kind,
                # An "other" complication is described (the same draws, so the registry is the same size).
                description=description or ("unlisted" if kind == "other" else ""),
                resolved=rng.random() < 0.5,
            )
        # Every third patient: the first visit without a follow-up is recorded as not done (no draws,
        # so the rest of the registry is the one the other tests know).
        missed = [visit for visit, days in (("week2", 14), ("month1", 30), ("month3", 90)) if days not in followups]
        if number % 3 == 0 and missed:
            outcome_services.visit_not_done_create(
                user=None,
                procedure=procedure,
                visit=missed[0],
                reason=["declined", "too_ill", "other"][number % 9 // 3],
                note="=moved away" if number % 9 // 3 == 2 else "",
            )
        if rng.random() < 0.1:
            services.procedure_create(
                user=None,
                patient=patient,
                date=day0 + datetime.timedelta(days=250),
                treatment="sacroplasty",
                fracture_status="impending",
                service="interventional_radiology",
            )


def registry_records() -> dict[str, list]:
    """Every clinical record by its natural keys and values (no ids, no timestamps, no versions)."""

    def procedure_key(procedure):
        return (procedure.patient.site.code, procedure.patient.mrn, procedure.date, procedure.treatment)

    def rows(queryset, *fields):
        related = queryset.select_related("procedure__patient__site")
        return sorted((procedure_key(r.procedure), *(getattr(r, f) for f in fields)) for r in related)

    procedures = Procedure.objects.select_related("patient__site").prefetch_related("screws")
    return {
        "patients": sorted(
            (p.site.code, p.mrn, p.birth_date, p.sex, p.primary_cancer, p.primary_cancer_detail, p.death_date)
            for p in Patient.objects.select_related("site")
        ),
        "procedures": sorted(
            (
                procedure_key(p),
                *(getattr(p, f) for f in services.PROCEDURE_EDITABLE[2:]),
                [
                    tuple(getattr(s, f) for f in services.SCREW_FIELDS)
                    for s in sorted(p.screws.all(), key=lambda s: s.id)
                ],
            )
            for p in procedures
        ),
        "encounters": rows(
            Encounter.objects.all(), "date", "kind", *outcome_services.ENCOUNTER_EDITABLE[2:], "msts_total"
        ),
        "secondary_procedures": rows(SecondaryProcedure.objects.all(), "date", "kind", "reason"),
        "complications": rows(Complication.objects.all(), "date", "kind", "description", "resolved"),
        "visits_not_done": rows(VisitNotDone.objects.all(), "visit", "reason", "note"),
    }


def audit_events() -> int:
    return sum(model.pgh_event_models["insert"].objects.count() for model in MODELS)


def stats_document() -> dict:
    return stats.cohort_document(analysis_selectors.cohort_fetch(), computed_at="fixed")


def sortable(records: dict) -> dict:
    return {name: sorted(rows, key=repr) for name, rows in records.items()}


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
    build_registry([site_a, site_b], PATIENTS)
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

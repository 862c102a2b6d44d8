"""Reading the registry workbook (``interop.workbook``) back into the registry, all or nothing.

The file is read with openpyxl in read-only mode (its rows are streamed). Each sheet is read a
chunk of rows at a time (``interop.import_base.chunks``): the registry's records the chunk's rows
name are read with a few queries and held for that chunk only, so memory does not grow with the
file or the registry. The records a file creates are gathered a chunk at a time
(``interop.import_batches``) and written through the bulk services (``registry.bulk``,
``outcomes.bulk``): the same rules as the single-row services, a few queries a batch, one audit
event a record with the reason ``import <file name>``, the news of changed data once after the
import commits. A changed record goes through its single-row update service (the batch is written
first, so the service sees every earlier row). Nothing is written unless every row is good: the
rows are applied inside one transaction, each bad row is reported (a refused record of a batch
under its own line), and the transaction is rolled back when one is bad or when
the run is a dry run.

Records are matched as the contract says (docs/contract.md, Interoperability): a patient by site +
MRN, a procedure by patient + date + treatment, an encounter by procedure + date + kind, a secondary
procedure or a complication by procedure + date + kind. A matched record is updated with the row's
values (the services leave a record that would not change as it is: no new version, no audit
event), an unmatched one created. A procedure's screws are the rows of the ``screws`` sheet with its
key; when they differ from its screws they replace them (a procedure without screw rows keeps its
screws). A visit not done is matched by procedure + visit (its ``reason`` column is the clinical
reason; the change's reason in the audit is the import's). Ids and derived columns (``study_id``,
totals, ages, day offsets) are ignored; sites are not created (an admin creates them first).
"""

import os

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import load_workbook

from core.writes import analyze_after_bulk_load, audit_context
from interop.import_base import Importer, chunks
from interop.import_batches import PENDING, Batch
from interop.import_rows import (
    NO_PROCEDURE,
    NO_SITE,
    REQUIRED,
    ImportReport,
    RowError,
    RowFailed,
    Sheet,
    errors_of,
)
from interop.workbook import SHEETS
from outcomes import bulk as outcome_bulk
from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import bulk, services
from registry.models import Patient, Procedure, Screw
from registry.mrn import mrn_key

CREATED = object()  # the key of an event this import created
MISSING = object()  # a screw cell of a column the file does not have


def _same(instance, data: dict) -> bool:
    return all(getattr(instance, name) == value for name, value in data.items())


def _screw(screw: dict) -> tuple:
    """A screw row's cells as a plain tuple (the screws sheet is held whole until the procedures are read)."""
    return tuple(screw.get(name, MISSING) for name in services.SCREW_FIELDS)


def _screw_data(screw: tuple) -> dict:
    return {name: value for name, value in zip(services.SCREW_FIELDS, screw, strict=True) if value is not MISSING}


class RegistryImporter(Importer):
    """The registry workbook, sheet by sheet, a chunk of rows at a time (``import_base.chunks``)."""

    def patients_sheet(self, sheet: Sheet, progress) -> None:
        fields = [name for name in services.PATIENT_EDITABLE if name not in ("site", "mrn")]

        def done(key, patient, saved):
            if not saved and self.patients.get(key) is patient:
                del self.patients[key]

        batch = self._batch(
            sheet, lambda records: bulk.patients_create_bulk(user=None, patients=records, reason=self.reason), done
        )
        for chunk in chunks(sheet.rows(progress)):
            patients = self._read_patients(self._patient_keys(chunk))
            for line, row in chunk:

                def write(line=line, row=row, patients=patients):
                    site, mrn = self._patient_key(sheet, line, row)
                    data = self._cells(sheet, line, row, Patient, fields)
                    key = (site.pk, mrn_key(mrn))
                    patient = patients.get(key)
                    if patient is not None and patient.pk is None:  # an earlier row's, not yet written
                        batch.flush()
                        patient = patients.get(key)
                    if patient is None:
                        required = dict.fromkeys(("birth_date", "sex", "primary_cancer"))
                        patients[key] = services.patient_build(site=site, mrn=mrn, **{**required, **data})
                        batch.add(line, patients[key], key)
                        return None
                    elif _same(patient, data):
                        return "unchanged"
                    else:
                        outcome, patient = self._update(
                            services.patient_update, patient, patient=patient, data=data, confirm=True
                        )
                    patients[key] = patient
                    return outcome

                self._apply(sheet, line, write)
            batch.flush()

    def screw_groups(self, sheet: Sheet, progress) -> dict:
        """The screws sheet read first: each procedure key's first line and screws (tuples of
        SCREW_FIELDS). It is held whole: a procedure's screws may be anywhere in their sheet."""
        groups: dict[tuple, tuple] = {}
        for line, row in sheet.rows(progress):
            try:
                site, mrn = self._patient_key(sheet, line, row)
                date, treatment = self._date_treatment(sheet, line, row, "procedure_date", "procedure_treatment")
                screw = self._cells(sheet, line, row, Screw, services.SCREW_FIELDS)
            except RowFailed:
                continue
            key = (site.pk, mrn_key(mrn), date, treatment)
            first, screws = groups.get(key, (line, ()))
            groups[key] = (first, (*screws, _screw(screw)))
        return groups

    def _screws_of(self, procedure: Procedure) -> list[tuple]:
        return self.screws.get(procedure.pk, [])

    def _write_procedure(self, procedure, data, group) -> str:
        """Updates a procedure (and its screws, when the file lists them); returns the outcome."""
        rows = [tuple(None if v is MISSING else v for v in screw) for screw in group[1]] if group else None
        before = self._screws_of(procedure)
        if _same(procedure, data) and (rows is None or rows == before):
            if group:
                self.report.count("screws", "unchanged")
            return "unchanged"
        outcome, updated = self._update(
            services.procedure_update,
            procedure,
            procedure=procedure,
            data=data,
            screws=[_screw_data(screw) for screw in group[1]] if group else None,
            confirm=True,
        )
        if group:
            after = _screw_rows(updated)
            self.screws[updated.pk] = after
            self.report.count("screws", "unchanged" if before == after else "updated")
        self.procedures[(updated.patient_id, updated.date, updated.treatment)] = updated
        return outcome

    def procedures_sheet(self, sheet: Sheet, screws: dict, progress) -> None:
        fields = [name for name in services.PROCEDURE_EDITABLE if name not in ("date", "treatment")]

        def done(key, item, saved):
            map_key, with_screws = key
            if saved and with_screws:
                self.report.count("screws", "created")
            if not saved and self.procedures.get(map_key) is item[0]:
                del self.procedures[map_key]

        def write_batch(items):
            return bulk.procedures_create_bulk(user=None, procedures=items, reason=self.reason, confirm=True)

        batch = self._batch(sheet, write_batch, done)
        for chunk in chunks(sheet.rows(progress)):
            self._read_chunk_procedures(chunk, "date", "treatment", screws=True)
            for line, row in chunk:

                def write(line=line, row=row):
                    patient = self._patient(sheet, line, row)
                    date, treatment = self._date_treatment(sheet, line, row, "date", "treatment")
                    data = self._cells(sheet, line, row, Procedure, fields)
                    group = screws.pop((patient.site_id, mrn_key(patient.mrn), date, treatment), None)
                    key = (patient.pk, date, treatment)
                    procedure = self.procedures.get(key)
                    if procedure is not None and procedure.pk is None:  # an earlier row's, not yet written
                        batch.flush()
                        procedure = self.procedures.get(key)
                    if procedure is not None:
                        return self._write_procedure(procedure, data, group)
                    required = {"fracture_status": None, "service": None}
                    procedure = services.procedure_build(
                        patient=patient, date=date, treatment=treatment, **{**required, **data}
                    )
                    self.procedures[key] = procedure
                    screw_data = [_screw_data(screw) for screw in group[1]] if group else []
                    batch.add(line, (procedure, screw_data), (key, bool(group)))
                    return None

                self._apply(sheet, line, write)
            batch.flush()

    def remaining_screws(self, sheet: Sheet, screws: dict) -> None:
        """Screws of procedures the procedures sheet does not list: the registry's procedure, if any."""
        for chunk in chunks(screws.items()):
            self._read_patients({(site_id, key) for (site_id, key, _, _), _ in chunk})
            keys = set()
            for (site_id, key, date, treatment), _ in chunk:
                patient = self.patients.get((site_id, key))
                if patient:
                    keys.add((patient.pk, date, treatment))
            self._read_procedures(keys, screws=True)
            for (site_id, key, date, treatment), group in chunk:
                line = group[0]
                patient = self.patients.get((site_id, key))
                procedure = patient and self.procedures.get((patient.pk, date, treatment))
                if procedure is None:
                    sheet.error(line, "procedure_date", NO_PROCEDURE)
                    continue
                try:
                    with audit_context(user=None, action="import_registry", reason=self.reason):
                        self._write_procedure(procedure, {}, group)  # counts the screws, not the procedure
                except ValidationError as exc:
                    for field, message in errors_of(exc):
                        sheet.error(line, field, message)

    def _event_batch(self, sheet: Sheet, write) -> Batch:
        def done(match, record, saved):
            if saved:
                self.existing[match] = CREATED  # the key only: the file's records are not held
            elif self.existing.get(match) is PENDING:
                del self.existing[match]

        return self._batch(sheet, write, done)

    def _read_chunk(self, chunk, model, key_fields: tuple[str, ...]) -> dict:
        """The chunk's patients, procedures and records of ``model`` by (procedure id, *key_fields)."""
        found = self._read_chunk_procedures(
            chunk,
            "procedure_date",
            "procedure_treatment",
            cells=lambda sheet, line, row: self._cells(sheet, line, row, model, key_fields),
        )
        keys = set()
        for key, values in found:
            procedure = self.procedures.get(key) if key else None
            if procedure and values is not None:
                keys.add((procedure.pk, *(values.get(name) for name in key_fields)))
        self.existing = self._read_records(model, key_fields, keys)
        return self.existing

    def events_sheet(self, sheet: Sheet, model, fields, build, create_bulk, update, instance_name, progress) -> None:
        """Encounters, secondary procedures and complications: matched by procedure + date + kind."""
        # A file states what happened: like the API, it accepts what the pages ask to confirm.
        confirmed = {"confirm": True} if model is Encounter else {}
        batch = self._event_batch(
            sheet, lambda records: create_bulk(user=None, records=records, reason=self.reason, **confirmed)
        )
        for chunk in chunks(sheet.rows(progress)):
            existing = self._read_chunk(chunk, model, ("date", "kind"))
            for line, row in chunk:

                def write(line=line, row=row, existing=existing):
                    procedure = self._procedure(sheet, line, row)
                    key = self._cells(sheet, line, row, model, ("date", "kind"))
                    for name in ("date", "kind"):
                        if key.get(name) in (None, ""):
                            self._fail(sheet, line, name, REQUIRED)
                    data = self._cells(sheet, line, row, model, fields)
                    match = (procedure.pk, key["date"], key["kind"])
                    record = existing.get(match)
                    if record is PENDING:  # a second row with the key of a record not yet written
                        batch.flush()
                        record = existing.get(match)
                    if record is CREATED:  # a second row with the key of a record this file created
                        record = model.objects.filter(procedure=procedure, **key).order_by("id").first()
                    if record is None:
                        existing[match] = PENDING
                        batch.add(line, build(procedure=procedure, **key, **data), match)
                        return None
                    if _same(record, data):
                        return "unchanged"
                    outcome, existing[match] = self._update(
                        update, record, data=data, **{instance_name: record}, **confirmed
                    )
                    return outcome

                self._apply(sheet, line, write)
            batch.flush()

    def visits_not_done_sheet(self, sheet: Sheet, progress) -> None:
        """Visits not done: matched by procedure + visit, after the encounters (a visit done in its
        window is refused by the service, as on the pages)."""
        batch = self._event_batch(
            sheet,
            lambda records: outcome_bulk.visits_not_done_create_bulk(
                user=None, visits_not_done=records, reason=self.reason
            ),
        )
        for chunk in chunks(sheet.rows(progress)):
            existing = self._read_chunk(chunk, VisitNotDone, ("visit",))
            for line, row in chunk:

                def write(line=line, row=row, existing=existing):
                    procedure = self._procedure(sheet, line, row)
                    visit = self._cells(sheet, line, row, VisitNotDone, ("visit",)).get("visit")
                    if not visit:
                        self._fail(sheet, line, "visit", REQUIRED)
                    data = self._cells(sheet, line, row, VisitNotDone, ("reason", "note"))
                    record = existing.get((procedure.pk, visit))
                    if record is PENDING:
                        batch.flush()
                        record = existing.get((procedure.pk, visit))
                    if record is CREATED:
                        record = VisitNotDone.objects.filter(procedure=procedure, visit=visit).first()
                    if record is None:
                        built = outcome_services.visit_not_done_build(
                            procedure=procedure, visit=visit, reason=data.get("reason", ""), note=data.get("note", "")
                        )
                        existing[(procedure.pk, visit)] = PENDING
                        batch.add(line, built, (procedure.pk, visit))
                        return None
                    if _same(record, data):
                        return "unchanged"
                    outcome, existing[(procedure.pk, visit)] = self._update(
                        outcome_services.visit_not_done_update, record, visit_not_done=record, data=data
                    )
                    return outcome

                self._apply(sheet, line, write)
            batch.flush()


def _screw_rows(procedure: Procedure) -> list[tuple]:
    return list(procedure.screws.order_by("id").values_list(*services.SCREW_FIELDS))


# An import that creates at least this many records refreshes the planner's statistics of the
# tables it wrote before it commits.
ANALYZE_AFTER_CREATED = 1000
ANALYZED_MODELS = (Patient, Procedure, Screw, Encounter, SecondaryProcedure, Complication, VisitNotDone)


def run_sheets(importer: "RegistryImporter", sheets: dict, progress) -> ImportReport:
    """Applies ``sheets`` (the workbook's sheet names to objects with ``rows(progress)`` and
    ``error``) in one transaction, rolled back on a dry run or when a row is bad."""
    report = importer.report
    with transaction.atomic():
        screws = importer.screw_groups(sheets["screws"], progress) if "screws" in sheets else {}
        if "patients" in sheets:
            importer.patients_sheet(sheets["patients"], progress)
        if "procedures" in sheets:
            importer.procedures_sheet(sheets["procedures"], screws, progress)
        if screws:
            importer.remaining_screws(sheets["screws"], screws)
        events = (
            ("encounters", Encounter, outcome_services.ENCOUNTER_EDITABLE, outcome_services.encounter_build),
            ("secondary_procedures", SecondaryProcedure, ("reason",), SecondaryProcedure),
            ("complications", Complication, ("description", "resolved"), Complication),
        )
        for name, model, fields, build in events:
            if name in sheets:
                instance_name = name[:-1]
                update = getattr(outcome_services, f"{instance_name}_update")
                bulk_create = getattr(outcome_bulk, f"{name}_create_bulk")
                editable = [field for field in fields if field not in ("date", "kind")]

                def create_bulk(*, records, bulk_create=bulk_create, name=name, **kwargs):
                    return bulk_create(**{name: records}, **kwargs)

                importer.events_sheet(
                    sheets[name], model, editable, build, create_bulk, update, instance_name, progress
                )
        if "visits_not_done" in sheets:
            importer.visits_not_done_sheet(sheets["visits_not_done"], progress)
        report.errors.sort(
            key=lambda error: (list(SHEETS).index(error.sheet) if error.sheet in SHEETS else 99, error.line)
        )
        if report.dry_run or report.errors:
            transaction.set_rollback(True)  # nothing is written; the services' on-commit news is dropped
        elif sum(counts["created"] for counts in report.counts.values()) >= ANALYZE_AFTER_CREATED:
            # A large load leaves the planner's statistics behind the tables (core.writes).
            analyze_after_bulk_load(ANALYZED_MODELS)
    return report


def import_registry(
    path, *, dry_run: bool = False, site_code: str | None = None, progress_factory=None, file_name: str | None = None
) -> ImportReport:
    """Imports the registry workbook at ``path`` (or the encounter layout, CSV or XLSX:
    ``interop.layout_import``; or a REDCap raw record export: ``interop.redcap_import``); returns
    what was (or, for a dry run, would be) created, updated and left unchanged per sheet, and every
    bad row. Nothing is written on a dry run or when a row is bad. ``progress_factory(total)`` may
    return a callable told of each row read (``total`` is the number of rows the file declares, or
    None)."""
    from interop import layout_import, redcap_import

    file_name = file_name or os.path.basename(str(path))
    importer = RegistryImporter(file_name=file_name, dry_run=dry_run, site_code=site_code)
    report = importer.report
    if site_code and importer.site_code not in importer.sites:
        report.errors.append(RowError("file", 0, "site", NO_SITE))
        return report
    if layout_import.is_csv(path):
        if redcap_import.is_redcap_csv(path):
            return redcap_import.import_redcap_csv(importer, path, progress_factory)
        return layout_import.import_layout_csv(importer, path, progress_factory)
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if layout_import.is_layout_book(book):
            return layout_import.import_layout_book(importer, book, progress_factory)
        for name in book.sheetnames:
            if name not in SHEETS:
                report.errors.append(RowError(name, 1, "sheet", "Unknown sheet."))
        sheets = {name: Sheet(report, name, book[name]) for name in SHEETS if name in book.sheetnames}
        total = sum(max((book[name].max_row or 1) - 1, 0) for name in sheets) or None
        progress = progress_factory(total) if progress_factory else None
        return run_sheets(importer, sheets, progress)
    finally:
        book.close()

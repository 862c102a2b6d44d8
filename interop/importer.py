"""Reading the registry workbook (``interop.workbook``) back into the registry, all or nothing.

The file is read with openpyxl in read-only mode (its rows are streamed) and every row goes through
the services of the record's app (``registry.services``, ``outcomes.services``): the same validation,
the same audit trail (each event carries the reason ``import <file name>``), the same news of changed
data (the statistics refresh once, after the import commits). Nothing is written unless every row
is good: the rows are applied inside one transaction, each in its own savepoint so that every bad
row is reported, and the transaction is rolled back when one is bad or when the run is a dry run.

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
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import load_workbook

from core.writes import audit_context
from interop.import_rows import (
    NO_PATIENT,
    NO_PROCEDURE,
    NO_SITE,
    REQUIRED,
    ImportReport,
    RowError,
    RowFailed,
    Sheet,
    blank,
    errors_of,
    parse_cell,
)
from interop.workbook import SHEETS, unneutralise
from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import services
from registry.models import Patient, Procedure, Screw, Site, normalise_site_code
from registry.mrn import mrn_key


class Importer:
    """Applies the rows of one file. The registry's existing records are read once per sheet (one
    query each, not one per row) and held by their natural keys; a row whose values equal its
    record's is counted unchanged without calling the service (the service would leave it as it
    is); every other row goes through its service."""

    def __init__(self, *, file_name: str, dry_run: bool, site_code: str | None = None):
        self.report = ImportReport(file_name=file_name, dry_run=dry_run)
        self.reason = f"import {file_name}"[:500]
        self.site_code = normalise_site_code(site_code) if site_code else None
        self.sites = {site.code: site for site in Site.objects.all()}
        self.patients: dict[tuple, Patient] | None = None
        self.procedures: dict[tuple, Procedure] | None = None
        self.screws: dict[int, list[tuple]] = {}

    # --- The registry's records, read once ---------------------------------------------------

    def _load_patients(self) -> dict[tuple, Patient]:
        if self.patients is None:
            patients = Patient.objects.select_related("site")
            if self.site_code:
                patients = patients.filter(site__code=self.site_code)
            self.patients = {}
            for patient in patients.order_by("id").iterator(chunk_size=5000):
                self.patients.setdefault((patient.site_id, mrn_key(patient.mrn)), patient)
        return self.patients

    def _load_procedures(self) -> dict[tuple, Procedure]:
        if self.procedures is None:
            patients = {patient.pk: patient for patient in self._load_patients().values()}
            self.procedures = {}
            procedures, screws = Procedure.objects.all(), Screw.objects.all()
            if self.site_code:
                procedures = procedures.filter(patient__site__code=self.site_code)
                screws = screws.filter(procedure__patient__site__code=self.site_code)
            for procedure in procedures.order_by("id").iterator(chunk_size=5000):
                if procedure.patient_id not in patients:
                    continue
                procedure.patient = patients[procedure.patient_id]
                self.procedures.setdefault((procedure.patient_id, procedure.date, procedure.treatment), procedure)
            for row in screws.order_by("id").values_list("procedure_id", *services.SCREW_FIELDS).iterator():
                self.screws.setdefault(row[0], []).append(tuple(row[1:]))
        return self.procedures

    def _existing(self, model, key_fields: tuple[str, ...]) -> dict[tuple, object]:
        """The records of ``model`` of the known procedures, by (procedure id, *key_fields)."""
        procedures = {procedure.pk: procedure for procedure in self._load_procedures().values()}
        records = model.objects.all()
        if self.site_code:
            records = records.filter(procedure__patient__site__code=self.site_code)
        found = {}
        for record in records.order_by("id").iterator(chunk_size=5000):
            if record.procedure_id not in procedures:
                continue
            record.procedure = procedures[record.procedure_id]
            found.setdefault((record.procedure_id, *(getattr(record, f) for f in key_fields)), record)
        return found

    # --- Keys ---------------------------------------------------------------------------

    def _fail(self, sheet: Sheet, line: int, field: str, message: str):
        sheet.error(line, field, message)
        raise RowFailed

    def _site(self, sheet, line, row) -> Site:
        code = "" if blank(row["site"]) else normalise_site_code(unneutralise(str(row["site"])))
        if self.site_code and code and code != self.site_code:
            self._fail(sheet, line, "site", f"This import is limited to site {self.site_code}.")
        site = self.sites.get(code or self.site_code or "")
        if site is None:
            self._fail(sheet, line, "site", NO_SITE if code or self.site_code else REQUIRED)
        return site

    def _patient_key(self, sheet, line, row) -> tuple:
        site = self._site(sheet, line, row)
        mrn = parse_cell(Patient._meta.get_field("mrn"), row["mrn"]).strip()
        if not mrn:
            self._fail(sheet, line, "mrn", REQUIRED)
        return site, mrn

    def _patient(self, sheet, line, row) -> Patient:
        site, mrn = self._patient_key(sheet, line, row)
        patient = self._load_patients().get((site.pk, mrn_key(mrn)))
        if patient is None:
            self._fail(sheet, line, "mrn", NO_PATIENT)
        return patient

    def _cells(self, sheet, line, row, model, names) -> dict:
        values, failed = {}, False
        for name in names:
            if name not in row:
                continue
            try:
                values[name] = parse_cell(model._meta.get_field(name), row[name])
            except ValidationError as exc:
                failed = True
                for message in exc.messages:
                    sheet.error(line, name, message)
        if failed:
            raise RowFailed
        return values

    def _date_treatment(self, sheet, line, row, date_column, treatment_column) -> tuple:
        """The date and treatment that name a procedure, from the row's two columns."""
        cells = []
        for column, name in ((date_column, "date"), (treatment_column, "treatment")):
            try:
                value = parse_cell(Procedure._meta.get_field(name), row.get(column))
            except ValidationError as exc:
                self._fail(sheet, line, column, exc.messages[0])
            if value in (None, ""):
                self._fail(sheet, line, column, REQUIRED)
            cells.append(value)
        return tuple(cells)

    def _procedure(self, sheet, line, row) -> Procedure:
        patient = self._patient(sheet, line, row)
        date, treatment = self._date_treatment(sheet, line, row, "procedure_date", "procedure_treatment")
        procedure = self._load_procedures().get((patient.pk, date, treatment))
        if procedure is None:
            self._fail(sheet, line, "procedure_date", NO_PROCEDURE)
        return procedure

    # --- Applying a row -------------------------------------------------------------------

    def _apply(self, sheet: Sheet, line: int, write: Callable[[], str]) -> None:
        """Runs ``write`` (which returns created/updated/unchanged); a refusal of the services becomes
        the row's errors. The services are atomic (a refused row leaves nothing behind) and a row's
        keys and cells are checked before any service is called, so no savepoint of its own."""
        try:
            with audit_context(user=None, action="import_registry", reason=self.reason):
                outcome = write()
        except RowFailed:
            return
        except ValidationError as exc:
            for field, message in errors_of(exc):
                sheet.error(line, field, message)
            return
        self.report.count(sheet.name, outcome)

    def _update(self, service, instance, **kwargs) -> tuple[str, object]:
        """Calls an update service; returns updated/unchanged and the record as it now is."""
        version = instance.version
        updated = service(user=None, reason=self.reason, **kwargs)
        return ("updated" if updated.version != version else "unchanged"), updated


CREATED = object()  # the key of an event this import created


def _same(instance, data: dict) -> bool:
    return all(getattr(instance, name) == value for name, value in data.items())


class RegistryImporter(Importer):
    """The registry workbook, sheet by sheet."""

    def patients_sheet(self, sheet: Sheet, progress) -> None:
        fields = [name for name in services.PATIENT_EDITABLE if name not in ("site", "mrn")]
        patients = self._load_patients()
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                site, mrn = self._patient_key(sheet, line, row)
                data = self._cells(sheet, line, row, Patient, fields)
                key = (site.pk, mrn_key(mrn))
                patient = patients.get(key)
                if patient is None:
                    required = dict.fromkeys(("birth_date", "sex", "primary_cancer"))
                    patient = services.patient_create(user=None, site=site, mrn=mrn, **{**required, **data})
                    outcome = "created"
                elif _same(patient, data):
                    return "unchanged"
                else:
                    outcome, patient = self._update(
                        services.patient_update, patient, patient=patient, data=data, confirm=True
                    )
                patients[key] = patient
                return outcome

            self._apply(sheet, line, write)

    def screw_groups(self, sheet: Sheet, progress) -> dict:
        """The screws sheet read first: each procedure key's screws (dicts of SCREW_FIELDS) and lines."""
        groups: dict[tuple, dict] = {}
        for line, row in sheet.rows(progress):
            try:
                site, mrn = self._patient_key(sheet, line, row)
                date, treatment = self._date_treatment(sheet, line, row, "procedure_date", "procedure_treatment")
                screw = self._cells(sheet, line, row, Screw, services.SCREW_FIELDS)
            except RowFailed:
                continue
            key = (site.pk, mrn_key(mrn), date, treatment)
            group = groups.setdefault(key, {"lines": [], "screws": []})
            group["lines"].append(line)
            group["screws"].append(screw)
        return groups

    def _screws_of(self, procedure: Procedure) -> list[tuple]:
        return self.screws.get(procedure.pk, [])

    def _write_procedure(self, procedure, data, group) -> str:
        """Updates a procedure (and its screws, when the file lists them); returns the outcome."""
        rows = [tuple(screw.get(f) for f in services.SCREW_FIELDS) for screw in group["screws"]] if group else None
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
            screws=group["screws"] if group else None,
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
        procedures = self._load_procedures()
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                patient = self._patient(sheet, line, row)
                date, treatment = self._date_treatment(sheet, line, row, "date", "treatment")
                data = self._cells(sheet, line, row, Procedure, fields)
                group = screws.pop((patient.site_id, mrn_key(patient.mrn), date, treatment), None)
                procedure = procedures.get((patient.pk, date, treatment))
                if procedure is not None:
                    return self._write_procedure(procedure, data, group)
                required = {"fracture_status": None, "service": None}
                procedure = services.procedure_create(
                    user=None,
                    patient=patient,
                    date=date,
                    treatment=treatment,
                    screws=group["screws"] if group else [],
                    confirm=True,
                    **{**required, **data},
                )
                procedure.patient = patient
                if group:
                    self.report.count("screws", "created")
                procedures[(patient.pk, date, treatment)] = procedure
                return "created"

            self._apply(sheet, line, write)

    def remaining_screws(self, sheet: Sheet, screws: dict) -> None:
        """Screws of procedures the procedures sheet does not list: the registry's procedure, if any."""
        patients = self._load_patients()
        for (site_id, key, date, treatment), group in screws.items():
            line = group["lines"][0]
            patient = patients.get((site_id, key))
            procedure = patient and self._load_procedures().get((patient.pk, date, treatment))
            if procedure is None:
                sheet.error(line, "procedure_date", NO_PROCEDURE)
                continue
            try:
                with audit_context(user=None, action="import_registry", reason=self.reason):
                    self._write_procedure(procedure, {}, group)  # counts the screws, not the procedure
            except ValidationError as exc:
                for field, message in errors_of(exc):
                    sheet.error(line, field, message)

    def events_sheet(self, sheet: Sheet, model, fields, create, update, instance_name, progress) -> None:
        """Encounters, secondary procedures and complications: matched by procedure + date + kind."""
        # A file states what happened: like the API, it accepts what the pages ask to confirm.
        confirmed = {"confirm": True} if model is Encounter else {}
        existing = self._existing(model, ("date", "kind"))
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                procedure = self._procedure(sheet, line, row)
                key = self._cells(sheet, line, row, model, ("date", "kind"))
                for name in ("date", "kind"):
                    if key.get(name) in (None, ""):
                        self._fail(sheet, line, name, REQUIRED)
                data = self._cells(sheet, line, row, model, fields)
                match = (procedure.pk, key["date"], key["kind"])
                record = existing.get(match)
                if record is CREATED:  # a second row with the key of a record this file created
                    record = model.objects.filter(procedure=procedure, **key).order_by("id").first()
                if record is None:
                    create(user=None, procedure=procedure, **key, **data, **confirmed)
                    existing[match] = CREATED  # the key only: the file's records are not held
                    return "created"
                if _same(record, data):
                    return "unchanged"
                outcome, existing[match] = self._update(
                    update, record, data=data, **{instance_name: record}, **confirmed
                )
                return outcome

            self._apply(sheet, line, write)

    def visits_not_done_sheet(self, sheet: Sheet, progress) -> None:
        """Visits not done: matched by procedure + visit, after the encounters (a visit done in its
        window is refused by the service, as on the pages)."""
        existing = self._existing(VisitNotDone, ("visit",))
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                procedure = self._procedure(sheet, line, row)
                visit = self._cells(sheet, line, row, VisitNotDone, ("visit",)).get("visit")
                if not visit:
                    self._fail(sheet, line, "visit", REQUIRED)
                data = self._cells(sheet, line, row, VisitNotDone, ("reason", "note"))
                record = existing.get((procedure.pk, visit))
                if record is CREATED:
                    record = VisitNotDone.objects.filter(procedure=procedure, visit=visit).first()
                if record is None:
                    outcome_services.visit_not_done_create(
                        user=None,
                        procedure=procedure,
                        visit=visit,
                        reason=data.get("reason", ""),
                        note=data.get("note", ""),
                    )
                    existing[(procedure.pk, visit)] = CREATED
                    return "created"
                if _same(record, data):
                    return "unchanged"
                outcome, existing[(procedure.pk, visit)] = self._update(
                    outcome_services.visit_not_done_update, record, visit_not_done=record, data=data
                )
                return outcome

            self._apply(sheet, line, write)


def _screw_rows(procedure: Procedure) -> list[tuple]:
    return list(procedure.screws.order_by("id").values_list(*services.SCREW_FIELDS))


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
            ("encounters", Encounter, outcome_services.ENCOUNTER_EDITABLE, "encounter_record", "encounter"),
            ("secondary_procedures", SecondaryProcedure, ("reason",), "secondary_procedure_create", None),
            ("complications", Complication, ("description", "resolved"), "complication_create", None),
        )
        for name, model, fields, create, instance_name in events:
            if name in sheets:
                instance_name = instance_name or name[:-1]
                update = getattr(outcome_services, f"{instance_name}_update")
                editable = [field for field in fields if field not in ("date", "kind")]
                importer.events_sheet(
                    sheets[name], model, editable, getattr(outcome_services, create), update, instance_name, progress
                )
        if "visits_not_done" in sheets:
            importer.visits_not_done_sheet(sheets["visits_not_done"], progress)
        report.errors.sort(
            key=lambda error: (list(SHEETS).index(error.sheet) if error.sheet in SHEETS else 99, error.line)
        )
        if report.dry_run or report.errors:
            transaction.set_rollback(True)  # nothing is written; the services' on-commit news is dropped
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

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

import dataclasses
import datetime
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from openpyxl import load_workbook

from core.writes import audit_context
from interop.workbook import SHEETS, unneutralise
from outcomes import services as outcome_services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry import services
from registry.models import Patient, Procedure, Screw, Site, normalise_site_code

DERIVED = {"id", "study_id", "version", "msts_total", "msts_percent", "created_at", "updated_at"}
DERIVED_PREFIXES = ("age_", "days_")
NO_SITE = "No site with this code."
NO_PATIENT = "No patient with this MRN at this site."
NO_PROCEDURE = "No procedure of this patient on this date with this treatment."
REQUIRED = "This field is required."
_MODELS = {
    "patients": Patient,
    "procedures": Procedure,
    "screws": Screw,
    "encounters": Encounter,
    "secondary_procedures": SecondaryProcedure,
    "complications": Complication,
    "visits_not_done": VisitNotDone,
}
_KEYS = {"site", "mrn", "procedure_date", "procedure_treatment"}
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclasses.dataclass(frozen=True)
class RowError:
    sheet: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}, line {self.line}, {self.field}: {self.message}"


@dataclasses.dataclass
class ImportReport:
    file_name: str
    dry_run: bool
    counts: dict = dataclasses.field(default_factory=lambda: {name: _zero() for name in SHEETS})
    errors: list[RowError] = dataclasses.field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.dry_run and not self.errors

    def count(self, sheet: str, outcome: str) -> None:
        self.counts[sheet][outcome] += 1


def _zero() -> dict:
    return {"created": 0, "updated": 0, "unchanged": 0}


class _RowFailed(Exception):
    """A row's key or a cell is bad: its errors are in the report, the row is skipped."""


def _errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    if not hasattr(exc, "error_dict"):
        return [("row", message) for message in exc.messages]
    return [
        ("row" if field == NON_FIELD_ERRORS else field, message)
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_cell(field: models.Field, value):
    """A cell's value as ``field`` holds it; raises ValidationError with the field's own message."""
    if _blank(value):
        if isinstance(field, ArrayField):
            return []
        return "" if isinstance(field, models.CharField | models.TextField) and not field.null else None
    if isinstance(value, str):
        value = unneutralise(value)
    if isinstance(field, ArrayField):
        return [code.strip() for code in str(value).split(";") if code.strip()]
    if isinstance(field, models.DateField):
        if isinstance(value, datetime.datetime):
            if value.time() != datetime.time(0):
                raise ValidationError(f"“{value}” is not a date.")
            return value.date()
        return field.to_python(value.strip() if isinstance(value, str) else value)
    if isinstance(field, models.BooleanField):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValidationError(f"“{value}” must be true or false.")
    if isinstance(field, models.DecimalField):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(f"“{value}” is not a number.") from None
    if isinstance(field, models.IntegerField):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return field.to_python(value.strip() if isinstance(value, str) else value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an MRN typed as a number
    return str(value)


class _Sheet:
    """One sheet's rows as dicts of the known columns, with their line numbers."""

    def __init__(self, report: ImportReport, name: str, worksheet):
        self.report, self.name, self.worksheet = report, name, worksheet

    def rows(self, progress: Callable[[int], None] | None = None):
        rows = self.worksheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        columns = [str(cell).strip().lower() if cell is not None else "" for cell in header]
        known = SHEETS[self.name]
        bad = False
        for column in columns:
            if column and column not in known and column not in DERIVED and not column.startswith(DERIVED_PREFIXES):
                self.error(1, column, "Unknown column.")
                bad = True
        for key in sorted(_KEYS & set(known) - set(columns)):
            self.error(1, key, "This column is missing.")
            bad = True
        if bad:
            return
        wanted = [(index, column) for index, column in enumerate(columns) if column in known]
        for line, values in enumerate(rows, start=2):
            if progress:
                progress(1)
            if all(_blank(value) for value in values):
                continue
            yield line, {column: values[index] if index < len(values) else None for index, column in wanted}

    def error(self, line: int, field: str, message: str) -> None:
        self.report.errors.append(RowError(self.name, line, field, message))


class Importer:
    def __init__(self, *, file_name: str, dry_run: bool, site_code: str | None = None):
        self.report = ImportReport(file_name=file_name, dry_run=dry_run)
        self.reason = f"import {file_name}"[:500]
        self.site_code = normalise_site_code(site_code) if site_code else None
        self.sites = {site.code: site for site in Site.objects.all()}
        self.patients: dict[tuple, Patient] = {}
        self.procedures: dict[tuple, Procedure] = {}

    # --- Keys ---------------------------------------------------------------------------

    def _fail(self, sheet: _Sheet, line: int, field: str, message: str):
        sheet.error(line, field, message)
        raise _RowFailed

    def _site(self, sheet, line, row) -> Site:
        code = "" if _blank(row["site"]) else normalise_site_code(unneutralise(str(row["site"])))
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
        patient = self.patients.get((site.pk, mrn)) or Patient.objects.filter(site=site, mrn=mrn).first()
        if patient is None:
            self._fail(sheet, line, "mrn", NO_PATIENT)
        self.patients[(site.pk, mrn)] = patient
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
            raise _RowFailed
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

    def _procedure_key(self, sheet, line, row, date_column="procedure_date", treatment_column="procedure_treatment"):
        patient = self._patient(sheet, line, row)
        return (patient, *self._date_treatment(sheet, line, row, date_column, treatment_column))

    def _procedure(self, sheet, line, row) -> Procedure:
        patient, date, treatment = self._procedure_key(sheet, line, row)
        key = (patient.pk, date, treatment)
        procedure = self.procedures.get(key) or (
            Procedure.objects.filter(patient=patient, date=date, treatment=treatment).order_by("id").first()
        )
        if procedure is None:
            self._fail(sheet, line, "procedure_date", NO_PROCEDURE)
        self.procedures[key] = procedure
        return procedure

    # --- Applying a row -------------------------------------------------------------------

    def _apply(self, sheet: _Sheet, line: int, write: Callable[[], str]) -> None:
        """Runs ``write`` (which returns created/updated/unchanged) in a savepoint; a refusal of the
        services becomes the row's errors."""
        try:
            with transaction.atomic(), audit_context(user=None, action="import_registry", reason=self.reason):
                outcome = write()
        except _RowFailed:
            return
        except ValidationError as exc:
            for field, message in _errors_of(exc):
                sheet.error(line, field, message)
            return
        self.report.count(sheet.name, outcome)

    def _update(self, service, instance, **kwargs) -> tuple[str, object]:
        """Calls an update service; returns updated/unchanged and the record as it now is."""
        version = instance.version
        updated = service(user=None, reason=self.reason, **kwargs)
        return ("updated" if updated.version != version else "unchanged"), updated

    def patients_sheet(self, sheet: _Sheet, progress) -> None:
        fields = [name for name in services.PATIENT_EDITABLE if name not in ("site", "mrn")]
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                site, mrn = self._patient_key(sheet, line, row)
                data = self._cells(sheet, line, row, Patient, fields)
                patient = Patient.objects.filter(site=site, mrn=mrn).first()
                if patient is None:
                    required = dict.fromkeys(("birth_date", "sex", "primary_cancer"))
                    patient = services.patient_create(user=None, site=site, mrn=mrn, **{**required, **data})
                    outcome = "created"
                else:
                    outcome, patient = self._update(
                        services.patient_update, patient, patient=patient, data=data, confirm=True
                    )
                self.patients[(site.pk, mrn)] = patient
                return outcome

            self._apply(sheet, line, write)

    def screw_groups(self, sheet: _Sheet, progress) -> dict:
        """The screws sheet read first: each procedure key's screws (dicts of SCREW_FIELDS) and lines."""
        groups: dict[tuple, dict] = {}
        for line, row in sheet.rows(progress):
            try:
                site, mrn = self._patient_key(sheet, line, row)
                date, treatment = self._date_treatment(sheet, line, row, "procedure_date", "procedure_treatment")
                screw = self._cells(sheet, line, row, Screw, services.SCREW_FIELDS)
            except _RowFailed:
                continue
            key = (site.pk, mrn, date, treatment)
            group = groups.setdefault(key, {"lines": [], "screws": []})
            group["lines"].append(line)
            group["screws"].append(screw)
        return groups

    def procedures_sheet(self, sheet: _Sheet, screws: dict, progress) -> None:
        fields = [name for name in services.PROCEDURE_EDITABLE if name not in ("date", "treatment")]
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                patient, date, treatment = self._procedure_key(sheet, line, row, "date", "treatment")
                data = self._cells(sheet, line, row, Procedure, fields)
                group = screws.pop((patient.site_id, patient.mrn, date, treatment), None)
                procedure = Procedure.objects.filter(patient=patient, date=date, treatment=treatment).order_by("id")
                procedure = procedure.first()
                if procedure is None:
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
                    outcome = "created"
                    if group:
                        self.report.count("screws", "created")
                else:
                    before = _screw_rows(procedure)
                    outcome, procedure = self._update(
                        services.procedure_update,
                        procedure,
                        procedure=procedure,
                        data=data,
                        screws=group["screws"] if group else None,
                        confirm=True,
                    )
                    if group:
                        self.report.count("screws", "unchanged" if before == _screw_rows(procedure) else "updated")
                self.procedures[(patient.pk, date, treatment)] = procedure
                return outcome

            self._apply(sheet, line, write)

    def remaining_screws(self, sheet: _Sheet, screws: dict) -> None:
        """Screws of procedures the procedures sheet does not list: the registry's procedure, if any."""
        for (site_id, mrn, date, treatment), group in screws.items():
            line = group["lines"][0]
            procedure = Procedure.objects.filter(
                patient__site_id=site_id, patient__mrn=mrn, date=date, treatment=treatment
            ).first()
            if procedure is None:
                sheet.error(line, "procedure_date", NO_PROCEDURE)
                continue
            before = _screw_rows(procedure)

            def write(procedure=procedure, group=group, before=before):
                services.procedure_update(
                    user=None, procedure=procedure, data={}, screws=group["screws"], reason=self.reason, confirm=True
                )
                return "unchanged" if before == _screw_rows(procedure) else "updated"

            self._apply(sheet, line, write)

    def events_sheet(self, sheet: _Sheet, model, fields, create, update, instance_name, progress) -> None:
        """Encounters, secondary procedures and complications: matched by procedure + date + kind."""
        # A file states what happened: like the API, it accepts what the pages ask to confirm.
        confirmed = {"confirm": True} if model is Encounter else {}
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                procedure = self._procedure(sheet, line, row)
                key = self._cells(sheet, line, row, model, ("date", "kind"))
                for name in ("date", "kind"):
                    if key.get(name) in (None, ""):
                        self._fail(sheet, line, name, REQUIRED)
                data = self._cells(sheet, line, row, model, fields)
                existing = model.objects.filter(procedure=procedure, **key).order_by("id").first()
                if existing is None:
                    create(user=None, procedure=procedure, **key, **data, **confirmed)
                    return "created"
                return self._update(update, existing, data=data, **{instance_name: existing}, **confirmed)[0]

            self._apply(sheet, line, write)

    def visits_not_done_sheet(self, sheet: _Sheet, progress) -> None:
        """Visits not done: matched by procedure + visit, after the encounters (a visit done in its
        window is refused by the service, as on the pages)."""
        for line, row in sheet.rows(progress):

            def write(line=line, row=row):
                procedure = self._procedure(sheet, line, row)
                visit = self._cells(sheet, line, row, VisitNotDone, ("visit",)).get("visit")
                if not visit:
                    self._fail(sheet, line, "visit", REQUIRED)
                data = self._cells(sheet, line, row, VisitNotDone, ("reason", "note"))
                existing = VisitNotDone.objects.filter(procedure=procedure, visit=visit).first()
                if existing is None:
                    outcome_services.visit_not_done_create(
                        user=None,
                        procedure=procedure,
                        visit=visit,
                        reason=data.get("reason", ""),
                        note=data.get("note", ""),
                    )
                    return "created"
                return self._update(
                    outcome_services.visit_not_done_update, existing, visit_not_done=existing, data=data
                )[0]

            self._apply(sheet, line, write)


def _screw_rows(procedure: Procedure) -> list[tuple]:
    return list(procedure.screws.order_by("id").values_list(*services.SCREW_FIELDS))


def import_registry(
    path, *, dry_run: bool = False, site_code: str | None = None, progress_factory=None, file_name: str | None = None
) -> ImportReport:
    """Imports the registry workbook at ``path``; returns what was (or, for a dry run, would be)
    created, updated and left unchanged per sheet, and every bad row. Nothing is written on a dry
    run or when a row is bad. ``progress_factory(total)`` may return a callable told of each row read
    (``total`` is the number of rows the file declares, or None)."""
    file_name = file_name or os.path.basename(str(path))
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        importer = Importer(file_name=file_name, dry_run=dry_run, site_code=site_code)
        report = importer.report
        if site_code and importer.site_code not in importer.sites:
            report.errors.append(RowError("file", 0, "site", NO_SITE))
            return report
        for name in book.sheetnames:
            if name not in SHEETS:
                report.errors.append(RowError(name, 1, "sheet", "Unknown sheet."))
        sheets = {name: _Sheet(report, name, book[name]) for name in SHEETS if name in book.sheetnames}
        total = sum(max((book[name].max_row or 1) - 1, 0) for name in sheets) or None
        progress = progress_factory(total) if progress_factory else None
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
                        sheets[name],
                        model,
                        editable,
                        getattr(outcome_services, create),
                        update,
                        instance_name,
                        progress,
                    )
            if "visits_not_done" in sheets:
                importer.visits_not_done_sheet(sheets["visits_not_done"], progress)
            report.errors.sort(
                key=lambda error: (list(SHEETS).index(error.sheet) if error.sheet in SHEETS else 99, error.line)
            )
            if dry_run or report.errors:
                transaction.set_rollback(True)  # nothing is written; the services' on-commit news is dropped
        return report
    finally:
        book.close()

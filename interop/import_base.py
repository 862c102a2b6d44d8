"""The importer's base (``interop.importer``): the registry's records read once and held by their
natural keys, the rows' keys and cells checked, each row applied (a single-row service's refusal
becomes the row's errors) and the sheet's new records gathered in batches (``interop.import_batches``)."""

from collections.abc import Callable

from django.core.exceptions import ValidationError

from interop.import_batches import Batch
from interop.import_rows import (
    NO_PATIENT,
    NO_PROCEDURE,
    NO_SITE,
    REQUIRED,
    ImportReport,
    RowFailed,
    Sheet,
    blank,
    errors_of,
    parse_cell,
)
from interop.workbook import unneutralise
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
        self.batch: Batch | None = None

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

    def _apply(self, sheet: Sheet, line: int, write: Callable[[], str | None]) -> None:
        """Runs ``write`` (which returns updated/unchanged, or None for a record it adds to the
        sheet's batch, counted when the batch is written); a refusal of the services becomes the
        row's errors. The services are atomic (a refused row leaves nothing behind) and a row's
        keys and cells are checked before any service is called, so no savepoint of its own."""
        try:
            outcome = write()
        except RowFailed:
            return
        except ValidationError as exc:
            for field, message in errors_of(exc):
                sheet.error(line, field, message)
            return
        if outcome:
            self.report.count(sheet.name, outcome)

    def _batch(self, sheet: Sheet, write, done=None) -> Batch:
        """The sheet's batch of new records; each single-row service call writes it first
        (``_update``), so the services see every earlier row of the file."""
        self.batch = Batch(self.report, sheet, write, done)
        return self.batch

    def _flush(self) -> None:
        if self.batch is not None:
            self.batch.flush()

    def _update(self, service, instance, **kwargs) -> tuple[str, object]:
        """Calls an update service; returns updated/unchanged and the record as it now is."""
        self._flush()
        version = instance.version
        updated = service(user=None, reason=self.reason, **kwargs)
        return ("updated" if updated.version != version else "unchanged"), updated

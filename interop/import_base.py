"""The importer's base (``interop.importer``): the rows read a chunk at a time (``chunks``, the batch
size of rows) and, for each chunk, the registry's records its rows name read with one query per kind
and held by their natural keys until the next chunk; the rows' keys and cells checked, each row
applied (a single-row service's refusal becomes the row's errors) and the sheet's new records
gathered in batches (``interop.import_batches``), written at the end of each chunk."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower

from interop import import_batches
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

NOT_ASCII = r"[^\x01-\x7f]"


class _Quiet:
    """A sheet that drops its errors (``Importer._row_key``)."""

    name = ""

    def error(self, line: int, field: str, message: str) -> None:
        pass


QUIET = _Quiet()


def chunks(items):
    """``items`` (a sheet's rows) in lists of the batch size (``import_batches.BATCH_SIZE``): the
    registry's records are read a chunk at a time, and only the chunk's are held."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= import_batches.BATCH_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Importer:
    """Applies the rows of one file. The registry's existing records are read a chunk of rows at a
    time (one query per kind of record and chunk, not one per row; only the records the chunk's
    rows name) and held by their natural keys for that chunk; a record the file created in an
    earlier chunk is read back like any other. A row whose values equal its record's is counted
    unchanged without calling the service (the service would leave it as it is); every other row
    goes through its service. Memory is bounded by the chunk, not by the file or the registry
    (except the screws sheet, held as plain tuples: ``RegistryImporter.screw_groups``)."""

    def __init__(self, *, file_name: str, dry_run: bool, site_code: str | None = None):
        self.report = ImportReport(file_name=file_name, dry_run=dry_run)
        self.reason = f"import {file_name}"[:500]
        self.site_code = normalise_site_code(site_code) if site_code else None
        self.sites = {site.code: site for site in Site.objects.all()}
        # The current chunk's records by their keys (``_read_patients``, ``_read_procedures``).
        self.patients: dict[tuple, Patient] = {}
        self.procedures: dict[tuple, Procedure] = {}
        self.screws: dict[int, list[tuple]] = {}
        self.batch: Batch | None = None

    # --- The registry's records, read a chunk of rows at a time ---------------------------------

    def _row_key(self, read, line, row):
        """``read(sheet, line, row)`` with its errors dropped (None for a bad key): a chunk's keys are
        read ahead, and each row reports its own errors when it is applied."""
        try:
            return read(QUIET, line, row)
        except (RowFailed, ValidationError):
            return None

    def _patient_keys(self, chunk) -> set[tuple]:
        keys = set()
        for line, row in chunk:
            key = self._row_key(self._patient_key, line, row)
            if key:
                keys.add((key[0].pk, mrn_key(key[1])))
        return keys

    def _read_chunk_procedures(self, chunk, date_column: str, treatment_column: str, *, screws=False, cells=None):
        """Reads the chunk's patients and procedures (each row's keys parsed once); returns, row by
        row, its procedure's key (patient id, date, treatment) and ``cells(sheet, line, row)``, or
        None for a key or cells that are bad."""
        parsed = []
        for line, row in chunk:
            site_mrn = self._row_key(self._patient_key, line, row)
            date_treatment = self._row_key(
                lambda sheet, line, row: self._date_treatment(sheet, line, row, date_column, treatment_column),
                line,
                row,
            )
            values = self._row_key(cells, line, row) if cells else None
            parsed.append(((site_mrn[0].pk, mrn_key(site_mrn[1])) if site_mrn else None, date_treatment, values))
        self._read_patients({patient_key for patient_key, _, _ in parsed if patient_key})
        found = []
        for patient_key, date_treatment, values in parsed:
            patient = self.patients.get(patient_key) if patient_key and date_treatment else None
            found.append(((patient.pk, *date_treatment) if patient else None, values))
        self._read_procedures({key for key, _ in found if key}, screws=screws)
        return found

    def _read_patients(self, keys: set[tuple]) -> dict[tuple, Patient]:
        """The registry's patients with these keys (site id, ``mrn_key``), one query, as the chunk's
        map. The database finds an MRN by its lower case, which equals its ``mrn_key`` when it is
        ASCII; the few stored MRNs that are not are read as well and compared here."""
        self.patients = {}
        if keys:
            patients = (
                Patient.objects.select_related("site")
                .alias(mrn_lower=Lower("mrn"))
                .filter(site_id__in={site for site, _ in keys})
                .filter(Q(mrn_lower__in={mrn for _, mrn in keys}) | Q(mrn__regex=NOT_ASCII))
            )
            if self.site_code:
                patients = patients.filter(site__code=self.site_code)
            for patient in patients.order_by("id"):
                key = (patient.site_id, mrn_key(patient.mrn))
                if key in keys:
                    self.patients.setdefault(key, patient)
        return self.patients

    def _read_procedures(self, keys: set[tuple], *, screws: bool = False) -> dict[tuple, Procedure]:
        """The procedures with these keys (patient id, date, treatment) of the chunk's patients, one
        query (and one for their screws), as the chunk's map."""
        patients = {patient.pk: patient for patient in self.patients.values()}
        self.procedures, self.screws = {}, {}
        if keys:
            procedures = Procedure.objects.filter(
                patient_id__in={key[0] for key in keys}, date__in={key[1] for key in keys}
            )
            for procedure in procedures.order_by("id"):
                key = (procedure.patient_id, procedure.date, procedure.treatment)
                if key in keys and key not in self.procedures:
                    procedure.patient = patients[procedure.patient_id]
                    self.procedures[key] = procedure
        if screws and self.procedures:
            rows = Screw.objects.filter(procedure_id__in=[procedure.pk for procedure in self.procedures.values()])
            for row in rows.order_by("id").values_list("procedure_id", *services.SCREW_FIELDS):
                self.screws.setdefault(row[0], []).append(tuple(row[1:]))
        return self.procedures

    def _read_records(self, model, key_fields: tuple[str, ...], keys: set[tuple]) -> dict[tuple, object]:
        """The records of ``model`` with these keys (procedure id, *key_fields) of the chunk's
        procedures, one query."""
        procedures = {procedure.pk: procedure for procedure in self.procedures.values()}
        found = {}
        keys = {key for key in keys if key[1] not in (None, "")}
        if keys:
            records = model.objects.filter(
                procedure_id__in={key[0] for key in keys}, **{f"{key_fields[0]}__in": {key[1] for key in keys}}
            )
            for record in records.order_by("id"):
                key = (record.procedure_id, *(getattr(record, f) for f in key_fields))
                if key in keys and key not in found:
                    record.procedure = procedures[record.procedure_id]
                    found[key] = record
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
        patient = self.patients.get((site.pk, mrn_key(mrn)))
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
        procedure = self.procedures.get((patient.pk, date, treatment))
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

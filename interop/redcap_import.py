"""Importing a REDCap project's raw record export (CSV, "raw data", longitudinal or not: one row per
record, event, repeating instrument and instance) built from the registry's data dictionary
(``interop.redcap``).

The variables are the dictionary's: the ``patient`` form's row of a record (the first row without a
repeating instrument that has an ``mrn``) gives the patient; the rows of the repeating instrument
``procedure`` its procedures (``procedure_date``, ``treatment``, ...), numbered by their repeat
instance; the rows of ``screw``, ``encounter``, ``secondary_procedure`` and ``complication`` name
their procedure by that instance (``screw_procedure``, ``encounter_procedure``, ...). The event
(``redcap_event_name``) does not matter: a procedure's instance is its number in the record. A
checkbox arrives as one column per code (``indications___mechanical_pain`` = 1); a yes/no as 1/0;
radio buttons as the contract's codes. The rows then go through the registry workbook's importer
(``interop.importer``), sheet by sheet: the same services, matching, all or nothing, dry run; a bad
row is reported under its sheet with the file's line number. Calc fields (``msts_total``,
``msts_percent``), ``study_id`` and REDCap's own columns are ignored; the record's procedures are
read first (the file is read once more per sheet, never held whole).
"""

import csv
from collections.abc import Iterator

from interop.import_rows import ImportReport, RowError, blank
from interop.redcap import FORMS, variable_name
from interop.workbook import SHEETS

REDCAP_COLUMNS = {"redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group"}
NO_INSTANCE = "No procedure with this repeat instance in this record."
_SHEET_OF_FORM = {
    "procedure": "procedures",
    "screw": "screws",
    "encounter": "encounters",
    "secondary_procedure": "secondary_procedures",
    "complication": "complications",
}
_FORMS = {form.name: form for form in FORMS}


def is_redcap_csv(path) -> bool:
    with open(path, newline="", encoding="utf-8-sig") as file:
        header = next(csv.reader(file), [])
    return bool(header) and header[0].strip() == "study_id" and bool(REDCAP_COLUMNS & {h.strip() for h in header})


def _known_columns() -> set[str]:
    known = set(REDCAP_COLUMNS) | {"study_id"}
    for form in FORMS:
        if form.name not in ("patient", "procedure"):
            known.add(f"{form.prefix}_procedure")
        for field in form.fields:
            known.add(variable_name(form, field))
        known.add(f"{form.name}_complete")
    return known


class RedcapFile:
    def __init__(self, report: ImportReport, path):
        self.report, self.path = report, path
        self.patients: dict[str, tuple] = {}  # record -> (site, mrn)
        self.procedures: dict[tuple, tuple] = {}  # (record, instance) -> (date, treatment)

    def lines(self, progress=None) -> Iterator[tuple[int, dict]]:
        with open(self.path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [column.strip() for column in next(reader, [])]
            for line, values in enumerate(reader, start=2):
                if progress:
                    progress(1)
                if all(blank(value) for value in values):
                    continue
                yield line, dict(zip(header, values, strict=False))

    def check_header(self) -> bool:
        with open(self.path, newline="", encoding="utf-8-sig") as file:
            header = [column.strip() for column in next(csv.reader(file), [])]
        known = _known_columns()
        for column in header:
            base = column.split("___")[0]
            if column and column not in known and base not in known:
                self.report.errors.append(RowError("file", 1, column, "Unknown column."))
        return not self.report.errors

    def read_keys(self) -> None:
        """The records' patients and procedures (their keys only), read first."""
        for _line, row in self.lines():
            record, instrument = row.get("study_id", ""), (row.get("redcap_repeat_instrument") or "").strip()
            if not instrument and not blank(row.get("mrn")) and record not in self.patients:
                self.patients[record] = (row.get("site"), row.get("mrn"))
            elif instrument == "procedure":
                instance = (row.get("redcap_repeat_instance") or "").strip()
                self.procedures.setdefault((record, instance), (row.get("procedure_date"), row.get("treatment")))


def _checkbox(row: dict, variable: str) -> str:
    prefix = f"{variable}___"
    return ";".join(
        column[len(prefix) :] for column, value in row.items() if column.startswith(prefix) and value == "1"
    )


class RedcapSheet:
    """One workbook sheet's rows from the REDCap file's rows of its instrument."""

    def __init__(self, source: RedcapFile, name: str):
        self.source, self.name, self.report = source, name, source.report

    def error(self, line: int, field: str, message: str) -> None:
        self.report.errors.append(RowError(self.name, line, field, message))

    def rows(self, progress=None) -> Iterator[tuple[int, dict]]:
        form = _FORMS[
            "patient" if self.name == "patients" else next(k for k, v in _SHEET_OF_FORM.items() if v == self.name)
        ]
        seen = set()
        for line, row in self.source.lines(progress):
            record, instrument = row.get("study_id", ""), (row.get("redcap_repeat_instrument") or "").strip()
            if self.name == "patients":
                if instrument or blank(row.get("mrn")) or record in seen:
                    continue
                seen.add(record)
            elif instrument != form.name:
                continue
            site, mrn = self.source.patients.get(record, (None, None))
            out = {"site": site, "mrn": mrn}
            for field in form.fields:
                variable = variable_name(form, field)
                out[field] = _checkbox(row, variable) if field == "indications" else row.get(variable)
            if self.name not in ("patients", "procedures"):
                link = f"{form.prefix}_procedure"
                key = self.source.procedures.get((record, (row.get(link) or "").strip()))
                if key is None:
                    self.error(line, link, NO_INSTANCE)
                    continue
                out["procedure_date"], out["procedure_treatment"] = key
            yield line, {column: out.get(column) for column in SHEETS[self.name] if column in out}


def import_redcap_csv(importer, path, progress_factory) -> ImportReport:
    from interop.importer import run_sheets

    source = RedcapFile(importer.report, path)
    if not source.check_header():
        return importer.report
    source.read_keys()
    progress = progress_factory(None) if progress_factory else None
    sheets = {name: RedcapSheet(source, name) for name in ("patients", *_SHEET_OF_FORM.values())}
    return run_sheets(importer, sheets, progress)

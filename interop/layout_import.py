"""Importing the identified encounter layout (``exports/encounters.csv``, or the same columns in the
first sheet of an .xlsx): one row per encounter, carrying its patient and its procedure (with the
procedure's ``screws`` column, ``corridor/trajectory/side/diameter_mm/fully_threaded[/length_mm]``
joined by ``;``).

The file is read as the registry workbook's sheets would be, through the same importer
(``interop.importer``): the first row of each patient stands for the ``patients`` sheet, the first
row of each procedure for ``procedures`` and, through its ``screws`` column, for ``screws``, and
every row for ``encounters``. Records are matched as in the workbook (site + MRN, procedure date +
treatment, encounter date + kind); an empty ``screws`` column leaves a procedure's screws as they
are. The file is streamed once per part (only the keys already seen are held); a bad row is
reported under the part it stands for (``patients``, ``procedures``, ``screws``, ``encounters``)
with the file's line number. Derived columns (``study_id``, ids, ages, day offsets, totals,
``is_index_procedure``, ``screw_count``) are ignored.
"""

import csv
from collections.abc import Callable, Iterator

from interop.import_rows import ImportReport, RowError, blank
from interop.workbook import SHEETS
from outcomes.exports import IDENTIFIED_COLUMNS, SCREW_PART_SEPARATOR, SCREW_PARTS, SCREW_SEPARATOR

REQUIRED_COLUMNS = ("site", "mrn", "procedure_date", "treatment", "encounter_date", "kind")
IGNORED = {
    "study_id",
    "age_at_index",
    "procedure_id",
    "is_index_procedure",
    "screw_count",
    "encounter_id",
    "days_from_index",
    "msts_total",
    "msts_percent",
}
# Each part: the workbook column and the layout column it is read from.
RENAMED = {
    "procedures": {"date": "procedure_date"},
    "screws": {"procedure_treatment": "treatment"},
    "encounters": {"procedure_treatment": "treatment", "date": "encounter_date"},
}
BAD_SCREW = "Each screw is corridor/trajectory/side/diameter_mm/fully_threaded, with /length_mm where recorded."


def is_csv(path) -> bool:
    return str(path).lower().endswith(".csv")


def is_layout_book(book) -> bool:
    """An .xlsx is the encounter layout when its first sheet's header has the layout's key columns
    (``encounter_date`` and ``treatment`` are in no sheet of the workbook), whatever its name."""
    header = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
    return set(REQUIRED_COLUMNS) <= {str(cell).strip().lower() for cell in header if cell is not None}


class LayoutPart:
    """One workbook sheet's rows as they are read from the layout's rows (a new pass over the file
    each time its rows are asked for)."""

    def __init__(self, report: ImportReport, name: str, open_rows: Callable[[], Iterator[tuple]]):
        self.report, self.name, self.open_rows = report, name, open_rows

    def error(self, line: int, field: str, message: str) -> None:
        self.report.errors.append(RowError(self.name, line, field, message))

    def _layout_rows(self, progress) -> Iterator[tuple[int, dict]]:
        rows = self.open_rows()
        header = next(rows, None)
        if header is None:
            return
        columns = [str(cell).strip().lower() if cell is not None else "" for cell in header]
        for line, values in enumerate(rows, start=2):
            if progress:
                progress(1)
            if all(blank(value) for value in values):
                continue
            yield line, {column: values[i] if i < len(values) else None for i, column in enumerate(columns) if column}

    def rows(self, progress=None) -> Iterator[tuple[int, dict]]:
        renamed = RENAMED.get(self.name, {})
        columns = SHEETS[self.name]
        seen: set[tuple] = set()
        for line, row in self._layout_rows(progress):
            if self.name == "screws":
                yield from self._screws(line, row, seen)
                continue
            if self.name in ("patients", "procedures"):
                key = _key(row, self.name)
                if key in seen:
                    continue
                seen.add(key)
            yield line, {column: row.get(renamed.get(column, column)) for column in columns if column != "study_id"}

    def _screws(self, line: int, row: dict, seen: set) -> Iterator[tuple[int, dict]]:
        key = _key(row, "procedures")
        if key in seen or blank(row.get("screws")):
            return
        seen.add(key)
        base = {"site": row.get("site"), "mrn": row.get("mrn"), "procedure_date": row.get("procedure_date")}
        base["procedure_treatment"] = row.get("treatment")
        for text in str(row["screws"]).split(SCREW_SEPARATOR):
            parts = [part.strip() for part in text.strip().split(SCREW_PART_SEPARATOR)]
            if len(parts) not in (len(SCREW_PARTS) - 1, len(SCREW_PARTS)):
                self.error(line, "screws", BAD_SCREW)
                return
            yield line, {**base, **dict(zip(SCREW_PARTS, parts, strict=False))}


def _key(row: dict, part: str) -> tuple:
    key = (str(row.get("site") or "").strip().upper(), str(row.get("mrn") or "").strip().casefold())
    return key if part == "patients" else (*key, str(row.get("procedure_date")), str(row.get("treatment")))


def _check_header(report: ImportReport, header) -> bool:
    columns = [str(cell).strip().lower() for cell in header or () if cell is not None and str(cell).strip()]
    known = set(IDENTIFIED_COLUMNS)
    for column in columns:
        if column not in known:
            report.errors.append(RowError("encounters", 1, column, "Unknown column."))
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            report.errors.append(RowError("encounters", 1, column, "This column is missing."))
    return not report.errors


def _run(importer, open_rows, total, progress_factory) -> ImportReport:
    from interop.importer import run_sheets

    report = importer.report
    if not _check_header(report, next(open_rows(), None)):
        return report
    progress = progress_factory(total * 4 if total else None) if progress_factory else None
    parts = {name: LayoutPart(report, name, open_rows) for name in ("patients", "procedures", "screws", "encounters")}
    return run_sheets(importer, parts, progress)


def import_layout_csv(importer, path, progress_factory) -> ImportReport:
    def open_rows() -> Iterator[tuple]:
        with open(path, newline="", encoding="utf-8-sig") as file:
            yield from (tuple(row) for row in csv.reader(file))

    return _run(importer, open_rows, None, progress_factory)


def import_layout_book(importer, book, progress_factory) -> ImportReport:
    sheet = book.worksheets[0]

    def open_rows() -> Iterator[tuple]:
        return sheet.iter_rows(values_only=True)

    return _run(importer, open_rows, max((sheet.max_row or 1) - 1, 0) or None, progress_factory)

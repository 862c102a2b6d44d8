"""The rows of an import file: each sheet's rows as dicts of its known columns with their line
numbers (streamed), the cells parsed as the model's fields hold them, and the report of what was
(or would be) created, updated and left unchanged and of every bad row."""

import dataclasses
import datetime
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from core.csv_safe import SafeWriter
from interop.workbook import SHEETS, unneutralise

ERRORS_CSV_COLUMNS = ("line", "sheet", "field", "message")

DERIVED = {"id", "study_id", "version", "msts_total", "msts_percent", "created_at", "updated_at"}
DERIVED_PREFIXES = ("age_", "days_")
NO_SITE = "No site with this code."
NO_PATIENT = "No patient with this MRN at this site."
NO_PROCEDURE = "No procedure of this patient on this date with this treatment."
REQUIRED = "This field is required."
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

    def write_errors_csv(self, file) -> None:
        """The bad rows as CSV (line, sheet, field, message) to a text file opened with newline="";
        formula-safe like every CSV (a message may quote a cell)."""
        writer = SafeWriter(file)
        writer.writerow(ERRORS_CSV_COLUMNS)
        writer.writerows((error.line, error.sheet, error.field, error.message) for error in self.errors)


def _zero() -> dict:
    return {"created": 0, "updated": 0, "unchanged": 0}


class RowFailed(Exception):
    """A row's key or a cell is bad: its errors are in the report, the row is skipped."""


def errors_of(exc: ValidationError) -> list[tuple[str, str]]:
    if not hasattr(exc, "error_dict"):
        return [("row", message) for message in exc.messages]
    return [
        ("row" if field == NON_FIELD_ERRORS else field, message)
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_cell(field: models.Field, value):
    """A cell's value as ``field`` holds it; raises ValidationError with the field's own message."""
    if blank(value):
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


class Sheet:
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
            if all(blank(value) for value in values):
                continue
            yield line, {column: values[index] if index < len(values) else None for index, column in wanted}

    def error(self, line: int, field: str, message: str) -> None:
        self.report.errors.append(RowError(self.name, line, field, message))

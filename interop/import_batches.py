"""The records an import creates, gathered a batch at a time and written through the bulk services
(``registry.bulk``, ``outcomes.bulk``): the same rules as the single-row services, a few queries a
batch instead of some ten a row. A refused record's errors go to the report under its row's line,
as a single-row service's refusal would."""

from collections.abc import Callable

from django.core.exceptions import ValidationError

from interop.import_rows import ImportReport, Sheet, errors_of

BATCH_SIZE = 2000
PENDING = object()  # the key of a record this import will create, not yet written


class Batch:
    """New records of one sheet waiting to be written. ``write(records)`` is a bulk service (it
    returns the refused ones' errors by index); ``done(key, record, saved)`` is told of each record
    once its batch is written."""

    def __init__(
        self,
        report: ImportReport,
        sheet: Sheet,
        write: Callable[[list], dict[int, ValidationError]],
        done: Callable[[object, object, bool], None] | None = None,
        size: int | None = None,
    ):
        self.report, self.sheet, self.write, self.done = report, sheet, write, done
        self.size = size or BATCH_SIZE
        self.rows: list[tuple[int, object, object]] = []

    def add(self, line: int, record, key=None) -> None:
        self.rows.append((line, record, key))
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        """Writes the waiting records (a later row that updates one of them, or the end of the sheet)."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        refused = self.write([record for _, record, _ in rows])
        for index, (line, record, key) in enumerate(rows):
            error = refused.get(index)
            if error is None:
                self.report.count(self.sheet.name, "created")
            else:
                for field, message in errors_of(error):
                    self.sheet.error(line, field, message)
            if self.done:
                self.done(key, record, error is None)

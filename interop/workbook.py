"""The registry workbook (docs/contract.md, Interoperability): every record a user may see, one sheet
per resource, written with openpyxl in write-only mode (rows are streamed from the database and
into the file, never held as a whole).

- Sheets, in this order: ``patients``, ``procedures``, ``screws``, ``encounters``,
  ``secondary_procedures``, ``complications``, ``visits_not_done`` (a scheduled visit of a procedure
  that did not take place: its ``visit`` key, the clinical ``reason`` code and the ``note``).
- Columns are named as in the contract. Rows are tied to their parents by natural keys, not ids:
  every row carries ``site`` (the site's code) and ``mrn``; a procedure's children carry
  ``procedure_date`` and ``procedure_treatment``. ``study_id`` (patients) and ``msts_total``
  (encounters) are written for the reader and ignored by the importer.
- Values: dates are spreadsheet dates, decimals and integers numbers, booleans TRUE/FALSE, an empty
  value an empty cell; ``indications`` is its codes separated by ";".
- Text cells are formula-safe by the rule of every CSV (``core.csv_safe.safe_cell``): a text a
  spreadsheet could run (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3``) gets a leading single quote,
  and every text cell is typed as a string, so openpyxl never stores one as a formula. The importer
  removes that quote again (``unneutralise``).
- Rows come in the order the patients were registered (their ids), then by date: imported into an
  empty registry, the records are created in the same order.
"""

from collections.abc import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from core.csv_safe import looks_like_formula, safe_cell
from outcomes import selectors as outcome_selectors
from outcomes.models import MSTS_FIELDS
from registry.models import Screw
from registry.selectors import patients_visible_to, procedures_visible_to

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_NAME = "registry.xlsx"
CHUNK_SIZE = 2000

PATIENT = ("site", "mrn")
PROCEDURE = (*PATIENT, "procedure_date", "procedure_treatment")

# Each sheet: its name and columns (the keys first). The importer reads the same table.
SHEETS: dict[str, tuple[str, ...]] = {
    "patients": (
        *PATIENT,
        "study_id",
        "birth_date",
        "sex",
        "primary_cancer",
        "primary_cancer_detail",
        "death_date",
    ),
    "procedures": (
        *PATIENT,
        "date",
        "treatment",
        "fracture_status",
        "ablation",
        "prior_local_radiation",
        "service",
        "cement_volume_ml",
        "approach",
        "indications",
    ),
    "screws": (*PROCEDURE, "corridor", "trajectory", "side", "diameter_mm", "length_mm", "fully_threaded"),
    "encounters": (
        *PROCEDURE,
        "date",
        "kind",
        *MSTS_FIELDS,
        "msts_total",
        "narcotic_change",
        "opioid_mme_per_day",
    ),
    "secondary_procedures": (*PROCEDURE, "date", "kind", "reason"),
    "complications": (*PROCEDURE, "date", "kind", "description", "resolved"),
    "visits_not_done": (*PROCEDURE, "visit", "reason", "note"),
}


def unneutralise(text: str) -> str:
    """The text a formula-safe cell stands for: ``safe_cell``'s leading quote removed."""
    if text.startswith("'") and looks_like_formula(text[1:]):
        return text[1:]
    return text


def _cell(sheet, value):
    if isinstance(value, list):
        value = ";".join(value)
    cell = WriteOnlyCell(sheet, value=safe_cell(value))
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text
    return cell


def _procedure_key(procedure) -> tuple:
    return (procedure.patient.site.code, procedure.patient.mrn, procedure.date, procedure.treatment)


def _patients(user) -> Iterator[tuple]:
    patients = patients_visible_to(user).select_related("site").order_by("id")
    for p in patients.iterator(chunk_size=CHUNK_SIZE):
        yield (
            p.site.code,
            p.mrn,
            p.study_id,
            p.birth_date,
            p.sex,
            p.primary_cancer,
            p.primary_cancer_detail,
            p.death_date,
        )


def _procedures(user) -> Iterator[tuple]:
    procedures = procedures_visible_to(user).select_related("patient__site").order_by("patient_id", "date", "id")
    for p in procedures.iterator(chunk_size=CHUNK_SIZE):
        yield (
            p.patient.site.code,
            p.patient.mrn,
            p.date,
            p.treatment,
            p.fracture_status,
            p.ablation,
            p.prior_local_radiation,
            p.service,
            p.cement_volume_ml,
            p.approach,
            list(p.indications),
        )


def _screws(user) -> Iterator[tuple]:
    screws = (
        Screw.objects.filter(procedure__in=procedures_visible_to(user))
        .select_related("procedure__patient__site")
        .order_by("procedure__patient_id", "procedure__date", "procedure_id", "id")
    )
    for s in screws.iterator(chunk_size=CHUNK_SIZE):
        yield (
            *_procedure_key(s.procedure),
            s.corridor,
            s.trajectory,
            s.side,
            s.diameter_mm,
            s.length_mm,
            s.fully_threaded,
        )


def _children(queryset) -> Iterable:
    return (
        queryset.select_related("procedure__patient__site")
        .order_by("procedure__patient_id", "procedure__date", "procedure_id", "date", "id")
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _encounters(user) -> Iterator[tuple]:
    for e in _children(outcome_selectors.encounters_visible_to(user)):
        yield (
            *_procedure_key(e.procedure),
            e.date,
            e.kind,
            *(getattr(e, field) for field in MSTS_FIELDS),
            e.msts_total,
            e.narcotic_change,
            e.opioid_mme_per_day,
        )


def _secondary_procedures(user) -> Iterator[tuple]:
    for e in _children(outcome_selectors.secondary_procedures_visible_to(user)):
        yield (*_procedure_key(e.procedure), e.date, e.kind, e.reason)


def _complications(user) -> Iterator[tuple]:
    for e in _children(outcome_selectors.complications_visible_to(user)):
        yield (*_procedure_key(e.procedure), e.date, e.kind, e.description, e.resolved)


def _visits_not_done(user) -> Iterator[tuple]:
    records = (
        outcome_selectors.visits_not_done_visible_to(user)
        .select_related("procedure__patient__site")
        .order_by("procedure__patient_id", "procedure__date", "procedure_id", "visit", "id")
    )
    for v in records.iterator(chunk_size=CHUNK_SIZE):
        yield (*_procedure_key(v.procedure), v.visit, v.reason, v.note)


_ROWS = {
    "patients": _patients,
    "procedures": _procedures,
    "screws": _screws,
    "encounters": _encounters,
    "secondary_procedures": _secondary_procedures,
    "complications": _complications,
    "visits_not_done": _visits_not_done,
}


def workbook_write(file, *, user) -> None:
    """Writes the registry workbook of the records ``user`` may read to ``file`` (a path or a binary
    file). The caller decides who may have it: it is identified data."""
    book = Workbook(write_only=True)
    for name, columns in SHEETS.items():
        sheet = book.create_sheet(name)
        sheet.append(list(columns))
        for row in _ROWS[name](user):
            sheet.append([_cell(sheet, value) for value in row])
    book.save(file)

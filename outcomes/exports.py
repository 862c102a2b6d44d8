"""Long-format exports: one row per encounter with its patient and procedure, streamed.

Rows are read with a server-side cursor (``QuerySet.iterator``) and written as they come, so
an export of any size holds one chunk of rows in memory, never the whole table.

Two variants:

- identified (``encounters.csv|json``): every column, PHI included; for the users who may see
  PHI (clinicians: their sites; admins: all);
- de-identified (``encounters-deidentified.csv|json``), the only one investigators may use,
  following HIPAA Safe Harbor (45 CFR 164.514(b)(2)):

  * no direct identifier: no MRN, no birth date, no death date, no free text (free text may
    quote names or numbers);
  * every date becomes a number of days from the patient's index (first) procedure, which is
    day 0; intervals are not identifiers;
  * ages over 89 are aggregated into "90+";
  * ``study_id`` is kept: it is a number the registry draws from a database sequence when the
    patient is recorded (``SAC-00042``), not derived from any information about the person,
    and it is shown to investigators by the API already, so a per-export pseudonym would add
    no protection while breaking the link between exports (Safe Harbor's re-identification
    code, 164.514(c));
  * the site code is kept: it names the treating institution, not where the patient lives.
"""

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import Case, CharField, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat

from core.csv_safe import SafeWriter
from outcomes.models import Encounter
from outcomes.msts import MSTS_FIELDS, msts_percent
from registry.models import Procedure, Screw
from registry.vocabulary import age_label

CHUNK_SIZE = 2000
# The ``screws`` column: each screw as its parts joined by "/" (``S1/transsacral/left/7.3/true``), the
# screws of a procedure joined by ";" in the order they were recorded (screw id); empty without screws.
# A screw's length, where recorded, follows as a sixth part (``S1/transsacral/left/7.3/true/140.0``).
SCREW_PARTS = ("corridor", "trajectory", "side", "diameter_mm", "fully_threaded", "length_mm")
SCREW_PART_SEPARATOR = "/"
SCREW_SEPARATOR = ";"
# Columns read from the database: (output name, ORM path from Encounter).
_SOURCE = [
    ("study_id", "procedure__patient__study_id"),
    ("site", "procedure__patient__site__code"),
    ("mrn", "procedure__patient__mrn"),
    ("birth_date", "procedure__patient__birth_date"),
    ("sex", "procedure__patient__sex"),
    ("primary_cancer", "procedure__patient__primary_cancer"),
    ("primary_cancer_detail", "procedure__patient__primary_cancer_detail"),
    ("death_date", "procedure__patient__death_date"),
    ("procedure_id", "procedure_id"),
    ("procedure_date", "procedure__date"),
    ("treatment", "procedure__treatment"),
    ("fracture_status", "procedure__fracture_status"),
    ("ablation", "procedure__ablation"),
    ("prior_local_radiation", "procedure__prior_local_radiation"),
    ("service", "procedure__service"),
    ("cement_volume_ml", "procedure__cement_volume_ml"),
    ("approach", "procedure__approach"),
    ("indications", "procedure__indications"),
    ("screw_count", "screw_count"),
    ("screws", "screws"),
    ("encounter_id", "id"),
    ("encounter_date", "date"),
    ("kind", "kind"),
    *[(field, field) for field in MSTS_FIELDS],
    ("msts_total", "msts_total"),
    ("narcotic_change", "narcotic_change"),
    ("opioid_mme_per_day", "opioid_mme_per_day"),
    ("index_date", "index_date"),
]

# Columns both layouts share, in the same order.
_PROCEDURE_COLUMNS = [
    "treatment",
    "fracture_status",
    "ablation",
    "prior_local_radiation",
    "service",
    "cement_volume_ml",
    "approach",
    "indications",
    "screw_count",
    "screws",
]
_SCORE_COLUMNS = [
    *MSTS_FIELDS,
    "msts_total",
    "msts_percent",
    "narcotic_change",
    "opioid_mme_per_day",
]

IDENTIFIED_COLUMNS = [
    "study_id",
    "site",
    "mrn",
    "birth_date",
    "sex",
    "primary_cancer",
    "primary_cancer_detail",
    "death_date",
    "age_at_index",
    "procedure_id",
    "procedure_date",
    "is_index_procedure",
    *_PROCEDURE_COLUMNS,
    "encounter_id",
    "encounter_date",
    "days_from_index",
    "kind",
    *_SCORE_COLUMNS,
]

DEIDENTIFIED_COLUMNS = [
    "study_id",
    "site",
    "sex",
    "primary_cancer",
    "age_at_index",
    "deceased",
    "death_day",
    "procedure_id",
    "procedure_day",
    "is_index_procedure",
    *_PROCEDURE_COLUMNS,
    "encounter_id",
    "encounter_day",
    "kind",
    *_SCORE_COLUMNS,
]


def _screws_text() -> Coalesce:
    """The procedure's screws as one text, aggregated in the database (no query per row)."""
    separator = Value(SCREW_PART_SEPARATOR)
    screw = Concat(
        "corridor",
        separator,
        "trajectory",
        separator,
        "side",
        separator,
        Cast("diameter_mm", CharField()),  # numeric(3, 1) as text: "7.3", "8.0"
        separator,
        Case(When(fully_threaded=True, then=Value("true")), default=Value("false")),
        Case(
            When(length_mm__isnull=False, then=Concat(separator, Cast("length_mm", CharField()))),
            default=Value(""),
        ),
        output_field=CharField(),
    )
    screws = (
        Screw.objects.filter(procedure_id=OuterRef("procedure_id"))
        .order_by()
        .values("procedure_id")
        .annotate(text=StringAgg(screw, SCREW_SEPARATOR, order_by="id"))
        .values("text")
    )
    return Coalesce(Subquery(screws, output_field=CharField()), Value(""))


def export_queryset(encounters: QuerySet[Encounter]) -> QuerySet:
    """The encounters as flat value rows, each with its patient's index date, its procedure's screw count
    and screws (one query)."""
    index_date = (
        Procedure.objects.filter(patient_id=OuterRef("procedure__patient_id")).order_by("date", "id").values("date")[:1]
    )
    screw_count = (
        Screw.objects.filter(procedure_id=OuterRef("procedure_id"))
        .order_by()
        .values("procedure_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        encounters.annotate(
            index_date=Subquery(index_date),
            screw_count=Coalesce(Subquery(screw_count, output_field=IntegerField()), 0),
            screws=_screws_text(),
        )
        .order_by("procedure__patient__study_id", F("procedure__date"), "procedure_id", "date", "id")
        .values(*[path for _, path in _SOURCE])
    )


def _days(day: date | None, index: date | None) -> int | None:
    return None if day is None or index is None else (day - index).days


def _common(raw: dict) -> dict:
    return {
        "age_at_index": age_label(raw["procedure__patient__birth_date"], raw["index_date"]),
        "is_index_procedure": raw["procedure__date"] == raw["index_date"],
        "msts_percent": msts_percent(raw["msts_total"]),
    }


def identified_row(raw: dict) -> dict:
    named = {name: raw[path] for name, path in _SOURCE}
    named.update(_common(raw), days_from_index=_days(raw["date"], raw["index_date"]))
    return {column: named[column] for column in IDENTIFIED_COLUMNS}


def deidentified_row(raw: dict) -> dict:
    named = {name: raw[path] for name, path in _SOURCE}
    index = raw["index_date"]
    named.update(
        _common(raw),
        deceased=raw["procedure__patient__death_date"] is not None,
        death_day=_days(raw["procedure__patient__death_date"], index),
        procedure_day=_days(raw["procedure__date"], index),
        encounter_day=_days(raw["date"], index),
    )
    return {column: named[column] for column in DEIDENTIFIED_COLUMNS}


def iter_rows(encounters: QuerySet[Encounter], *, deidentified: bool) -> Iterator[dict]:
    build = deidentified_row if deidentified else identified_row
    for raw in export_queryset(encounters).iterator(chunk_size=CHUNK_SIZE):
        yield build(raw)


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return value


def csv_lines(rows: Iterator[dict], columns: list[str]) -> Iterator[str]:
    """The rows as CSV lines; a text cell that a spreadsheet could run as a formula (an MRN ``=1+2``,
    a free text ``=HYPERLINK(...)``) is written with a leading quote, numbers as they are."""
    writer = SafeWriter(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_csv_value(row[column]) for column in columns])


def _json_default(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Cannot export a {type(value).__name__}.")


def json_chunks(rows: Iterator[dict]) -> Iterator[str]:
    """A JSON array written one row at a time."""
    yield "["
    separator = "\n"
    for row in rows:
        yield separator + json.dumps(row, default=_json_default)
        separator = ",\n"
    yield "\n]\n"

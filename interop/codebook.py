"""The codebook of the encounter exports: every column of both layouts (``outcomes.exports``) with
its label, type, unit and codes, defined once for the Stata and SPSS files (variable and value
labels), ``/api/exports/codebook.csv`` and the codebook page.

Codes come from the one vocabulary (``registry.choices``, ``outcomes.models``). Stata and SPSS
value labels need numbers, so a coded column is written to their files as 1..n in the order of its
choices, each number labelled with the code's label; the codebook lists both the registry's code
and its number. Booleans are 0 (no) and 1 (yes). An age over 89 ("90+" in CSV and JSON) is 90,
labelled "90 or older". ``indications`` holds several codes at once, so it stays a text of codes
separated by ";" as in the CSV, and its codes carry no number.
"""

from typing import NamedTuple

from django.db.models import TextChoices

from outcomes.exports import DEIDENTIFIED_COLUMNS, IDENTIFIED_COLUMNS
from outcomes.models import EncounterKind, NarcoticChange
from outcomes.msts import DOMAIN_MAX, DOMAINS, MSTS_MAX
from registry.choices import Ablation, Approach, FractureStatus, Indication, PrimaryCancer, Service, Sex, Treatment
from registry.vocabulary import AGE_CAP

# Types of the codebook.
STRING = "string"
INTEGER = "integer"
DECIMAL = "decimal"
DATE = "date"
CODED = "coded"
BOOLEAN = "boolean"
CODE_LIST = "code list"


class Code(NamedTuple):
    code: str  # as in the CSV and JSON exports
    number: int | None  # as in the Stata and SPSS files; None for the codes of a code list
    label: str


class Variable(NamedTuple):
    name: str
    label: str  # Stata allows 80 characters
    type: str
    unit: str = ""
    codes: tuple[Code, ...] = ()

    @property
    def codes_text(self) -> str:
        """The codes as one cell: ``psfs=1 PSFS (...); sacroplasty=2 Sacroplasty alone``."""
        return "; ".join(
            f"{code.code}: {code.label}" if code.number is None else f"{code.code}={code.number} {code.label}"
            for code in self.codes
        )

    @property
    def value_labels(self) -> dict[int, str]:
        """The value labels of the Stata and SPSS files (empty for a variable without numbered codes)."""
        return {code.number: code.label for code in self.codes if code.number is not None}

    @property
    def numbers(self) -> dict[str, int]:
        """Each code's number in the Stata and SPSS files."""
        return {code.code: code.number for code in self.codes if code.number is not None}


def _numbered(choices: type[TextChoices]) -> tuple[Code, ...]:
    return tuple(Code(value, number, label) for number, (value, label) in enumerate(choices.choices, start=1))


# Every screw of the procedure as corridor/trajectory/side/diameter/fully threaded[/length], joined by ";".
SCREWS_LABEL = "Screws (corridor/trajectory/side/diameter mm/fully threaded[/length mm]; ...)"
YES_NO = (Code("false", 0, "no"), Code("true", 1, "yes"))
_DAYS = "days from the index procedure"


def _coded(name: str, label: str, choices: type[TextChoices]) -> Variable:
    return Variable(name, label, CODED, codes=_numbered(choices))


def _boolean(name: str, label: str) -> Variable:
    return Variable(name, label, BOOLEAN, codes=YES_NO)


_VARIABLES = [
    Variable("study_id", "Study id (assigned by the registry)", STRING),
    Variable("site", "Site code", STRING),
    Variable("mrn", "Medical record number (MRN)", STRING),
    Variable("birth_date", "Date of birth", DATE),
    _coded("sex", "Sex", Sex),
    _coded("primary_cancer", "Primary cancer", PrimaryCancer),
    Variable("primary_cancer_detail", "Primary cancer, detail (free text)", STRING),
    Variable("death_date", "Date of death", DATE),
    Variable(
        "age_at_index",
        "Age at the index procedure",
        INTEGER,
        "years",
        (Code(f"{AGE_CAP}+", AGE_CAP, f"{AGE_CAP} or older"),),
    ),
    _boolean("deceased", "Deceased"),
    Variable("death_day", "Death, days from the index procedure", INTEGER, _DAYS),
    Variable("procedure_id", "Procedure id", INTEGER),
    Variable("procedure_date", "Procedure date", DATE),
    Variable("procedure_day", "Procedure, days from the index procedure", INTEGER, _DAYS),
    _boolean("is_index_procedure", "Index (first) procedure of the patient"),
    _coded("treatment", "Treatment", Treatment),
    _coded("fracture_status", "Fracture status", FractureStatus),
    _coded("ablation", "Tumour ablation", Ablation),
    _boolean("prior_local_radiation", "Local radiotherapy to the sacrum before the procedure"),
    _coded("service", "Service", Service),
    Variable("cement_volume_ml", "Cement volume", DECIMAL, "ml"),
    _coded("approach", "Approach", Approach),
    Variable(
        "indications",
        "Indications (codes separated by ;)",
        CODE_LIST,
        codes=tuple(Code(value, None, label) for value, label in Indication.choices),
    ),
    Variable("screw_count", "Number of screws", INTEGER, "screws"),
    Variable("screws", SCREWS_LABEL, STRING),
    Variable("encounter_id", "Encounter id", INTEGER),
    Variable("encounter_date", "Encounter date", DATE),
    Variable("days_from_index", "Encounter, days from the index procedure", INTEGER, _DAYS),
    Variable("encounter_day", "Encounter, days from the index procedure", INTEGER, _DAYS),
    _coded("kind", "Encounter kind", EncounterKind),
    *[Variable(domain.field, f"MSTS {domain.label.lower()} (0-{DOMAIN_MAX})", INTEGER, "points") for domain in DOMAINS],
    Variable("msts_total", f"MSTS total (0-{MSTS_MAX}), all six domains scored", INTEGER, "points"),
    Variable("msts_percent", f"MSTS total as a percentage of {MSTS_MAX}", DECIMAL, "%"),
    _coded("narcotic_change", "Narcotic use compared with before the procedure", NarcoticChange),
    Variable("opioid_mme_per_day", "Opioid dose, oral morphine milligram equivalents", DECIMAL, "MME/day"),
]
VARIABLES = {variable.name: variable for variable in _VARIABLES}


def layout(*, deidentified: bool) -> list[Variable]:
    """The variables of one encounter export, in its column order."""
    columns = DEIDENTIFIED_COLUMNS if deidentified else IDENTIFIED_COLUMNS
    return [VARIABLES[column] for column in columns]


def codebook() -> list[Variable]:
    """Every variable of either export: the identified layout's, then those only the de-identified one has."""
    identified = layout(deidentified=False)
    return identified + [variable for variable in layout(deidentified=True) if variable not in identified]


CODEBOOK_COLUMNS = ["variable", "label", "type", "unit", "codes"]


def codebook_rows() -> list[list[str]]:
    return [
        [variable.name, variable.label, variable.type, variable.unit, variable.codes_text] for variable in codebook()
    ]

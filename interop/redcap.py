"""The registry's instruments as a REDCap data dictionary (``/api/exports/redcap-data-dictionary.csv``),
so that a site working in REDCap can build a project whose fields and codes are the registry's.

Built from the models' fields and choices (the one vocabulary): a field with choices is a ``radio``
whose raw values are the contract's codes (REDCap accepts alphanumeric raw values with underscores),
``indications`` a ``checkbox``, a boolean ``yesno``, a date a ``text`` validated ``date_ymd`` (not after
today), a whole number ``integer`` and a decimal ``number`` with the contract's limits, a long free text
``notes``, and the MSTS total and percentage ``calc`` fields (REDCap leaves a sum blank while any of its
fields is blank, as the registry's total is null until all six domains are scored).

Forms (instruments), in order: ``patient``, ``procedure``, ``screw``, ``encounter``,
``secondary_procedure``, ``complication``. A REDCap record is one patient, keyed by ``study_id`` (the
first field of the first form, as REDCap requires). REDCap has no nested rows, so every form but
``patient`` is meant to be a *repeating instrument* (to be switched on in the project's settings: a
data dictionary cannot carry it), and each child form links to its procedure by the procedure's
repeat instance number in the same record (``screw_procedure``, ``encounter_procedure``, ...). The
registry's ids are not part of the project: REDCap's record id and repeat instances stand in for them.

Variable names must be unique in a REDCap project: a contract name used by several resources
(``date``, ``kind``) is prefixed by its form (``encounter_date``, ``complication_kind``); the others are
the contract's names letter for letter. ``VARIABLES`` maps each contract field to its variable.

Identifiers (REDCap's "Identifier?" column, which its de-identified exports drop): the MRN, every date
(birth, death and the dates of events) and every free text, as in the registry's de-identified view.
"""

from typing import NamedTuple

from django.contrib.postgres.fields import ArrayField
from django.db import models

from outcomes.models import Complication, Encounter, SecondaryProcedure
from outcomes.msts import DOMAIN_MAX, MSTS_FIELDS, MSTS_MAX
from registry.models import Patient, Procedure, Screw

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]

# The contract's plausibility limits (docs/contract.md, "Plausibility limits") and the model's range of
# a screw's diameter: (min, max) of a number field.
NUMBER_LIMITS = {
    "cement_volume_ml": ("0", "100"),
    "opioid_mme_per_day": ("0", "5000"),
    "diameter_mm": ("0.1", "12"),
    "length_mm": ("0.1", "250"),
}
EARLIEST_BIRTH_DATE = "1900-01-01"


class Row(NamedTuple):
    variable: str
    form: str
    field_type: str
    label: str
    choices: str = ""
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    branching: str = ""
    required: bool = False
    section: str = ""
    annotation: str = ""

    def cells(self) -> list[str]:
        return [
            self.variable,
            self.form,
            self.section,
            self.field_type,
            self.label,
            self.choices,
            self.note,
            self.validation,
            self.minimum,
            self.maximum,
            "y" if self.identifier else "",
            self.branching,
            "y" if self.required else "",
            "",
            "",
            "",
            "",
            self.annotation,
        ]


class Form(NamedTuple):
    name: str
    resource: str  # the contract's resource
    model: type[models.Model]
    fields: tuple[str, ...]  # the model's (contract's) fields, in the contract's order
    prefix: str = ""  # for the names several resources share


_SHARED_NAMES = {"date", "kind"}
FORMS = (
    Form(
        "patient",
        "Patient",
        Patient,
        ("study_id", "site", "mrn", "birth_date", "sex", "primary_cancer", "primary_cancer_detail", "death_date"),
    ),
    Form(
        "procedure",
        "Procedure",
        Procedure,
        (
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
        "procedure",
    ),
    Form(
        "screw",
        "Screw",
        Screw,
        ("corridor", "trajectory", "side", "diameter_mm", "length_mm", "fully_threaded"),
        "screw",
    ),
    Form(
        "encounter",
        "Encounter",
        Encounter,
        ("date", "kind", *MSTS_FIELDS, "msts_total", "msts_percent", "narcotic_change", "opioid_mme_per_day"),
        "encounter",
    ),
    Form("secondary_procedure", "Secondary procedure", SecondaryProcedure, ("date", "kind", "reason"), "secondary"),
    Form(
        "complication",
        "Complication",
        Complication,
        ("date", "kind", "description", "resolved"),
        "complication",
    ),
)


def variable_name(form: Form, field: str) -> str:
    return f"{form.prefix}_{field}" if field in _SHARED_NAMES else field


def choices_text(choices) -> str:
    """REDCap's choices cell: ``raw value, label | raw value, label``, the raw values being the codes."""
    return " | ".join(f"{code}, {label}" for code, label in choices)


def _label(field: models.Field) -> str:
    text = str(field.verbose_name)
    return text[:1].upper() + text[1:]


def _calc_rows(form: Form) -> dict[str, Row]:
    total = "+".join(f"[{name}]" for name in MSTS_FIELDS)
    return {
        "msts_total": Row(
            "msts_total",
            form.name,
            "calc",
            f"MSTS total (0-{MSTS_MAX})",
            total,
            note="The sum of the six domains; blank unless all six are scored.",
            annotation="Contract: encounter.msts_total",
        ),
        "msts_percent": Row(
            "msts_percent",
            form.name,
            "calc",
            "MSTS total, % of 30",
            f"round([msts_total]/{MSTS_MAX}*100,1)",
            note=f"msts_total / {MSTS_MAX} x 100, one decimal.",
            annotation="Contract: encounter.msts_percent",
        ),
    }


def _field_row(form: Form, name: str) -> Row:
    field = form.model._meta.get_field(name)
    variable = variable_name(form, name)
    common = {
        "variable": variable,
        "form": form.name,
        "label": f"{form.resource} {name}" if name in _SHARED_NAMES else _label(field),
        "note": str(field.help_text),
        # Required as in the API: a field that may be left out has a default or may be blank.
        "required": not field.blank and not field.has_default(),
        "annotation": f"Contract: {form.name}.{name}",
    }
    if isinstance(field, ArrayField):
        return Row(field_type="checkbox", choices=choices_text(field.base_field.choices), **common)
    if field.choices:
        return Row(field_type="radio", choices=choices_text(field.choices), **common)
    if isinstance(field, models.BooleanField):
        return Row(field_type="yesno", **common)
    if isinstance(field, models.DateField):
        minimum = EARLIEST_BIRTH_DATE if name == "birth_date" else ""
        return Row(
            field_type="text", validation="date_ymd", minimum=minimum, maximum="today", identifier=True, **common
        )
    if isinstance(field, models.DecimalField):
        minimum, maximum = NUMBER_LIMITS[name]
        return Row(field_type="text", validation="number", minimum=minimum, maximum=maximum, **common)
    if isinstance(field, models.PositiveSmallIntegerField):
        common["label"] = f"MSTS {common['label'].lower()} (0-{DOMAIN_MAX})"
        return Row(field_type="text", validation="integer", minimum="0", maximum=str(DOMAIN_MAX), **common)
    if isinstance(field, models.TextField):
        return Row(field_type="notes", identifier=True, **common)
    return Row(field_type="text", **common)


# Rules of the contract a model field does not say by itself.
_ADJUSTMENTS = {
    "study_id": {
        "label": "Study id",
        "note": "The record id: the registry's study id (e.g. SAC-00042).",
        "required": True,
    },
    "site": {"label": "Site code", "note": "The registry's site code, e.g. MCW."},
    "mrn": {"identifier": True, "note": "Unique within its site."},
    "primary_cancer_detail": {
        "identifier": True,
        "required": True,
        "branching": "[primary_cancer] = 'other'",
        "note": "Required when the primary cancer is other.",
    },
    "death_date": {"note": "Not before the birth date nor before any of the patient's procedures."},
    "narcotic_change": {"branching": "[encounter_kind] = 'followup'", "note": "Follow-ups only."},
}


def _link_row(form: Form) -> Row:
    return Row(
        f"{form.prefix}_procedure",
        form.name,
        "text",
        "Procedure (its repeat instance in this record)",
        note="The instance number of the procedure form this record belongs to.",
        validation="integer",
        minimum="1",
        required=True,
        annotation=f"Contract: {form.name}.procedure",
    )


def dictionary_rows() -> list[Row]:
    """Every field of every form, in order."""
    rows = []
    for form in FORMS:
        form_rows = [_link_row(form)] if form.model not in (Patient, Procedure) else []
        calcs = _calc_rows(form) if form.model is Encounter else {}
        for name in form.fields:
            row = calcs.get(name) or _field_row(form, name)
            form_rows.append(row._replace(**_ADJUSTMENTS.get(row.variable, {})))
        form_rows[0] = form_rows[0]._replace(section=form.resource)
        rows.extend(form_rows)
    return rows


def dictionary_cells() -> list[list[str]]:
    return [HEADER, *(row.cells() for row in dictionary_rows())]

"""The registry's shared vocabulary as plain Python (no Django), so that models, exports, pages and
the pure statistics all read one definition.

Treatments and fracture statuses (the study's strata): their codes, fixed by the REST contract
(docs/contract.md), in the study's order, with their labels.

Ages: full years on a day; HIPAA Safe Harbor aggregates ages over 89 into one "90+" category.
"""

from datetime import date

# --- Treatments ---------------------------------------------------------------------------------

PSFS = "psfs"
SACROPLASTY = "sacroplasty"
TREATMENTS = (PSFS, SACROPLASTY)
# The full label of forms and records; the short one of tables, headings and chart legends.
TREATMENT_LABELS = {PSFS: "PSFS (screw fixation with sacroplasty)", SACROPLASTY: "Sacroplasty alone"}
TREATMENT_SHORT_LABELS = {PSFS: "PSFS", SACROPLASTY: "Sacroplasty"}

# --- Fracture statuses: the strata of the analysis ----------------------------------------------

PATHOLOGICAL = "pathological"
IMPENDING = "impending"
STRATA = (PATHOLOGICAL, IMPENDING)
# The label of one procedure's status; the heading of a stratum (its patients).
FRACTURE_STATUS_LABELS = {PATHOLOGICAL: "Pathological fracture", IMPENDING: "Impending fracture"}
STRATUM_LABELS = {PATHOLOGICAL: "Pathological fractures", IMPENDING: "Impending fractures"}

# --- Ages ---------------------------------------------------------------------------------------

AGE_CAP = 90  # Safe Harbor: ages over 89 are aggregated into one "90+" category


def age_years(birth_date: date, day: date) -> int:
    """Full years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_label(birth_date: date | None, day: date | None) -> int | str | None:
    """Full years of age on ``day``, or "90+" from 90 on; None without both dates."""
    if birth_date is None or day is None:
        return None
    years = age_years(birth_date, day)
    return "90+" if years >= AGE_CAP else years

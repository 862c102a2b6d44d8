"""Plausibility limits of patients and procedures (contract: "Plausibility limits").

Hard limits are errors (400 in the API, form errors in the pages): a patient is 0 to 110 years old
at any procedure (``date`` of a procedure, ``birth_date`` of a patient). The limits a single field
can state alone (birth from 1900-01-01, cement at most 100 ml) are the models' validators and
database constraints.

Soft limits are warnings: the services raise ``core.writes.NeedsConfirmation`` with them unless
called with ``confirm=True``; the web pages ask "are you sure?", the API accepts. A warning is
raised only when the value it is about is new or changed, so confirming it once is enough.
"""

import datetime
from collections.abc import Collection
from decimal import Decimal

from registry.vocabulary import age_years

AGE_AT_PROCEDURE_MAX = 110
ADULT_AGE = 18
CEMENT_VOLUME_WARNING_ML = Decimal(40)


def _touched(changed: Collection[str] | None, *names: str) -> bool:
    """Whether a rule about ``names`` applies: always for a new record (``changed`` is None)."""
    return changed is None or any(name in changed for name in names)


def _too_old_message(age: int, day: datetime.date) -> str:
    return (
        f"The patient would be {age} years old at the procedure of {day:%Y-%m-%d}; "
        f"the registry accepts ages up to {AGE_AT_PROCEDURE_MAX}."
    )


def procedure_age_errors(birth_date: datetime.date | None, day: datetime.date | None) -> dict:
    """The hard age limit of a procedure on ``day``: ``{"date": [...]}`` past 110 years.

    An age below 0 (a procedure before birth) is the model's own rule."""
    if birth_date is None or day is None:
        return {}
    age = age_years(birth_date, day)
    return {"date": [_too_old_message(age, day)]} if age > AGE_AT_PROCEDURE_MAX else {}


def birth_date_errors(birth_date: datetime.date | None, procedure_dates: Collection[datetime.date]) -> dict:
    """The age limits when a patient's date of birth changes: ``{"birth_date": [...]}`` when a
    procedure of the patient would come before birth or after the 110th year."""
    if birth_date is None or not procedure_dates:
        return {}
    earliest, latest = min(procedure_dates), max(procedure_dates)
    if earliest < birth_date:
        return {"birth_date": [f"The date of birth cannot be after a procedure of this patient ({earliest:%Y-%m-%d})."]}
    age = age_years(birth_date, latest)
    return {"birth_date": [_too_old_message(age, latest)]} if age > AGE_AT_PROCEDURE_MAX else {}


def _minor_warning(age: int, day: datetime.date) -> str:
    return (
        f"The patient would be {age} years old at the procedure of {day:%Y-%m-%d} (under {ADULT_AGE}): "
        "check the date of birth and the procedure date."
    )


def procedure_warnings(procedure, *, changed: Collection[str] | None = None) -> list[str]:
    """Soft limits of a procedure (new, or with the fields named in ``changed``): cement above
    40 ml; a patient under 18 on the procedure's date."""
    warnings = []
    cement = procedure.cement_volume_ml
    if _touched(changed, "cement_volume_ml") and cement is not None and cement > CEMENT_VOLUME_WARNING_ML:
        warnings.append(
            f"Cement volume: {cement:.1f} ml is more than {CEMENT_VOLUME_WARNING_ML} ml, "
            "an unusually large volume; check the value."
        )
    birth_date = procedure.patient.birth_date
    if _touched(changed, "date") and birth_date and procedure.date and procedure.date >= birth_date:
        age = age_years(birth_date, procedure.date)
        if age < ADULT_AGE:
            warnings.append(_minor_warning(age, procedure.date))
    return warnings


def birth_date_warnings(birth_date: datetime.date | None, procedure_dates: Collection[datetime.date]) -> list[str]:
    """Soft limit of a changed date of birth: the patient under 18 at one of their procedures."""
    if birth_date is None or not procedure_dates:
        return []
    earliest = min(procedure_dates)
    if earliest < birth_date:
        return []  # the model refuses a procedure before birth
    age = age_years(birth_date, earliest)
    return [_minor_warning(age, earliest)] if age < ADULT_AGE else []

"""Plausibility limits of encounters (contract: "Plausibility limits").

The hard limit (at most 5,000 MME/day) is the model's validator and a database constraint. The soft
ones are warnings: the services raise ``core.writes.NeedsConfirmation`` with them unless called with
``confirm=True`` (the web pages ask, the API accepts). A warning is raised only when the value it is
about is new or changed, so confirming it once is enough.
"""

import datetime
from collections.abc import Collection
from decimal import Decimal

from outcomes.models import EncounterKind

MME_WARNING = Decimal(1000)
FOLLOWUP_WARNING_YEARS = 3


def years_after(day: datetime.date, years: int) -> datetime.date:
    """The same calendar day ``years`` later (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _touched(changed: Collection[str] | None, *names: str) -> bool:
    return changed is None or any(name in changed for name in names)


def encounter_warnings(encounter, *, changed: Collection[str] | None = None) -> list[str]:
    """Soft limits of an encounter (new, or with the fields named in ``changed``): more than
    1,000 MME/day; a follow-up more than 3 years after its procedure."""
    warnings = []
    mme = encounter.opioid_mme_per_day
    if _touched(changed, "opioid_mme_per_day") and mme is not None and mme > MME_WARNING:
        warnings.append(
            f"Opioid dose: {mme:,.1f} MME/day is more than {MME_WARNING:,} MME/day, "
            "an unusually high dose; check the value."
        )
    procedure_date = encounter.procedure.date
    if (
        _touched(changed, "date", "kind")
        and encounter.kind == EncounterKind.FOLLOWUP
        and encounter.date
        and encounter.date > years_after(procedure_date, FOLLOWUP_WARNING_YEARS)
    ):
        days = (encounter.date - procedure_date).days
        warnings.append(
            f"Date: this follow-up is {days:,} days after its procedure ({procedure_date:%Y-%m-%d}), "
            f"more than {FOLLOWUP_WARNING_YEARS} years; check the date."
        )
    return warnings

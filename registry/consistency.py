"""Rules between a patient's records (issue "Consistency between records"), kept apart from the
services that apply them: each function returns errors (a dict naming the field, refused) or
warnings (sentences the web pages ask the user to confirm; the API accepts them).

The records that hang on a procedure (encounters, secondary procedures, complications, visits not
done) belong to apps above this one. As for a moved procedure's date (``procedure_date_errors``),
this module asks each model on ``Procedure._meta.related_objects`` that answers:

- ``death_date_errors(patient, death_date)``: sentences naming each kind of record dated after a
  death on ``death_date``;
- ``analysis_counts(procedure)``: phrases counting the records of ``procedure`` that the analysis
  reads through a patient's index procedure ("3 follow-ups", "1 baseline").
"""

import datetime
from collections.abc import Sequence

from django.db.models import Max

from core.web import display_value
from registry.choices import Treatment
from registry.models import Patient, Procedure, Screw
from registry.vocabulary import TREATMENT_SHORT_LABELS


def _related_answers(method: str, *args) -> list[str]:
    """What every model hanging on a procedure answers to ``method`` (those that define it)."""
    answers = []
    for relation in Procedure._meta.related_objects:
        ask = getattr(relation.related_model, method, None)
        if ask is not None:
            answers.extend(ask(*args))
    return answers


# --- Death date -----------------------------------------------------------------------------


def death_date_errors(patient: Patient) -> dict:
    """A death date before any procedure, visit or event of the patient is refused (``death_date``),
    naming the latest record of each kind that would fall after it: the mirror of the visit forms'
    rule that nothing is dated after the death."""
    death = patient.death_date
    if not (patient.pk and death):
        return {}
    messages = []
    last = patient.procedures.aggregate(last=Max("date"))["last"]
    if last and death < last:
        messages.append(f"Date of death cannot be before a procedure of this patient ({last:%Y-%m-%d}).")
    messages.extend(_related_answers("death_date_errors", patient, death))
    return {"death_date": messages} if messages else {}


# --- Index procedure ----------------------------------------------------------------------------


def _sort_key(procedure: Procedure) -> tuple[datetime.date, float]:
    # The index procedure is the first by (date, id); a new procedure's id comes after every other.
    return procedure.date, procedure.pk if procedure.pk else float("inf")


def _counted(procedure: Procedure, which: str) -> str:
    # A procedure not yet saved (a bulk service's earlier row) has nothing hanging on it.
    counts = _related_answers("analysis_counts", procedure) if procedure.pk else []
    if not counts:
        return ""
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    return f"; the {listed} of {which} procedure would no longer count in the analysis"


def _described(procedure: Procedure) -> str:
    return f"{TREATMENT_SHORT_LABELS[procedure.treatment]} on {procedure.date:%Y-%m-%d}"


def index_change_warnings(procedure: Procedure, *, others=None) -> list[str]:
    """Warns when saving ``procedure`` (new, or with a changed date) changes which procedure is the
    patient's index procedure, saying which one and what the analysis would stop counting.
    ``others``: the patient's other procedures, when the caller holds them (those not yet saved
    come after the saved ones, in the order they will be saved)."""
    if not (procedure.patient_id and procedure.date):
        return []
    if others is None:
        others = list(Procedure.objects.filter(patient_id=procedure.patient_id).exclude(pk=procedure.pk))
    if not others:
        return []
    current = min([*others, *([Procedure.objects.get(pk=procedure.pk)] if procedure.pk else [])], key=_sort_key)
    future = min([*others, procedure], key=_sort_key)
    if current is future or (current.pk is not None and current.pk == future.pk):
        return []
    if future is procedure:
        return [
            f"This procedure ({procedure.date:%Y-%m-%d}) would become the index procedure instead of "
            f"{_described(current)}{_counted(current, 'that')}."
        ]
    return [
        f"This procedure ({procedure.date:%Y-%m-%d}) would no longer be the index procedure: "
        f"{_described(future)} would be{_counted(procedure, 'this')}."
    ]


# --- Screws -------------------------------------------------------------------------------------


def _screw_label(screw: Screw) -> str:
    trajectory = display_value(Screw, "trajectory", screw.trajectory)
    side = display_value(Screw, "side", screw.side).lower()
    return f"{screw.corridor} {trajectory} {side} {screw.diameter_mm} mm"


def screw_removal_warnings(procedure: Procedure, screws: Sequence[dict] | None) -> list[str]:
    """Warns before a PSFS procedure becomes a sacroplasty and loses its screws, listing them."""
    if not procedure.pk or procedure.treatment != Treatment.SACROPLASTY or screws is None or screws:
        return []  # screws=None keeps them (and the service refuses a sacroplasty with screws)
    if Procedure.objects.filter(pk=procedure.pk).values_list("treatment", flat=True).first() != Treatment.PSFS:
        return []
    existing = list(Screw.objects.filter(procedure_id=procedure.pk).order_by("id"))
    if not existing:
        return []
    listed = "; ".join(_screw_label(screw) for screw in existing)
    noun = "screw" if len(existing) == 1 else f"{len(existing)} screws"
    return [f"Changing the treatment to sacroplasty removes this procedure's {noun}: {listed}."]

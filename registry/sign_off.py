"""Record sign-off: a registry admin declares a patient's index procedure and its follow-ups
complete once the 3-month window has closed; until unlocked (with a reason), every service that
changes the procedure or a record hanging on it refuses (``check_not_signed_off``).

These are services like those of ``registry.services`` (kept in a module of their own, which the
outcomes services call too): keyword-only, atomic, audited.
"""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.writes import audit_context, clinical_data_changed, lock_for_update, require_reason, save
from registry.models import Patient, Procedure
from registry.permissions import is_admin

# The last day of the 3-month window (outcomes.schedule.LAST_WINDOW_DAY, which this floor cannot
# import; a test keeps the two equal): a record is signed off only after it.
SIGN_OFF_AFTER_DAYS = 120

SIGNED_OFF = "This record is signed off as complete; a registry admin must unlock it first."
ADMINS_ONLY = "Only a registry admin may sign off or unlock a record."
NOT_INDEX = "Only the patient's index (first) procedure is signed off, with its follow-ups."
WINDOW_OPEN = "The 3-month window of this procedure has not closed yet: sign it off after {day:%Y-%m-%d}."
ALREADY_SIGNED_OFF = "This record is already signed off."
NOT_SIGNED_OFF = "This record is not signed off."
WRONG_PASSWORD = "The password is not correct."


def is_signed_off(procedure_id: int) -> bool:
    return Procedure.objects.filter(pk=procedure_id, signed_off_at__isnull=False).exists()


def check_not_signed_off(procedure: Procedure | int) -> None:
    """Refuses (ValidationError, not tied to a field) a change to a signed-off procedure or to a
    record hanging on it. Reads the row under a lock, so a sign-off committing meanwhile waits for
    the change, or the change sees the sign-off: never both."""
    procedure_id = procedure if isinstance(procedure, int) else procedure.pk
    row = Procedure.objects.select_for_update(no_key=True).filter(pk=procedure_id).values("signed_off_at").first()
    if row is not None and row["signed_off_at"] is not None:
        raise ValidationError({NON_FIELD_ERRORS: [SIGNED_OFF]})


def check_patient_not_signed_off(patient: Patient) -> None:
    """A patient whose index procedure is signed off is not deleted with it."""
    if patient.procedures.filter(signed_off_at__isnull=False).exists():
        raise ValidationError({NON_FIELD_ERRORS: [SIGNED_OFF]})


def _check_admin(user) -> None:
    if not is_admin(user):
        raise PermissionDenied(ADMINS_ONLY)


def sign_off_errors(procedure: Procedure, *, today: datetime.date) -> dict:
    """Why ``procedure`` cannot be signed off today (empty when it can)."""
    if procedure.signed_off_at is not None:
        return {NON_FIELD_ERRORS: [ALREADY_SIGNED_OFF]}
    index = Procedure.objects.filter(patient_id=procedure.patient_id).order_by("date", "id").values("pk").first()
    if index is None or index["pk"] != procedure.pk:
        return {NON_FIELD_ERRORS: [NOT_INDEX]}
    last_day = procedure.date + datetime.timedelta(days=SIGN_OFF_AFTER_DAYS)
    if last_day >= today:
        return {NON_FIELD_ERRORS: [WINDOW_OPEN.format(day=last_day)]}
    return {}


@transaction.atomic
def procedure_sign_off(*, user: AbstractBaseUser, procedure: Procedure, password: str) -> Procedure:
    """Signs off the patient's index procedure and its follow-ups as complete: registry admins
    only, who re-enter their password; only after the 3-month window has closed."""
    _check_admin(user)
    if not password or not user.check_password(password):
        raise ValidationError({"password": [WRONG_PASSWORD]})
    procedure = lock_for_update(procedure, expected_version=None)
    errors = sign_off_errors(procedure, today=timezone.localdate())
    if errors:
        raise ValidationError(errors)
    procedure.signed_off_at = timezone.now()
    procedure.signed_off_by = user
    procedure.version += 1
    with audit_context(user=user, action="sign off"):
        save(procedure)
    clinical_data_changed()
    return procedure


@transaction.atomic
def procedure_unlock(*, user: AbstractBaseUser, procedure: Procedure, reason: str = "") -> Procedure:
    """Lifts a sign-off so the records can be changed again: registry admins only, with a reason."""
    _check_admin(user)
    reason = require_reason(reason)
    procedure = lock_for_update(procedure, expected_version=None)
    if procedure.signed_off_at is None:
        raise ValidationError({NON_FIELD_ERRORS: [NOT_SIGNED_OFF]})
    procedure.signed_off_at = None
    procedure.signed_off_by = None
    procedure.version += 1
    with audit_context(user=user, action="unlock", reason=reason):
        save(procedure)
    clinical_data_changed()
    return procedure

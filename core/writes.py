"""What every service shares: validation, optimistic locking, audit context, and the news that
clinical data changed, sent once the change commits.

The apps above the one that writes learn of a change through ``clinical_data_committed`` (the
analysis app refreshes its statistics); a writing app never imports them.
"""

import contextlib
from collections.abc import Iterable

import pghistory
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.dispatch import Signal
from django.http import Http404

REASON_MAX_LENGTH = 500
REASON_REQUIRED = "Give the reason for this change; it is kept in the audit trail."
RECORD_GONE = "This record no longer exists: someone deleted it."

# Sent (without arguments) after a transaction that changed clinical data has committed.
clinical_data_committed = Signal()


class StaleEditError(Exception):
    """The record changed since the editor loaded it; nothing was saved.

    ``instance`` is the record as it is now, so a form can show what changed.
    """

    def __init__(self, *, instance: models.Model, expected_version: int):
        self.instance = instance
        self.expected_version = expected_version
        self.current_version = instance.version
        super().__init__(
            f"This record was changed by someone else (version {expected_version} was edited, "
            f"the record is now at version {instance.version}). Reload it and apply your change again."
        )


class NeedsConfirmation(Exception):
    """The entry breaks soft rules ("are you sure?"): nothing was saved.

    Services raise it, before writing, when called without ``confirm=True``; the web pages show
    ``warnings`` (sentences naming the field) and ask the user to confirm; the API confirms by
    itself where the contract says it accepts such values. The confirmed warnings are kept in the
    audit reason (``confirmed_reason``).
    """

    def __init__(self, warnings: Iterable[str]):
        self.warnings = list(warnings)
        super().__init__(" ".join(self.warnings))


def check_warnings(warnings: Iterable[str], *, confirm: bool, reason: str = "") -> str:
    """Raises NeedsConfirmation for unconfirmed ``warnings``; returns the audit reason to write:
    ``reason`` followed by the warnings confirmed (unchanged when there are none)."""
    warnings = list(warnings)
    if not warnings:
        return reason
    if not confirm:
        raise NeedsConfirmation(warnings)
    confirmed = "Confirmed: " + " ".join(warnings)
    return f"{reason} ({confirmed})" if reason else confirmed


@contextlib.contextmanager
def audit_context(*, user, action: str, reason: str = ""):
    """Attaches who, why and through which service to every audit event of the block."""
    metadata = {"action": action}
    if user is not None:
        metadata["user"] = user.pk
        metadata["username"] = user.get_username()
    if reason:
        metadata["reason"] = reason
    with pghistory.context(**metadata):
        yield


def require_reason(reason: str | None) -> str:
    """The reason for changing or deleting a clinical record, stripped; a blank one is refused.

    Services call it before anything is written, so the API, the web forms, the admin and the
    commands all need a reason: a record's history always says why it changed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"change_reason": [REASON_REQUIRED]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"change_reason": [f"Ensure this field has no more than {REASON_MAX_LENGTH} characters."]}
        )
    return reason


def validate(instance: models.Model, *, errors: dict | None = None, relations_checked: bool = False) -> None:
    """Runs the model's field and record rules; raises one ValidationError naming every bad field.

    Check constraints are left to the database (clean() states each of them with a
    field-specific message); unique constraints are checked by the services that
    own them, for the same reason. With ``relations_checked`` (a bulk service has checked the
    foreign keys of its whole batch at once: ``missing_relations``) the per-row queries of the
    foreign keys and of the unique fields are left out; every other rule runs.
    """
    collected = dict(errors or {})
    try:
        if relations_checked:
            relations = [field.name for field in instance._meta.concrete_fields if field.is_relation]
            instance.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
        else:
            instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        collected = exc.update_error_dict(collected)
    if collected:
        raise ValidationError(collected)


def save(instance: models.Model) -> None:
    """Saves, turning a constraint violation that slipped past validation into a ValidationError."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # The driver's message quotes the offending values (PHI): name only the rule.
        rule = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or "integrity"
        raise ValidationError({NON_FIELD_ERRORS: [f"The record breaks the database rule '{rule}'."]}) from None


# --- Bulk writes (an import's many new records) --------------------------------------------------


def quiet_trigger_checks() -> None:
    """Defines pgtrigger's list of ignored triggers (empty) for the transaction, unless set.

    Each audit trigger first reads that setting in a PL/pgSQL exception block; while it is undefined
    the read fails and the block's subtransaction rolls back, and PostgreSQL then scans every AFTER
    trigger event queued by the statement: a statement writing n audited rows took O(n^2) time
    (9,000 new queries: 14 s; with the setting defined: 1.4 s). Call it inside the transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', '{}', true) "
            "WHERE coalesce(current_setting('pgtrigger.ignore', true), '') = ''"
        )


def analyze_after_bulk_load(model_classes: Iterable[type[models.Model]]) -> None:
    """Refreshes the planner's statistics of the tables of ``model_classes`` after a bulk load.

    A table vacuumed while it held only dead rows keeps "0 rows in N pages" in its statistics;
    until autovacuum analyzes it again (a minute or more), every query estimates one row per table
    and plans nested loops without index conditions: exporting the workbook of 1,000 freshly
    loaded patients took over 8 minutes instead of a second. Inside a transaction ANALYZE counts
    the transaction's own new rows. A role that does not own a table gets a warning from
    PostgreSQL, not an error, and the table keeps its statistics until autovacuum's next pass.
    """
    with connection.cursor() as cursor:
        for model_class in model_classes:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model_class._meta.db_table)}")


def missing_relations(instances: list[models.Model]) -> set[int]:
    """The indexes of ``instances`` (of one model) whose foreign key names a row that does not
    exist, or is empty where it is required: one query per foreign key for the whole batch, where
    ``full_clean`` asks once a row. ``validate`` them without ``relations_checked`` to get the
    field's own message."""
    if not instances:
        return set()
    missing = set()
    for field in instances[0]._meta.concrete_fields:
        if not field.is_relation:
            continue
        values = {getattr(instance, field.attname) for instance in instances} - {None}
        target = field.remote_field.model._base_manager.filter(**{f"{field.target_field.attname}__in": values})
        found = set(target.values_list(field.target_field.attname, flat=True)) if values else set()
        if field.null:
            found.add(None)
        missing.update(i for i, inst in enumerate(instances) if getattr(inst, field.attname) not in found)
    return missing


def runs_by_reason(reasons: list[str]) -> list[tuple[str, list[int]]]:
    """The indexes of consecutive records with the same audit reason, grouped (the records keep
    their order, so their ids follow the file's)."""
    runs: list[tuple[str, list[int]]] = []
    for index, reason in enumerate(reasons):
        if runs and runs[-1][0] == reason:
            runs[-1][1].append(index)
        else:
            runs.append((reason, [index]))
    return runs


def save_all(instances: list[models.Model]) -> dict[int, ValidationError]:
    """Inserts new ``instances`` of one model with one bulk INSERT (their ids are set); when the
    database refuses one, inserts them one at a time (``save``) to name each refused one. Returns
    the refused ones' errors by index (those rows are not written)."""
    if not instances:
        return {}
    model = type(instances[0])
    try:
        with transaction.atomic():
            model.objects.bulk_create(instances)
        return {}
    except IntegrityError:
        pass
    refused = {}
    for index, instance in enumerate(instances):
        instance.pk, instance._state.adding = None, True  # as before the refused INSERT
        try:
            save(instance)
        except ValidationError as exc:
            instance.pk = None
            refused[index] = exc
    return refused


def lock_for_update(instance: models.Model, *, expected_version: int | None) -> models.Model:
    """Returns the current row, locked until the transaction ends; refuses a stale edit.

    A row deleted meanwhile (by a concurrent request) is a 404, not a server error.
    """
    current = type(instance).objects.select_for_update().filter(pk=instance.pk).first()
    if current is None:
        raise Http404(RECORD_GONE)
    if expected_version is not None and current.version != expected_version:
        raise StaleEditError(instance=current, expected_version=expected_version)
    return current


def assign(instance: models.Model, data: dict, *, allowed: Iterable[str]) -> list[str]:
    """Sets the fields of ``data`` on ``instance``; returns the names that changed."""
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def clinical_data_changed() -> None:
    """Announces ``clinical_data_committed`` once the current transaction commits (never if it rolls
    back): once however many changes it holds (an import's thousands of rows, a form's few)."""
    connection.clinical_news_pending = True
    transaction.on_commit(_announce_commit)


def _announce_commit() -> None:
    # The first of a commit's callbacks sends the news; the others find it sent.
    if getattr(connection, "clinical_news_pending", False):
        connection.clinical_news_pending = False
        clinical_data_committed.send(sender=None)

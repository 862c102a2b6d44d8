"""Writes of data queries by people (contract: "Data queries"): a clinician or admin raises a
manual query on a record, a clinician of the record's site answers it, a registry admin (the data
manager) closes it. The rules engine opens and closes the queries of its rules by itself.

Rights: a query is about a record of a site, and only the staff who may write that site's records
raise or answer its queries; closing is the data managers' alone. Investigators see no query, so
they may do nothing with one either.
"""

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from core.free_text import has_control_characters
from core.writes import audit_context, lock_for_update, save, validate
from quality.models import MANUAL_RULE, DataQuery, QueryKind, QueryStatus, Resolution
from quality.selectors import KINDS, queries_visible_to, record_fields
from registry.permissions import is_admin, site_rights

ANSWER_MAX_LENGTH = 2000
MESSAGE_MAX_LENGTH = DataQuery._meta.get_field("message").max_length

NO_RECORD = "No such record among those you may see."
INVESTIGATORS_SEE_NONE = "Investigators see no data queries."
ONLY_SITE_STAFF = "Only the clinicians of this record's site and registry admins may raise or answer its queries."
ONLY_DATA_MANAGERS = "Only registry admins (the data managers) close data queries; answer the query instead."
ALREADY_CLOSED = "This query is closed: it can no longer be answered or closed."
ANSWER_REQUIRED = "Write your answer: what you checked, and whether the value is right."
MESSAGE_REQUIRED = "Write the question: what looks wrong in this record."
NO_CONTROL_CHARACTERS = "Remove the control characters from this text."
RESOLUTION_CHOICES = "Choose one of: " + ", ".join(Resolution.values) + "."
CHOOSE_QUERIES = "Choose at least one query to close."


# --- Rights ------------------------------------------------------------------------------


def check_can_handle_queries(user, site_id: int) -> None:
    """Raises PermissionDenied unless ``user`` may raise and answer the queries of the site
    (clinicians of the site, registry admins; ``user=None`` is the system itself)."""
    if user is None:
        return
    rights = site_rights(user, site_id)
    if not rights.phi:  # queries hold free text: whoever may not read PHI sees none
        raise PermissionDenied(INVESTIGATORS_SEE_NONE if rights.read else ONLY_SITE_STAFF)
    if not rights.write:
        raise PermissionDenied(ONLY_SITE_STAFF)


def check_can_close_queries(user) -> None:
    """Raises PermissionDenied unless ``user`` is a registry admin (or the system, ``None``)."""
    if user is None or is_admin(user):
        return
    if not site_rights(user, None).phi:
        raise PermissionDenied(INVESTIGATORS_SEE_NONE)
    raise PermissionDenied(ONLY_DATA_MANAGERS)


# --- Validation helpers ----------------------------------------------------------------------


def _clean_text(value, *, name: str, required: str, max_length: int) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if not text:
        raise ValidationError({name: [required]})
    if len(text) > max_length:
        raise ValidationError({name: [f"Ensure this field has no more than {max_length} characters."]})
    if has_control_characters(text.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise ValidationError({name: [NO_CONTROL_CHARACTERS]})
    return text


def _clean_resolution(resolution) -> str:
    if resolution not in Resolution.values:
        raise ValidationError({"resolution": [RESOLUTION_CHOICES]})
    return resolution


def _record_for(user, kind, record):
    """The record a new query is about, among those ``user`` may see (else Http404)."""
    if kind not in KINDS:
        raise ValidationError({"kind": ["Choose one of: " + ", ".join(QueryKind.values) + "."]})
    if not isinstance(record, int) or isinstance(record, bool):
        raise ValidationError({"record": ["Give the record's id (an integer)."]})
    info = KINDS[kind]
    queryset = info.model.objects.all() if user is None else info.visible_to(user)
    found = queryset.filter(pk=record).first()
    if found is None:
        raise Http404(NO_RECORD)
    return found


# --- Services ------------------------------------------------------------------------------


@transaction.atomic
def raise_manual_query(*, user, kind: str, record: int, field: str | None = None, message: str) -> DataQuery:
    """Opens a person's question (rule ``manual``) about record ``record`` of ``kind``; its patient
    and site are the record's. A record the user cannot see is a 404 (Http404)."""
    found = _record_for(user, kind, record)
    patient = KINDS[kind].patient_of(found)
    check_can_handle_queries(user, patient.site_id)
    errors = {}
    field = (field or "").strip() or None
    if field is not None and field not in record_fields(kind):
        errors["field"] = [f"Name a field of the {QueryKind(kind).label.lower()}: {', '.join(record_fields(kind))}."]
    try:
        message = _clean_text(message, name="message", required=MESSAGE_REQUIRED, max_length=MESSAGE_MAX_LENGTH)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    query = DataQuery(
        rule=MANUAL_RULE,
        kind=kind,
        record=found.pk,
        patient=patient,
        site_id=patient.site_id,
        field=field,
        message=message,
        opened_by=user,
    )
    validate(query)
    with audit_context(user=user, action="query_raise"):
        save(query)
    return query


@transaction.atomic
def answer_query(*, user, query: DataQuery, answer: str) -> DataQuery:
    """Records the answer of a clinician of the query's site (or an admin): status ``answered``,
    waiting for a data manager to close it. A new answer replaces an earlier one."""
    check_can_handle_queries(user, query.site_id)
    answer = _clean_text(answer, name="answer", required=ANSWER_REQUIRED, max_length=ANSWER_MAX_LENGTH)
    query = lock_for_update(query, expected_version=None)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError({NON_FIELD_ERRORS: [ALREADY_CLOSED]})
    query.answer = answer
    query.answered_by = user
    query.answered_at = timezone.now()
    query.status = QueryStatus.ANSWERED
    validate(query)
    with audit_context(user=user, action="query_answer"):
        save(query)
    return query


def _close(query: DataQuery, *, user, resolution: str) -> None:
    query.status = QueryStatus.CLOSED
    query.resolution = resolution
    query.closed_at = timezone.now()
    query.closed_by = user
    save(query)


@transaction.atomic
def close_query(*, user, query: DataQuery, resolution: str) -> DataQuery:
    """Closes the query with ``resolution`` (``confirmed``: the value is right; ``fixed``: the
    record was corrected; ``withdrawn``: the question was wrong). Registry admins only."""
    check_can_close_queries(user)
    resolution = _clean_resolution(resolution)
    query = lock_for_update(query, expected_version=None)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError({NON_FIELD_ERRORS: [ALREADY_CLOSED]})
    with audit_context(user=user, action="query_close", reason=f"Closed: {resolution}"):
        _close(query, user=user, resolution=resolution)
    return query


@transaction.atomic
def bulk_close(*, user, ids: Iterable[int], resolution: str) -> list[DataQuery]:
    """Closes every query of ``ids`` that is not closed yet with one ``resolution``; returns those it
    closed. Ids of queries closed meanwhile (by their rule, by another data manager) or gone are
    passed over: the page that listed them is older than the data. Registry admins only."""
    check_can_close_queries(user)
    resolution = _clean_resolution(resolution)
    ids = list(ids)
    if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationError({"ids": [CHOOSE_QUERIES]})
    scope = DataQuery.objects.all() if user is None else queries_visible_to(user)
    queries = list(scope.select_for_update().filter(pk__in=ids).exclude(status=QueryStatus.CLOSED).order_by("id"))
    with audit_context(user=user, action="query_bulk_close", reason=f"Closed: {resolution}"):
        for query in queries:
            _close(query, user=user, resolution=resolution)
    return queries

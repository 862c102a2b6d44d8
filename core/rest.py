"""REST plumbing every resource of the API shares: strict JSON fields and filters, the error
mapping of the services' exceptions, optimistic locking (``version`` / ``If-Match``), pagination,
the OpenAPI description of a resource, and ``ServiceViewSet``, whose reads start from a selector and
whose writes call the services.

Nothing here knows a registry model or role: each app's ``api.py`` builds its resources on it.
"""

import re
from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import fields as django_filters_fields
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.parsers import BoundedJSONParser
from core.request_body import (
    exception_handler,  # noqa: F401  (the settings' EXCEPTION_HANDLER)
    refuse_fields_outside_the_schema,
)
from core.writes import RECORD_GONE, StaleEditError

MAX_VERSION = 2**31 - 1

# The API's parser is core.parsers.BoundedJSONParser (DRF reads DEFAULT_PARSER_CLASSES while it
# builds APIView, before this module can be imported); its exception handler and the check of a
# body's fields against the request schema are in core.request_body.


# --- Strict JSON fields ---------------------------------------------------------------------
# DRF coerces "3" into 3 and 0 into "0"; the schema promises types, so a value of the wrong
# JSON type is refused instead of silently converted.


class Text(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("invalid")
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "decimal", "pattern": r"^[0-9]+(\.[0-9])?$"},
            {"type": "number", "minimum": 0},
        ]
    }
)
class Decimal1(serializers.DecimalField):
    """A non-negative decimal with one decimal place, sent as a JSON string ("7.3") or number (7.3)."""

    default_error_messages = {
        "empty": "A number is required, not an empty string.",
        "empty_nullable": "A number is required (null when the value is unknown), not an empty string.",
    }

    def __init__(self, *, max_digits: int, **kwargs):
        super().__init__(max_digits=max_digits, decimal_places=1, **kwargs)

    def validate_empty_values(self, data):
        # DRF reads "" (or blanks) as null for a nullable decimal; JSON says null for an unknown value,
        # and the contract names no field where an empty string means "unknown".
        if isinstance(data, str) and not data.strip():
            self.fail("empty_nullable" if self.allow_null else "empty")
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


EMPTY_PARAMETER = "Leave the parameter out rather than send it empty."


class RefuseEmpty:
    """A filter's form field that refuses ``?name=`` (sent but empty) instead of ignoring the filter."""

    def clean(self, value):
        if value == "":
            raise DjangoValidationError(EMPTY_PARAMETER, code="empty")
        return super().clean(value)


class StrictBooleanFormField(RefuseEmpty, forms.NullBooleanField):
    """``true``/``false`` (or 1/0); anything else is an error rather than "no filter"."""

    def to_python(self, value):
        if value is None:
            return None
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise DjangoValidationError("Enter true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanFormField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, widget=forms.TextInput, **kwargs)


class StrictIntegerFormField(RefuseEmpty, forms.IntegerField):
    """Digits only: Django's IntegerField also takes "0.0" or "7.00" (it drops a decimal part of zeros)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A record id (an integer, unlike NumberFilter's decimals)."""

    field_class = StrictIntegerFormField


class StrictChoiceFormField(RefuseEmpty, django_filters_fields.ChoiceField):
    pass


class ChoiceFilter(filters.ChoiceFilter):
    field_class = StrictChoiceFormField


# --- Errors, versions, rights -----------------------------------------------------------


def field_errors(exc: DjangoValidationError) -> dict:
    """A service's ValidationError as DRF's ``{field: [messages]}``."""
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": exc.messages}
    return {
        ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
        for field, messages in exc.message_dict.items()
    }


def parse_if_match(request) -> int | None:
    """The version named by an ``If-Match: "<version>"`` header (``W/`` and ``*`` accepted)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_VERSION:
        raise exceptions.ValidationError({"If-Match": ['Send the version you edited, e.g. If-Match: "3".']})
    return int(value)


def expected_version(request) -> int | None:
    """The version the client edited: ``version`` in the body or the If-Match header (both must agree)."""
    header = parse_if_match(request)
    body = None
    if isinstance(request.data, Mapping) and request.data.get("version") is not None:
        field = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)
        try:
            body = field.run_validation(request.data["version"])
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError({"version": exc.detail}) from None
    if header is not None and body is not None and header != body:
        raise exceptions.ValidationError({"version": ["The version in the body and the If-Match header differ."]})
    return body if body is not None else header


def change_reason_param(request) -> str:
    """The audit reason of a deletion, from ``?change_reason=``."""
    field = Text(max_length=500, allow_blank=True)
    try:
        return field.run_validation(request.query_params.get("change_reason", ""))
    except exceptions.ValidationError as exc:
        raise exceptions.ValidationError({"change_reason": exc.detail}) from None


def etag(instance) -> dict:
    return {"ETag": f'"{instance.version}"'}


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (1-500); a malformed value is a 400, not silently the default."""

    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # ?page=last would contradict the documented integer

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) == "":
            raise exceptions.ValidationError({self.page_query_param: [EMPTY_PARAMETER]})
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        field = serializers.IntegerField(min_value=1, max_value=self.max_page_size)
        try:
            return field.run_validation(raw)
        except exceptions.ValidationError as exc:
            raise exceptions.ValidationError({self.page_size_query_param: exc.detail}) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
        return parameters


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StaleEditSerializer(serializers.Serializer):
    detail = serializers.CharField()
    expected_version = serializers.IntegerField(help_text="The version the client edited.")
    current_version = serializers.IntegerField(help_text="The version of the record now: reload and reapply.")


FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Bad input: `{field: [messages]}` (`non_field_errors` for the record)."
)
NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No or bad credentials.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Outside the user's rights (e.g. investigators write).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Unknown id, or a record of a site the user cannot see.")
STALE = OpenApiResponse(StaleEditSerializer, description="Stale edit: the record changed since this version.")

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r'^(\*|(W/)?"?[1-9][0-9]{0,8}"?)$',
    description='Optimistic locking: the version you edited, e.g. `"3"`; a stale version gets 409. '
    "A `version` in the body does the same.",
)
CHANGE_REASON = OpenApiParameter(
    "change_reason",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=True,
    description="Why the record is deleted (kept in the audit trail), at most 500 characters. Required: "
    'without it the answer is 400 `{"change_reason": [...]}` and nothing is deleted.',
)

UPDATE_DESCRIPTION = (
    "Optimistic locking: send the `version` you read (in the body or as `If-Match`); if the record changed "
    "since, nothing is saved and the answer is 409 with the current version. `change_reason` is required "
    '(without it: 400 `{"change_reason": [...]}`, nothing saved) and goes to the audit trail. '
    "Fields outside the request schema are refused (400 `Unknown field.`, inside screws too); the read-only "
    "fields of the representation (`id`, `created_at`...) may be sent back unchanged, a changed value is a 400 "
    "(`This field is read-only.`). An update that changes nothing saves nothing: same `version`, no audit event."
)
CREATE_DESCRIPTION = (
    'Fields outside the request schema are refused: 400 `{field: ["Unknown field."]}` (inside screws too), '
    "and a read-only field of the representation (`id`, `version`...) is a 400 `This field is read-only.`."
)


def resource_schema(name: str, *, write, update, read, examples=None, update_examples=None, versioned=True):
    """The drf-spectacular description of a resource's six operations, with every status it answers."""
    base = {401: NOT_AUTHENTICATED, 403: FORBIDDEN}
    one = {**base, 404: NOT_FOUND}
    locking = {"description": UPDATE_DESCRIPTION, "parameters": [IF_MATCH]} if versioned else {}
    stale = {409: STALE} if versioned else {}
    return extend_schema_view(
        list=extend_schema(summary=f"List {name}", responses={200: read(many=True), 400: FIELD_ERRORS, **one}),
        create=extend_schema(
            summary=f"Create {name}",
            description=CREATE_DESCRIPTION,
            request=write,
            responses={201: read, 400: FIELD_ERRORS, **base},
            examples=examples or [],
        ),
        retrieve=extend_schema(summary=f"Read {name}", responses={200: read, **one}),
        update=extend_schema(
            summary=f"Replace {name}",
            request=update,
            responses={200: read, 400: FIELD_ERRORS, **stale, **one},
            **locking,
            examples=update_examples or [],
        ),
        partial_update=extend_schema(
            summary=f"Change {name}",
            request=update,
            responses={200: read, 400: FIELD_ERRORS, **stale, **one},
            **locking,
        ),
        destroy=extend_schema(
            summary=f"Delete {name}",
            description="`If-Match` refuses the deletion (409) when the record changed since that version."
            if versioned
            else "",
            # Every versioned resource is a clinical record, whose deletion needs a reason.
            parameters=[IF_MATCH, CHANGE_REASON] if versioned else [],
            responses={204: None, 400: FIELD_ERRORS, **stale, **one},
        ),
    )


class ServiceViewSet(viewsets.ModelViewSet):
    """A resource whose reads start from a selector and whose writes call the services.

    Subclasses set ``permission_classes``, ``serializer_class`` (the response),
    ``write_serializer_class`` and ``update_serializer_class`` (the request), and implement
    ``service_create``, ``service_update`` and ``service_delete``. A resource without a ``version``
    (optimistic locking) sets ``versioned = False``: no ETag, no If-Match check on delete.
    """

    pagination_class = Pagination
    parser_classes = [BoundedJSONParser]
    lookup_value_regex = "[^/]+"  # a malformed id reaches the view, which answers a JSON 404
    versioned = True
    write_serializer_class: type[serializers.Serializer]
    update_serializer_class: type[serializers.Serializer]

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError):
            exc = exceptions.ValidationError(field_errors(exc))
        elif isinstance(exc, StaleEditError):
            # A Response rather than an APIException: DRF would turn the version numbers into strings.
            response = Response(
                {"detail": str(exc), "expected_version": exc.expected_version, "current_version": exc.current_version},
                status=status.HTTP_409_CONFLICT,
                headers=etag(exc.instance),
            )
            response.exception = True
            return response
        return super().handle_exception(exc)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Every query parameter of this API takes one value; django-filter would silently use the last.
        repeated = sorted(name for name, values in request.query_params.lists() if len(values) > 1)
        if repeated:
            raise exceptions.ValidationError({name: ["Send this parameter once."] for name in repeated})

    def filter_queryset(self, queryset):
        # The filters are the list's query parameters (the OpenAPI schema names them there only);
        # one record is found by its id alone, without building a FilterSet and its form.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _valid_input(self, serializer_class, *, partial: bool, instance=None) -> dict:
        refuse_fields_outside_the_schema(
            self.request.data,
            writable=serializer_class(context=self.get_serializer_context()).fields,
            readable=self.get_serializer().fields,
            current=self.get_serializer(instance).data if instance is not None else None,
            versioned=self.versioned,
        )
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def version_headers(self, instance) -> dict:
        return etag(instance) if self.versioned else {}

    def respond(self, instance, *, status_code=status.HTTP_200_OK) -> Response:
        """The record as a reader gets it after a write, read again with the annotations it needs.

        A request that deleted the record between the write's commit and this read wins: 404.
        """
        fresh = self.get_queryset().filter(pk=instance.pk).first()
        if fresh is None:
            raise exceptions.NotFound(RECORD_GONE)
        return Response(self.get_serializer(fresh).data, status=status_code, headers=self.version_headers(fresh))

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        return Response(self.get_serializer(instance).data, headers=self.version_headers(instance))

    def create(self, request, *args, **kwargs):
        data = self._valid_input(self.write_serializer_class, partial=False)
        data.pop("change_reason", None)  # a creation is its own reason
        return self.respond(self.service_create(data), status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self._valid_input(self.update_serializer_class, partial=kwargs.pop("partial", False), instance=instance)
        reason = data.pop("change_reason", "")
        version = expected_version(request)
        return self.respond(self.service_update(instance, data, expected_version=version, reason=reason))

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        version = parse_if_match(request) if self.versioned else None
        if version is not None and version != instance.version:
            raise StaleEditError(instance=instance, expected_version=version)
        self.service_delete(instance, reason=change_reason_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def service_create(self, data: dict):
        raise NotImplementedError

    def service_update(self, instance, data: dict, *, expected_version: int | None, reason: str):
        raise NotImplementedError

    def service_delete(self, instance, *, reason: str) -> None:
        raise NotImplementedError


class ChangeReasonMixin(serializers.Serializer):
    change_reason = Text(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Why the record is changed; kept in the audit trail. Required on every update of a clinical "
        "record (a missing or blank reason is a 400); ignored on creation.",
    )


def changed_parent(data: dict, instance, name: str) -> dict:
    """Drops the parent reference when it is unchanged, so that only a real move reaches the service,
    which refuses it ("This field cannot be changed.")."""
    if name in data and data[name].pk == getattr(instance, f"{name}_id"):
        data.pop(name)
    elif name in data:
        data[name] = data[name].pk
    return data


class VisiblePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference to a record the requesting user can see; any other id "does not exist"."""

    def __init__(self, selector, **kwargs):
        self.selector = selector
        super().__init__(queryset=selector(None), **kwargs)

    def get_queryset(self):
        return self.selector(self.context["request"].user)

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


# --- Exports ------------------------------------------------------------------------------


class IgnoreClientNegotiation(BaseContentNegotiation):
    """An export's success body is chosen by its URL; errors are always JSON, whatever Accept says."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/: a JSON 404, never the web app's HTML page."""
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)

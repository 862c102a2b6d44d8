"""REST API of sites, patients and procedures (DATA_DICTIONARY.md), and what every resource shares.

Serializers only check shapes and types and translate between JSON and the services' arguments;
every write goes through ``registry.services`` / ``outcomes.services``, which hold the rules.
Each resource has a write serializer (request) and a read serializer (response), so the
schema states exactly what a client may send and what it gets back.
"""

from collections.abc import Mapping
from decimal import Decimal

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import StreamingHttpResponse
from django_filters import fields as django_filters_fields
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import exports, selectors, services
from registry.choices import (
    Ablation,
    Approach,
    Corridor,
    FractureStatus,
    Indication,
    PrimaryCancer,
    Role,
    Service,
    Sex,
    Side,
    Trajectory,
    Treatment,
)
from registry.models import Patient, Procedure, Screw, Site
from registry.permissions import may_see_phi, user_role
from registry.writes import StaleEditError

MAX_VERSION = 2**31 - 1


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

    def __init__(self, *, max_digits: int, **kwargs):
        super().__init__(max_digits=max_digits, decimal_places=1, **kwargs)

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
    pass


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


class RegistryAccess(BasePermission):
    """Every registry role reads (scoped by the selectors); clinicians and admins write; investigators never.

    Site-level rights of a write are the services' (PermissionDenied, 403); a record of another
    site is not even found (404), since the viewsets start from the ``*_visible_to`` selectors.
    """

    def has_permission(self, request, view) -> bool:
        role = user_role(request.user)
        if role is None:
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied("Your account has no role in the registry.")
            return False
        if request.method in SAFE_METHODS:
            return True
        if role == Role.INVESTIGATOR:
            raise exceptions.PermissionDenied("Investigators have read-only access.")
        if getattr(view, "admin_only_writes", False) and role != Role.ADMIN:
            raise exceptions.PermissionDenied("Only registry admins may change sites.")
        return True


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
    required=False,
    description="Why the record is deleted (kept in the audit trail), at most 500 characters.",
)

UPDATE_DESCRIPTION = (
    "Optimistic locking: send the `version` you read (in the body or as `If-Match`); if the record changed "
    "since, nothing is saved and the answer is 409 with the current version. `change_reason` goes to the "
    "audit trail."
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
            parameters=[IF_MATCH, CHANGE_REASON] if versioned else [],
            responses={204: None, 400: FIELD_ERRORS, **stale, **one},
        ),
    )


class ServiceViewSet(viewsets.ModelViewSet):
    """A resource whose reads start from a selector and whose writes call the services.

    Subclasses set ``serializer_class`` (the response), ``write_serializer_class`` and
    ``update_serializer_class`` (the request), and implement ``service_create``,
    ``service_update`` and ``service_delete``.
    """

    permission_classes = [RegistryAccess]
    pagination_class = Pagination
    parser_classes = [JSONParser]
    lookup_value_regex = "[^/]+"  # a malformed id reaches the view, which answers a JSON 404
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

    def _valid_input(self, serializer_class, *, partial: bool) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _read(self, instance, *, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)  # with the annotations the response needs
        return Response(self.get_serializer(fresh).data, status=status_code, headers=etag(fresh))

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        return Response(self.get_serializer(instance).data, headers=etag(instance))

    def create(self, request, *args, **kwargs):
        data = self._valid_input(self.write_serializer_class, partial=False)
        data.pop("change_reason", None)  # a creation is its own reason
        return self._read(self.service_create(data), status_code=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self._valid_input(self.update_serializer_class, partial=kwargs.pop("partial", False))
        reason = data.pop("change_reason", "")
        version = expected_version(request)
        return self._read(self.service_update(instance, data, expected_version=version, reason=reason))

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        version = parse_if_match(request)
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
        help_text="Why the record is changed; kept in the audit trail.",
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


# --- Sites ---------------------------------------------------------------------------


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name"]
        read_only_fields = fields


class SiteWriteSerializer(serializers.Serializer):
    code = Text(max_length=16, help_text="Short unique code, e.g. MCW (stored upper-case).")
    name = Text(max_length=200)


class SiteFilter(filters.FilterSet):
    code = filters.CharFilter(field_name="code", lookup_expr="iexact")

    class Meta:
        model = Site
        fields = ["code"]


@resource_schema(
    "sites",
    write=SiteWriteSerializer,
    update=SiteWriteSerializer,
    read=SiteSerializer,
    versioned=False,
    examples=[OpenApiExample("New site", value={"code": "MCW", "name": "Medical College of Wisconsin"})],
)
class SiteViewSet(ServiceViewSet):
    """Sites: everybody with a role reads the sites they may see; only registry admins change them."""

    serializer_class = SiteSerializer
    write_serializer_class = SiteWriteSerializer
    update_serializer_class = SiteWriteSerializer
    filterset_class = SiteFilter
    admin_only_writes = True

    def get_queryset(self):
        return selectors.sites_visible_to(self.request.user).order_by("code")

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def _read(self, instance, *, status_code=status.HTTP_200_OK):
        return Response(self.get_serializer(instance).data, status=status_code)

    def service_create(self, data):
        return services.site_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.site_update(site=instance, data=data, user=self.request.user)

    def destroy(self, request, *args, **kwargs):
        services.site_delete(user=request.user, site=self.get_object(), reason=change_reason_param(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Patients ------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": exports.AGE_CAP - 1},
            {"type": "string", "enum": ["90+"]},
        ],
        "nullable": True,
        "readOnly": True,
        "description": 'Age in full years at the index (first) procedure; "90+" from 90 on (HIPAA Safe Harbor); '
        "null before any procedure.",
    }
)
class AgeField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, patient):
        return exports.age_label(patient.birth_date, getattr(patient, "index_date", None))


PHI_FIELDS = ("mrn", "birth_date", "death_date")


class PatientSerializer(serializers.ModelSerializer):
    """A patient as read; investigators get it de-identified (no PHI fields; ``age`` instead)."""

    site = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="Site code.")
    # Not read-only so that the schema shows them as optional: investigators never receive them.
    mrn = serializers.CharField(required=False, help_text="PHI: absent for investigators.")
    birth_date = serializers.DateField(required=False, help_text="PHI: absent for investigators.")
    death_date = serializers.DateField(required=False, allow_null=True, help_text="PHI: absent for investigators.")
    age = AgeField()

    class Meta:
        model = Patient
        fields = [
            "id",
            "study_id",
            "site",
            "mrn",
            "birth_date",
            "sex",
            "primary_cancer",
            "primary_cancer_detail",
            "death_date",
            "age",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "study_id",
            "sex",
            "primary_cancer",
            "primary_cancer_detail",
            "version",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "version": {"help_text": "Raised by each change; send it back when updating (optimistic locking)."}
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("phi", True):
            for name in PHI_FIELDS:
                data.pop(name, None)
        return data


class SiteCodeField(serializers.SlugRelatedField):
    """A site by its code; the code is checked as text before it reaches the database."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Site.objects.all(), help_text="Site code.", **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(Text(max_length=16).run_validation(data))


class PatientWriteSerializer(serializers.Serializer):
    site = SiteCodeField()
    mrn = Text(max_length=32, help_text="Medical record number, unique within the site.")
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    primary_cancer = serializers.ChoiceField(choices=PrimaryCancer.choices)
    primary_cancer_detail = Text(
        max_length=200, required=False, allow_blank=True, default="", help_text="Required when `other`."
    )
    death_date = serializers.DateField(required=False, allow_null=True, default=None)


class PatientUpdateSerializer(ChangeReasonMixin, PatientWriteSerializer):
    pass


class PatientFilter(filters.FilterSet):
    site = filters.CharFilter(field_name="site__code", lookup_expr="iexact", help_text="Site code.")
    sex = ChoiceFilter(choices=Sex.choices)
    primary_cancer = ChoiceFilter(choices=PrimaryCancer.choices)
    study_id = filters.CharFilter()
    mrn = filters.CharFilter(method="filter_mrn", help_text="Exact MRN (never matches for investigators).")

    class Meta:
        model = Patient
        fields = ["site", "sex", "primary_cancer", "study_id", "mrn"]

    def filter_mrn(self, queryset, name, value):
        if not may_see_phi(self.request.user):
            return queryset.none()
        return queryset.filter(mrn=value)


PATIENT_EXAMPLE = {
    "site": "MCW",
    "mrn": "00123456",
    "birth_date": "1958-04-12",
    "sex": "female",
    "primary_cancer": "breast",
    "primary_cancer_detail": "",
    "death_date": None,
}


@resource_schema(
    "patients",
    write=PatientWriteSerializer,
    update=PatientUpdateSerializer,
    read=PatientSerializer,
    examples=[OpenApiExample("New patient", value=PATIENT_EXAMPLE, request_only=True)],
    update_examples=[
        OpenApiExample(
            "Record a death",
            value={**PATIENT_EXAMPLE, "death_date": "2024-02-01", "version": 3, "change_reason": "Death recorded"},
            request_only=True,
        )
    ],
)
class PatientViewSet(ServiceViewSet):
    """Patients of the user's sites. Investigators read them de-identified: no ``mrn``, ``birth_date``
    or ``death_date``; ``age`` at the index procedure, "90+" from 90 on."""

    serializer_class = PatientSerializer
    write_serializer_class = PatientWriteSerializer
    update_serializer_class = PatientUpdateSerializer
    filterset_class = PatientFilter

    def get_queryset(self):
        return (
            selectors.patients_visible_to(self.request.user)
            .select_related("site")
            # A correlated subquery, not Min() over a join: with 100k patients the GROUP BY
            # made a page cost ~300 ms; this costs ~0.3 ms (bench/README.md).
            .annotate(
                index_date=Subquery(
                    Procedure.objects.filter(patient=OuterRef("pk")).order_by("date", "id").values("date")[:1]
                )
            )
            .order_by("study_id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "phi": may_see_phi(self.request.user)}

    def service_create(self, data):
        return services.patient_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.patient_update(
            user=self.request.user, patient=instance, data=data, expected_version=expected_version, reason=reason
        )

    def service_delete(self, instance, *, reason):
        services.patient_delete(user=self.request.user, patient=instance, reason=reason)


# --- Procedures ----------------------------------------------------------------------


class ScrewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Screw
        fields = ["id", "corridor", "trajectory", "side", "diameter_mm", "fully_threaded"]
        read_only_fields = fields


class ScrewWriteSerializer(serializers.Serializer):
    corridor = serializers.ChoiceField(choices=Corridor.choices)
    trajectory = serializers.ChoiceField(choices=Trajectory.choices)
    side = serializers.ChoiceField(choices=Side.choices, help_text="A trans-sacral screw records its entry side.")
    diameter_mm = Decimal1(
        max_digits=3, min_value=Decimal("0.1"), max_value=Decimal(12), help_text="More than 0, at most 12: 6.5, 7.3..."
    )
    fully_threaded = Boolean(required=False, default=True)


class ProcedureSerializer(serializers.ModelSerializer):
    screws = ScrewSerializer(many=True, read_only=True)
    indications = serializers.ListField(child=serializers.ChoiceField(choices=Indication.choices), read_only=True)

    class Meta:
        model = Procedure
        fields = [
            "id",
            "patient",
            "date",
            "treatment",
            "fracture_status",
            "ablation",
            "prior_local_radiation",
            "service",
            "cement_volume_ml",
            "approach",
            "indications",
            "screws",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProcedureWriteSerializer(serializers.Serializer):
    patient = VisiblePrimaryKeyField(selectors.patients_visible_to)
    date = serializers.DateField()
    treatment = serializers.ChoiceField(choices=Treatment.choices)
    fracture_status = serializers.ChoiceField(choices=FractureStatus.choices)
    ablation = serializers.ChoiceField(choices=Ablation.choices, required=False, default=Ablation.NONE)
    prior_local_radiation = Boolean(required=False, default=False)
    service = serializers.ChoiceField(choices=Service.choices)
    cement_volume_ml = Decimal1(max_digits=5, min_value=Decimal(0), required=False, allow_null=True, default=None)
    approach = serializers.ChoiceField(choices=Approach.choices, required=False, allow_null=True, default=None)
    indications = serializers.ListField(
        child=serializers.ChoiceField(choices=Indication.choices), required=False, default=list, max_length=3
    )
    screws = ScrewWriteSerializer(
        many=True,
        required=False,
        default=list,
        max_length=8,
        help_text="Replaces every screw of the procedure. Empty for sacroplasty; at least one for PSFS.",
    )


class ProcedureUpdateSerializer(ChangeReasonMixin, ProcedureWriteSerializer):
    pass


class ProcedureFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    site = filters.CharFilter(field_name="patient__site__code", lookup_expr="iexact", help_text="Site code.")
    treatment = ChoiceFilter(choices=Treatment.choices)
    fracture_status = ChoiceFilter(choices=FractureStatus.choices)

    class Meta:
        model = Procedure
        fields = ["patient", "site", "treatment", "fracture_status"]


PROCEDURE_EXAMPLE = {
    "patient": 1,
    "date": "2024-03-05",
    "treatment": "psfs",
    "fracture_status": "pathological",
    "ablation": "rfa",
    "prior_local_radiation": True,
    "service": "orthopaedics",
    "cement_volume_ml": "12.5",
    "approach": "transiliac",
    "indications": ["destructive_lesion", "mechanical_pain"],
    "screws": [
        {"corridor": "S1", "trajectory": "transsacral", "side": "left", "diameter_mm": "7.3", "fully_threaded": True}
    ],
}


@resource_schema(
    "procedures",
    write=ProcedureWriteSerializer,
    update=ProcedureUpdateSerializer,
    read=ProcedureSerializer,
    examples=[OpenApiExample("PSFS with one trans-sacral S1 screw", value=PROCEDURE_EXAMPLE, request_only=True)],
    update_examples=[
        OpenApiExample(
            "Change to sacroplasty alone",
            value={**PROCEDURE_EXAMPLE, "treatment": "sacroplasty", "screws": [], "version": 2},
            request_only=True,
        )
    ],
)
class ProcedureViewSet(ServiceViewSet):
    """Procedures with their screws; ``screws``, when sent, replaces all of them."""

    serializer_class = ProcedureSerializer
    write_serializer_class = ProcedureWriteSerializer
    update_serializer_class = ProcedureUpdateSerializer
    filterset_class = ProcedureFilter

    def get_queryset(self):
        return (
            selectors.procedures_visible_to(self.request.user)
            .select_related("patient")
            .prefetch_related(Prefetch("screws", queryset=Screw.objects.order_by("id")))
            .order_by("date", "id")
        )

    def service_create(self, data):
        return services.procedure_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        data = changed_parent(data, instance, "patient")
        screws = data.pop("screws", None)
        return services.procedure_update(
            user=self.request.user,
            procedure=instance,
            data=data,
            screws=screws,
            expected_version=expected_version,
            reason=reason,
        )

    def service_delete(self, instance, *, reason):
        services.procedure_delete(user=self.request.user, procedure=instance, reason=reason)


# --- Auth token ---------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = Text(max_length=150)
    password = Text(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenView(APIView):
    """Trades a username and password for an API token (repeated failures lock the account, as on the web)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Get an API token",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: FIELD_ERRORS,
            429: OpenApiResponse(ErrorSerializer, description="Locked out after repeated failed logins."),
        },
        examples=[
            OpenApiExample(
                "Credentials", value={"username": "alice", "password": "correct horse battery"}, request_only=True
            )
        ],
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request=request, **serializer.validated_data)
        if getattr(request, "axes_locked_out", False):
            return Response(
                {"detail": "Account locked: too many failed logins. Try again later."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None:
            raise exceptions.ValidationError({"non_field_errors": ["Unable to log in with the given credentials."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


# --- Exports ------------------------------------------------------------------------------


class IgnoreClientNegotiation(BaseContentNegotiation):
    """An export's success body is chosen by its URL; errors are always JSON, whatever Accept says."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class EncounterExportView(APIView):
    """Streams the encounters the user may see, one row per encounter (see ``registry.exports``)."""

    permission_classes = [RegistryAccess]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreClientNegotiation
    export_format = "csv"
    deidentified = False

    def get(self, request, *args, **kwargs):
        if not self.deidentified and not may_see_phi(request.user):
            raise exceptions.PermissionDenied("Investigators may use only the de-identified export.")
        rows = exports.iter_rows(selectors.encounters_visible_to(request.user), deidentified=self.deidentified)
        name = "encounters-deidentified" if self.deidentified else "encounters"
        if self.export_format == "json":
            response = StreamingHttpResponse(exports.json_chunks(rows), content_type="application/json")
        else:
            columns = exports.DEIDENTIFIED_COLUMNS if self.deidentified else exports.IDENTIFIED_COLUMNS
            response = StreamingHttpResponse(exports.csv_lines(rows, columns), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.{self.export_format}"'
        response["Cache-Control"] = "no-store"
        return response


def _export_schema(*, deidentified: bool, export_format: str):
    columns = exports.DEIDENTIFIED_COLUMNS if deidentified else exports.IDENTIFIED_COLUMNS
    label = "de-identified (HIPAA Safe Harbor)" if deidentified else "identified (PHI)"
    if export_format == "csv":
        body = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row.")}
    else:
        rows = {"type": "array", "items": {"type": "object"}}
        body = {(200, "application/json"): OpenApiResponse(rows, description="A JSON array of row objects.")}
    return extend_schema(
        summary=f"Encounters export, {label}, {export_format.upper()}",
        description=f"One row per encounter, streamed; columns: {', '.join(columns)}. "
        + (
            "Dates are days from the index procedure (day 0); ages over 89 are '90+'. Every role may use it."
            if deidentified
            else "Clinicians get their sites, admins every site; investigators are refused (403)."
        ),
        responses={**body, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
    )


def _export_view_class(*, deidentified: bool, export_format: str) -> type[EncounterExportView]:
    schema = _export_schema(deidentified=deidentified, export_format=export_format)

    def get(self, request, *args, **kwargs):
        return EncounterExportView.get(self, request, *args, **kwargs)

    name = f"EncounterExport{'Deidentified' if deidentified else ''}{export_format.upper()}View"
    attrs = {"deidentified": deidentified, "export_format": export_format, "get": schema(get)}
    return type(name, (EncounterExportView,), attrs)


ENCOUNTER_EXPORT_VIEWS = {
    (deidentified, export_format): _export_view_class(deidentified=deidentified, export_format=export_format)
    for deidentified in (False, True)
    for export_format in ("csv", "json")
}


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/: a JSON 404, never the web app's HTML page."""
    return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)

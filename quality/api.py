"""REST API of data queries (docs/contract.md, "Data queries"): ``/api/queries/`` lists and reads the
queries of the user's sites, creates a person's (manual) query, and ``answer`` and ``close`` move a
query on. Every write is a call of ``quality.services``; investigators get 403 on every endpoint
(they see no query), a query of another site is a 404.
"""

from django import forms
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission

from core.rest import (
    FIELD_ERRORS,
    FORBIDDEN,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    ChoiceFilter,
    IdFilter,
    Integer,
    RefuseEmpty,
    ServiceViewSet,
    Text,
    resource_schema,
)
from quality import selectors, services
from quality.models import DataQuery, QueryKind, QueryStatus, Resolution
from registry.permissions import site_rights, user_role
from registry.selectors import NO_SITE, resolve_site


class QueryAccess(BasePermission):
    """Clinicians and registry admins, whatever the method (the services decide who answers and who
    closes); investigators are refused on every endpoint, since they see no query."""

    def has_permission(self, request, view) -> bool:
        if user_role(request.user) is None:
            if request.user and request.user.is_authenticated:
                raise exceptions.PermissionDenied("Your account has no registry role.")
            return False
        if not site_rights(request.user, None).phi:
            raise exceptions.PermissionDenied(services.INVESTIGATORS_SEE_NONE)
        return True


class DataQuerySerializer(serializers.ModelSerializer):
    """A data query as read."""

    site = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="The site's code.")
    field = serializers.CharField(read_only=True, allow_null=True, help_text="The field in question, or null.")
    answered_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="The user name of who answered, or null."
    )
    closed_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The user name of the data manager who closed it; null while open, or when its rule closed it.",
    )

    class Meta:
        model = DataQuery
        fields = [
            "id",
            "rule",
            "kind",
            "record",
            "patient",
            "site",
            "field",
            "message",
            "status",
            "opened_at",
            "answer",
            "answered_by",
            "closed_at",
            "closed_by",
            "resolution",
        ]
        read_only_fields = fields


def _choices_message(choices) -> str:
    return "Choose one of: " + ", ".join(choices.values) + "."


@extend_schema_serializer(component_name="DataQuery")
class DataQueryCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=QueryKind.choices, error_messages={"invalid_choice": _choices_message(QueryKind)}
    )
    record = Integer(min_value=1, help_text="The id of the record of `kind`, among those you may see.")
    field = Text(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        max_length=40,
        help_text="The field in question (a field of the record), or null for the record as a whole.",
    )
    message = Text(allow_blank=True, max_length=services.MESSAGE_MAX_LENGTH, help_text="The question.")


class DataQueryAnswerSerializer(serializers.Serializer):
    answer = Text(
        allow_blank=True,
        max_length=services.ANSWER_MAX_LENGTH,
        help_text="What was checked, and whether the value is right (free text; required).",
    )


class DataQueryCloseSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(
        choices=Resolution.choices,
        error_messages={"invalid_choice": services.RESOLUTION_CHOICES},
        help_text="fixed: the record was corrected; confirmed: the value is right; withdrawn: the question was wrong.",
    )


class RuleFormField(RefuseEmpty, forms.CharField):
    pass


class RuleFilter(filters.CharFilter):
    """A rule code: ``?rule=`` sent empty is refused rather than read as "any rule"."""

    field_class = RuleFormField


class DataQueryFilter(filters.FilterSet):
    status = ChoiceFilter(choices=QueryStatus.choices)
    rule = RuleFilter(help_text="A rule's code, or `manual`.")
    site = filters.CharFilter(
        method="filter_site", help_text="Site code, in any case; an unknown site or one you may not see is a 404."
    )
    patient = IdFilter(field_name="patient_id", help_text="The patient's id.")

    class Meta:
        model = DataQuery
        fields = ["status", "rule", "site", "patient"]

    def filter_site(self, queryset, name, value):
        try:
            site = resolve_site(self.request.user, value)
        except Http404:
            raise exceptions.NotFound(NO_SITE) from None
        return queryset.filter(site=site)


ONE = {401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}
WHO_SEES = (
    "Clinicians see the queries of their sites, registry admins every site's; investigators get 403 on every "
    "query endpoint, and a query of a site you may not see is a 404."
)


@extend_schema_view(
    list=extend_schema(description="The queries of your sites, newest first. " + WHO_SEES),
    retrieve=extend_schema(description=WHO_SEES),
    create=extend_schema(
        description="Raises a person's question (rule `manual`, status `open`) about one record of your sites: "
        "its patient and site are the record's. A record you may not see is a 404. `field` names a field of the "
        'record, or is null. Fields outside the request schema are refused (400 `{field: ["Unknown field."]}`), '
        "and a read-only field of the representation (`status`, `rule`...) is a 400 `This field is read-only.`. "
        + WHO_SEES,
        responses={201: DataQuerySerializer, 400: FIELD_ERRORS, **ONE},
    ),
)
@resource_schema(
    "data queries",
    write=DataQueryCreateSerializer,
    update=DataQueryCreateSerializer,
    read=DataQuerySerializer,
    versioned=False,
    examples=[
        OpenApiExample(
            "Ask about a gait score",
            value={"kind": "encounter", "record": 12, "field": "msts_gait", "message": "Gait 0 but walking 5?"},
            request_only=True,
        )
    ],
)
class DataQueryViewSet(ServiceViewSet):
    """Questions about one record each, raised by a rule or a person (rule `manual`). POST creates a
    manual query on a record of your sites; clinicians of the site and admins answer, registry admins
    (the data managers) close."""

    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [QueryAccess]
    serializer_class = DataQuerySerializer
    write_serializer_class = DataQueryCreateSerializer
    update_serializer_class = DataQueryCreateSerializer
    filterset_class = DataQueryFilter
    versioned = False

    def get_queryset(self):
        return selectors.queries_visible_to(self.request.user).select_related("site", "answered_by", "closed_by")

    def service_create(self, data):
        return services.raise_manual_query(user=self.request.user, **data)

    @extend_schema(
        summary="Answer a data query",
        description="Clinicians of the query's site and registry admins. The query becomes `answered`, waiting "
        "for a data manager to close it; a new answer replaces the earlier one. A closed query takes none (400). "
        + WHO_SEES,
        request=DataQueryAnswerSerializer,
        responses={200: DataQuerySerializer, 400: FIELD_ERRORS, **ONE},
        examples=[
            OpenApiExample(
                "Confirm a dose", value={"answer": "Confirmed: the patient takes 1,400 MME."}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        query = self.get_object()
        data = self._valid_input(DataQueryAnswerSerializer, partial=False)
        return self.respond(services.answer_query(user=request.user, query=query, answer=data["answer"]))

    @extend_schema(
        summary="Close a data query",
        description="Registry admins (the data managers) only: a clinician gets 403. A closed query cannot be "
        "closed again (400). " + WHO_SEES,
        request=DataQueryCloseSerializer,
        responses={200: DataQuerySerializer, 400: FIELD_ERRORS, **ONE},
        examples=[OpenApiExample("Confirmed as correct", value={"resolution": "confirmed"}, request_only=True)],
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        query = self.get_object()
        data = self._valid_input(DataQueryCloseSerializer, partial=False)
        return self.respond(services.close_query(user=request.user, query=query, resolution=data["resolution"]))

"""REST API of encounters (MSTS), secondary procedures and complications (docs/contract.md), and
the encounter exports.

The shared machinery (optimistic locking, error translation, strict fields) lives in ``core.rest``;
the rights in ``registry.permissions``.

Each resource has one write serializer for create and update (``change_reason`` is ignored on
create), named in the schema like its read serializer (``EncounterRequest`` beside ``Encounter``):
the three resources share the field name ``kind`` with three choice sets, and drf-spectacular
can name each set after its resource (``EncounterKindEnum``...) only when one component name
carries it.
"""

from decimal import Decimal

from django.http import StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.deidentify import DaysFromIndexField, DeidentifiedMixin, date_field, free_text_field, timestamp_field
from core.rest import (
    FORBIDDEN,
    NOT_AUTHENTICATED,
    Boolean,
    ChangeReasonMixin,
    ChoiceFilter,
    Decimal1,
    IdFilter,
    IgnoreClientNegotiation,
    Integer,
    ServiceViewSet,
    StrictBooleanFilter,
    Text,
    VisiblePrimaryKeyField,
    changed_parent,
    resource_schema,
)
from outcomes import exports, selectors, services
from outcomes.models import (
    Complication,
    ComplicationKind,
    Encounter,
    EncounterKind,
    NarcoticChange,
    SecondaryProcedure,
    SecondaryProcedureKind,
)
from outcomes.msts import DOMAIN_MAX, DOMAINS, MSTS_FIELDS, MSTS_MAX
from registry.access_log import phi_access_record
from registry.api import DeidentifiedViewMixin, index_date_of
from registry.models import PhiAccess
from registry.permissions import RegistryAccess, may_see_phi
from registry.selectors import procedures_visible_to

# --- Encounters ------------------------------------------------------------------------


class EncounterSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """An encounter as read; investigators get ``days_from_index`` instead of the date and timestamps."""

    withheld_fields = ("date", "created_at", "updated_at")

    date = date_field()
    days_from_index = DaysFromIndexField()
    created_at = timestamp_field()
    updated_at = timestamp_field()
    msts_total = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Sum of the six domains; null unless all six are scored."
    )
    msts_percent = serializers.FloatField(
        read_only=True, allow_null=True, help_text=f"msts_total / {MSTS_MAX} * 100, one decimal."
    )

    class Meta:
        model = Encounter
        fields = [
            "id",
            "procedure",
            "date",
            "days_from_index",
            "kind",
            *MSTS_FIELDS,
            "msts_total",
            "msts_percent",
            "narcotic_change",
            "opioid_mme_per_day",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "procedure", "kind", *MSTS_FIELDS, "narcotic_change", "opioid_mme_per_day", "version"]


_MSTS_LABELS = {domain.field: domain.label.lower() for domain in DOMAINS}


def _msts_input(field: str):
    return Integer(
        min_value=0,
        max_value=DOMAIN_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text=f"MSTS {_MSTS_LABELS[field]}, 0-{DOMAIN_MAX}.",
    )


@extend_schema_serializer(component_name="Encounter")
class EncounterWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(procedures_visible_to)
    date = serializers.DateField()
    kind = serializers.ChoiceField(
        choices=EncounterKind.choices, help_text="baseline: on or before the procedure date; followup: after it."
    )
    msts_pain = _msts_input("msts_pain")
    msts_function = _msts_input("msts_function")
    msts_emotional_acceptance = _msts_input("msts_emotional_acceptance")
    msts_supports = _msts_input("msts_supports")
    msts_walking = _msts_input("msts_walking")
    msts_gait = _msts_input("msts_gait")
    narcotic_change = serializers.ChoiceField(
        choices=NarcoticChange.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Follow-ups only: change since before the procedure.",
    )
    opioid_mme_per_day = Decimal1(
        max_digits=7,
        min_value=Decimal(0),
        required=False,
        allow_null=True,
        default=None,
        help_text="Oral morphine milligram equivalents per day.",
    )


class EncounterFilter(filters.FilterSet):
    procedure = IdFilter(field_name="procedure_id")
    patient = IdFilter(field_name="procedure__patient_id")
    site = filters.CharFilter(field_name="procedure__patient__site__code", lookup_expr="iexact", help_text="Site code.")
    kind = ChoiceFilter(choices=EncounterKind.choices)

    class Meta:
        model = Encounter
        fields = ["procedure", "patient", "site", "kind"]


ENCOUNTER_EXAMPLE = {
    "procedure": 1,
    "date": "2024-04-05",
    "kind": "followup",
    "msts_pain": 4,
    "msts_function": 3,
    "msts_emotional_acceptance": 4,
    "msts_supports": 3,
    "msts_walking": 3,
    "msts_gait": 3,
    "narcotic_change": "decreased",
    "opioid_mme_per_day": "15.0",
}


@resource_schema(
    "encounters",
    write=EncounterWriteSerializer,
    update=EncounterWriteSerializer,
    read=EncounterSerializer,
    examples=[OpenApiExample("One-month follow-up", value=ENCOUNTER_EXAMPLE, request_only=True)],
    update_examples=[
        OpenApiExample(
            "Correct the gait score",
            value={**ENCOUNTER_EXAMPLE, "msts_gait": 4, "version": 1, "change_reason": "Typo"},
            request_only=True,
        )
    ],
)
class EncounterViewSet(DeidentifiedViewMixin, ServiceViewSet):
    """Visits with their MSTS assessment; ``msts_total`` and ``msts_percent`` are computed.
    Investigators read ``days_from_index`` instead of the date."""

    permission_classes = [RegistryAccess]
    serializer_class = EncounterSerializer
    write_serializer_class = EncounterWriteSerializer
    update_serializer_class = EncounterWriteSerializer
    filterset_class = EncounterFilter

    def get_queryset(self):
        return (
            selectors.encounters_visible_to(self.request.user)
            .annotate(index_date=index_date_of("procedure__patient_id"))
            .order_by("date", "id")
        )

    def service_create(self, data):
        # The API accepts what the pages ask to confirm (contract: soft limits).
        return services.encounter_record(user=self.request.user, **data, confirm=True)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.encounter_update(
            user=self.request.user,
            encounter=instance,
            data=changed_parent(data, instance, "procedure"),
            expected_version=expected_version,
            reason=reason,
            confirm=True,
        )

    def service_delete(self, instance, *, reason):
        services.encounter_delete(user=self.request.user, encounter=instance, reason=reason)


# --- Secondary procedures ------------------------------------------------------------------


class SecondaryProcedureSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """A secondary procedure as read; investigators get ``days_from_index`` and no free-text reason."""

    withheld_fields = ("date", "reason", "created_at", "updated_at")

    date = date_field()
    days_from_index = DaysFromIndexField()
    reason = free_text_field("Clinical reason (free text)")
    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        model = SecondaryProcedure
        fields = ["id", "procedure", "date", "days_from_index", "kind", "reason", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "procedure", "kind", "version"]


@extend_schema_serializer(component_name="SecondaryProcedure")
class SecondaryProcedureWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(procedures_visible_to, help_text="The index procedure this one follows.")
    date = serializers.DateField(help_text="After the procedure's date.")
    kind = serializers.ChoiceField(choices=SecondaryProcedureKind.choices)
    reason = Text(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Clinical reason (free text)."
    )


class EventFilter(filters.FilterSet):
    procedure = IdFilter(field_name="procedure_id")
    patient = IdFilter(field_name="procedure__patient_id")
    site = filters.CharFilter(field_name="procedure__patient__site__code", lookup_expr="iexact", help_text="Site code.")


class SecondaryProcedureFilter(EventFilter):
    kind = ChoiceFilter(choices=SecondaryProcedureKind.choices)

    class Meta:
        model = SecondaryProcedure
        fields = ["procedure", "patient", "site", "kind"]


@resource_schema(
    "secondary procedures",
    write=SecondaryProcedureWriteSerializer,
    update=SecondaryProcedureWriteSerializer,
    read=SecondaryProcedureSerializer,
    examples=[
        OpenApiExample(
            "SI joint injection",
            value={"procedure": 1, "date": "2024-06-20", "kind": "si_joint_injection", "reason": "SI joint pain"},
            request_only=True,
        )
    ],
)
class SecondaryProcedureViewSet(DeidentifiedViewMixin, ServiceViewSet):
    permission_classes = [RegistryAccess]
    serializer_class = SecondaryProcedureSerializer
    write_serializer_class = SecondaryProcedureWriteSerializer
    update_serializer_class = SecondaryProcedureWriteSerializer
    filterset_class = SecondaryProcedureFilter

    def get_queryset(self):
        return (
            selectors.secondary_procedures_visible_to(self.request.user)
            .annotate(index_date=index_date_of("procedure__patient_id"))
            .order_by("date", "id")
        )

    def service_create(self, data):
        return services.secondary_procedure_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.secondary_procedure_update(
            user=self.request.user,
            secondary_procedure=instance,
            data=changed_parent(data, instance, "procedure"),
            expected_version=expected_version,
            reason=reason,
        )

    def service_delete(self, instance, *, reason):
        services.secondary_procedure_delete(user=self.request.user, secondary_procedure=instance, reason=reason)


# --- Complications -----------------------------------------------------------------------


class ComplicationSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """A complication as read; investigators get ``days_from_index`` and no free-text description."""

    withheld_fields = ("date", "description", "created_at", "updated_at")

    date = date_field()
    days_from_index = DaysFromIndexField()
    description = free_text_field()
    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        model = Complication
        fields = [
            "id",
            "procedure",
            "date",
            "days_from_index",
            "kind",
            "description",
            "resolved",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "procedure", "kind", "resolved", "version"]


@extend_schema_serializer(component_name="Complication")
class ComplicationWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(procedures_visible_to)
    date = serializers.DateField(help_text="After the procedure's date.")
    kind = serializers.ChoiceField(choices=ComplicationKind.choices)
    description = Text(required=False, allow_blank=True, default="", max_length=2000)
    resolved = Boolean(required=False, default=False)


class ComplicationFilter(EventFilter):
    kind = ChoiceFilter(choices=ComplicationKind.choices)
    resolved = StrictBooleanFilter()

    class Meta:
        model = Complication
        fields = ["procedure", "patient", "site", "kind", "resolved"]


@resource_schema(
    "complications",
    write=ComplicationWriteSerializer,
    update=ComplicationWriteSerializer,
    read=ComplicationSerializer,
    examples=[
        OpenApiExample(
            "Screw back-out",
            value={
                "procedure": 1,
                "date": "2024-08-01",
                "kind": "screw_backout",
                "description": "S1 trans-sacral screw backed out; removed.",
                "resolved": True,
            },
            request_only=True,
        )
    ],
)
class ComplicationViewSet(DeidentifiedViewMixin, ServiceViewSet):
    permission_classes = [RegistryAccess]
    serializer_class = ComplicationSerializer
    write_serializer_class = ComplicationWriteSerializer
    update_serializer_class = ComplicationWriteSerializer
    filterset_class = ComplicationFilter

    def get_queryset(self):
        return (
            selectors.complications_visible_to(self.request.user)
            .annotate(index_date=index_date_of("procedure__patient_id"))
            .order_by("date", "id")
        )

    def service_create(self, data):
        return services.complication_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.complication_update(
            user=self.request.user,
            complication=instance,
            data=changed_parent(data, instance, "procedure"),
            expected_version=expected_version,
            reason=reason,
        )

    def service_delete(self, instance, *, reason):
        services.complication_delete(user=self.request.user, complication=instance, reason=reason)


# --- Exports ------------------------------------------------------------------------------


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
        if not self.deidentified:
            phi_access_record(
                request=request, action=PhiAccess.Action.EXPORT_IDENTIFIED, what=f"{name}.{self.export_format}"
            )
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
        "`screws` holds each screw of the procedure as corridor/trajectory/side/diameter_mm/fully_threaded "
        "(then /length_mm where recorded), "
        "screws joined by ';' in the order they were recorded (e.g. 'S1/transsacral/left/7.3/true'); "
        "it is empty for a sacroplasty. "
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

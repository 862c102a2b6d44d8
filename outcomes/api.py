"""REST API of encounters (MSTS), secondary procedures and complications (DATA_DICTIONARY.md).

The shared machinery (rights, optimistic locking, error translation) lives in ``registry.api``.

Each resource has one write serializer for create and update (``change_reason`` is ignored on
create), named in the schema like its read serializer (``EncounterRequest`` beside ``Encounter``):
the three resources share the field name ``kind`` with three choice sets, and drf-spectacular
can name each set after its resource (``EncounterKindEnum``...) only when one component name
carries it.
"""

from decimal import Decimal

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from outcomes import services
from outcomes.models import (
    MSTS_FIELDS,
    Complication,
    ComplicationKind,
    Encounter,
    EncounterKind,
    NarcoticChange,
    SecondaryProcedure,
    SecondaryProcedureKind,
)
from registry import selectors
from registry.api import (
    Boolean,
    ChangeReasonMixin,
    ChoiceFilter,
    Decimal1,
    IdFilter,
    Integer,
    ServiceViewSet,
    StrictBooleanFilter,
    Text,
    VisiblePrimaryKeyField,
    changed_parent,
    resource_schema,
)

# --- Encounters ------------------------------------------------------------------------


class EncounterSerializer(serializers.ModelSerializer):
    msts_total = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Sum of the six domains; null unless all six are scored."
    )
    msts_percent = serializers.FloatField(
        read_only=True, allow_null=True, help_text="msts_total / 30 * 100, one decimal."
    )

    class Meta:
        model = Encounter
        fields = [
            "id",
            "procedure",
            "date",
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
        read_only_fields = fields


def _msts_input(label: str):
    return Integer(
        min_value=0, max_value=5, required=False, allow_null=True, default=None, help_text=f"MSTS {label}, 0-5."
    )


@extend_schema_serializer(component_name="Encounter")
class EncounterWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(selectors.procedures_visible_to)
    date = serializers.DateField()
    kind = serializers.ChoiceField(
        choices=EncounterKind.choices, help_text="baseline: on or before the procedure date; followup: after it."
    )
    msts_pain = _msts_input("pain")
    msts_function = _msts_input("function")
    msts_emotional_acceptance = _msts_input("emotional acceptance")
    msts_supports = _msts_input("use of supports")
    msts_walking = _msts_input("walking ability")
    msts_gait = _msts_input("gait")
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
class EncounterViewSet(ServiceViewSet):
    """Visits with their MSTS assessment; ``msts_total`` and ``msts_percent`` are computed."""

    serializer_class = EncounterSerializer
    write_serializer_class = EncounterWriteSerializer
    update_serializer_class = EncounterWriteSerializer
    filterset_class = EncounterFilter

    def get_queryset(self):
        return selectors.encounters_visible_to(self.request.user).order_by("date", "id")

    def service_create(self, data):
        return services.encounter_record(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.encounter_update(
            user=self.request.user,
            encounter=instance,
            data=changed_parent(data, instance, "procedure"),
            expected_version=expected_version,
            reason=reason,
        )

    def service_delete(self, instance, *, reason):
        services.encounter_delete(user=self.request.user, encounter=instance, reason=reason)


# --- Secondary procedures ------------------------------------------------------------------


class SecondaryProcedureSerializer(serializers.ModelSerializer):
    class Meta:
        model = SecondaryProcedure
        fields = ["id", "procedure", "date", "kind", "reason", "version", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="SecondaryProcedure")
class SecondaryProcedureWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(
        selectors.procedures_visible_to, help_text="The index procedure this one follows."
    )
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
class SecondaryProcedureViewSet(ServiceViewSet):
    serializer_class = SecondaryProcedureSerializer
    write_serializer_class = SecondaryProcedureWriteSerializer
    update_serializer_class = SecondaryProcedureWriteSerializer
    filterset_class = SecondaryProcedureFilter

    def get_queryset(self):
        return selectors.secondary_procedures_visible_to(self.request.user).order_by("date", "id")

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


class ComplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Complication
        fields = ["id", "procedure", "date", "kind", "description", "resolved", "version", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema_serializer(component_name="Complication")
class ComplicationWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(selectors.procedures_visible_to)
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
class ComplicationViewSet(ServiceViewSet):
    serializer_class = ComplicationSerializer
    write_serializer_class = ComplicationWriteSerializer
    update_serializer_class = ComplicationWriteSerializer
    filterset_class = ComplicationFilter

    def get_queryset(self):
        return selectors.complications_visible_to(self.request.user).order_by("date", "id")

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

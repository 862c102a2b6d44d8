"""REST resource ``/api/visits-not-done/`` (contract: "Visit not done"): a scheduled follow-up
visit of a procedure that did not take place, and why.

Writes go through ``outcomes.services`` (one per procedure and visit; refused when a follow-up
falls in the window; ``note`` required for ``other``; a reason for every change). Investigators
read it de-identified: no ``note`` (free text), no timestamps. A visit not done names its window,
not a date, so it carries no ``days_from_index``.
"""

from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from core.deidentify import DeidentifiedMixin, free_text_field, timestamp_field
from core.rest import (
    ChangeReasonMixin,
    ChoiceFilter,
    IdFilter,
    ServiceViewSet,
    Text,
    VisiblePrimaryKeyField,
    changed_parent,
    resource_schema,
)
from outcomes import selectors, services
from outcomes.models import NotDoneReason, ScheduledVisit, VisitNotDone
from registry.api import DeidentifiedViewMixin
from registry.permissions import RegistryAccess
from registry.selectors import procedures_visible_to


class VisitNotDoneSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """A visit not done as read; investigators get it without ``note`` and timestamps."""

    dated_field = None
    withheld_fields = ("note", "created_at", "updated_at")

    note = free_text_field("Free text (why, when the reason is `other`)")
    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        model = VisitNotDone
        fields = ["id", "procedure", "visit", "reason", "note", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "procedure", "visit", "reason", "version"]


@extend_schema_serializer(component_name="VisitNotDone")
class VisitNotDoneWriteSerializer(ChangeReasonMixin, serializers.Serializer):
    procedure = VisiblePrimaryKeyField(procedures_visible_to)
    visit = serializers.ChoiceField(
        choices=ScheduledVisit.choices,
        help_text="The window of the follow-up schedule: week2 (days 7-21), month1 (22-45), month3 (75-120). "
        "One per procedure and visit; refused when a follow-up already falls in the window.",
    )
    reason = serializers.ChoiceField(choices=NotDoneReason.choices, help_text="Why the visit did not take place.")
    note = Text(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Free text; required for `other`."
    )


class VisitNotDoneFilter(filters.FilterSet):
    procedure = IdFilter(field_name="procedure_id")
    patient = IdFilter(field_name="procedure__patient_id")
    site = filters.CharFilter(field_name="procedure__patient__site__code", lookup_expr="iexact", help_text="Site code.")
    visit = ChoiceFilter(choices=ScheduledVisit.choices)
    reason = ChoiceFilter(choices=NotDoneReason.choices)

    class Meta:
        model = VisitNotDone
        fields = ["procedure", "patient", "site", "visit", "reason"]


@resource_schema(
    "visits not done",
    write=VisitNotDoneWriteSerializer,
    update=VisitNotDoneWriteSerializer,
    read=VisitNotDoneSerializer,
    examples=[
        OpenApiExample(
            "Too ill for the 3-month visit",
            value={"procedure": 1, "visit": "month3", "reason": "too_ill", "note": ""},
            request_only=True,
        )
    ],
)
class VisitNotDoneViewSet(DeidentifiedViewMixin, ServiceViewSet):
    """Scheduled follow-up visits that did not take place. Investigators read them without ``note``."""

    permission_classes = [RegistryAccess]
    serializer_class = VisitNotDoneSerializer
    write_serializer_class = VisitNotDoneWriteSerializer
    update_serializer_class = VisitNotDoneWriteSerializer
    filterset_class = VisitNotDoneFilter

    def get_queryset(self):
        return selectors.visits_not_done_visible_to(self.request.user).order_by("procedure_id", "visit", "id")

    def service_create(self, data):
        return services.visit_not_done_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.visit_not_done_update(
            user=self.request.user,
            visit_not_done=instance,
            data=changed_parent(data, instance, "procedure"),
            expected_version=expected_version,
            reason=reason,
        )

    def service_delete(self, instance, *, reason):
        services.visit_not_done_delete(user=self.request.user, visit_not_done=instance, reason=reason)

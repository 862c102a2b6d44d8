"""REST API of sites, patients and procedures (docs/contract.md); the auth token is registry/token_api.py.

Serializers only check shapes and types and translate between JSON and the services' arguments;
every write goes through ``registry.services``, which holds the rules. Each resource has a write
serializer (request) and a read serializer (response), so the schema states exactly what a client
may send and what it gets back. The plumbing they share is ``core.rest``.
"""

from decimal import Decimal

from django.db.models import OuterRef, Prefetch, Subquery
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
)
from rest_framework import serializers
from rest_framework.response import Response

from core.deidentify import (
    DaysFromIndexField,
    DaysToDeathField,
    DeceasedField,
    DeidentifiedMixin,
    date_field,
    free_text_field,
    timestamp_field,
)
from core.rest import (
    Boolean,
    ChangeReasonMixin,
    ChoiceFilter,
    Decimal1,
    IdFilter,
    ServiceViewSet,
    Text,
    VisiblePrimaryKeyField,
    changed_parent,
    resource_schema,
)
from registry import selectors, services
from registry.access_log import phi_access_record
from registry.api_fields import (
    STATUS_DATE_HELP,
    AgeField,
    SignedOffField,
    SiteCodeField,
    StatusDaysFromIndexField,
    signed_off_at_field,
)
from registry.choices import (
    Ablation,
    Approach,
    Corridor,
    FractureStatus,
    Indication,
    PatientStatus,
    PrimaryCancer,
    Service,
    Sex,
    Side,
    Trajectory,
    Treatment,
)
from registry.models import Patient, PhiAccess, Procedure, Screw, Site
from registry.mrn import normalise_mrn
from registry.permissions import RegistryAccess, may_see_phi


def index_date_of(patient: str) -> Subquery:
    """The date of the patient's index procedure (first by date, then id), for ``core.deidentify``;
    ``patient`` is the outer query's path to the patient id."""
    return Subquery(Procedure.objects.filter(patient=OuterRef(patient)).order_by("date", "id").values("date")[:1])


class DeidentifiedViewMixin:
    """For a viewset: tells its serializers whether the user may see PHI (``core.deidentify``)."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "phi": may_see_phi(self.request.user)}


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
    permission_classes = [RegistryAccess]
    admin_only_writes = True
    versioned = False

    def get_queryset(self):
        return selectors.sites_visible_to(self.request.user).order_by("code")

    def service_create(self, data):
        return services.site_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        return services.site_update(site=instance, data=data, user=self.request.user)

    def service_delete(self, instance, *, reason):
        services.site_delete(user=self.request.user, site=instance, reason=reason)


# --- Patients ------------------------------------------------------------------------


class PatientSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """A patient as read; investigators get it de-identified (``registry.deidentify``): no PHI, no
    date, no free text; ``age``, ``deceased`` and ``days_to_death`` instead."""

    dated_field = None
    withheld_fields = ("mrn", "birth_date", "death_date", "primary_cancer_detail", "created_at", "updated_at")
    # status_date is a date: left out for investigators, who get status_days_from_index instead.

    site = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="Site code.")
    # Not read-only so that the schema shows them as optional: investigators never receive them.
    mrn = serializers.CharField(required=False, help_text="PHI: absent for investigators.")
    birth_date = serializers.DateField(required=False, help_text="PHI: absent for investigators.")
    death_date = serializers.DateField(required=False, allow_null=True, help_text="PHI: absent for investigators.")
    primary_cancer_detail = free_text_field("Free text (the primary cancer when `other`)")
    age = AgeField()
    deceased = DeceasedField()
    days_to_death = DaysToDeathField()
    status_date = date_field(allow_null=True)
    status_days_from_index = StatusDaysFromIndexField()
    created_at = timestamp_field()
    updated_at = timestamp_field()

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
            "deceased",
            "days_to_death",
            "status",
            "status_date",
            "status_days_from_index",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "study_id", "sex", "primary_cancer", "status", "version"]
        extra_kwargs = {
            "version": {"help_text": "Raised by each change; send it back when updating (optimistic locking)."}
        }


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
    status = serializers.ChoiceField(choices=PatientStatus.choices, required=False, default=PatientStatus.ACTIVE)
    status_date = serializers.DateField(required=False, allow_null=True, default=None, help_text=STATUS_DATE_HELP)


class PatientUpdateSerializer(ChangeReasonMixin, PatientWriteSerializer):
    pass


class PatientFilter(filters.FilterSet):
    site = filters.CharFilter(field_name="site__code", lookup_expr="iexact", help_text="Site code.")
    sex = ChoiceFilter(choices=Sex.choices)
    primary_cancer = ChoiceFilter(choices=PrimaryCancer.choices)
    study_id = filters.CharFilter()
    mrn = filters.CharFilter(
        method="filter_mrn",
        help_text="The whole MRN, compared as the registry compares MRNs: normalised, in any case "
        "(never matches for investigators).",
    )
    search = filters.CharFilter(
        field_name="study_id",  # and the MRN: a text search, never a date (filter_search)
        method="filter_search",
        help_text="Part of a study id or, except for investigators, of an MRN, in any case: `?search=4488` "
        "finds SAC-04488 and MRN-448812.",
    )

    class Meta:
        model = Patient
        fields = ["site", "sex", "primary_cancer", "study_id", "mrn", "search"]

    def filter_mrn(self, queryset, name, value):
        if not may_see_phi(self.request.user):
            return queryset.none()
        return queryset.filter(mrn__iexact=normalise_mrn(value))

    def filter_search(self, queryset, name, value):
        return selectors.patients_matching(queryset, value, phi=may_see_phi(self.request.user))


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
class PatientViewSet(DeidentifiedViewMixin, ServiceViewSet):
    """Patients of the user's sites. Investigators read them de-identified: no ``mrn``, ``birth_date``,
    ``death_date``, timestamps or free text; ``age`` at the index procedure ("90+" from 90 on),
    ``deceased`` and ``days_to_death``."""

    permission_classes = [RegistryAccess]
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
            .annotate(index_date=index_date_of("pk"))
            .order_by("study_id")
        )

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        if may_see_phi(request.user):
            phi_access_record(request=request, action=PhiAccess.Action.API_READ, patient=instance)
        return Response(data)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if may_see_phi(request.user):
            count = response.data["count"] if isinstance(response.data, dict) else len(response.data)
            what = f"{request.path} ({count} patients)"
            phi_access_record(request=request, action=PhiAccess.Action.API_READ, what=what)
        return response

    def service_create(self, data):
        return services.patient_create(user=self.request.user, **data)

    def service_update(self, instance, data, *, expected_version, reason):
        # The API accepts what the pages ask to confirm (contract: soft limits).
        return services.patient_update(
            user=self.request.user,
            patient=instance,
            data=data,
            expected_version=expected_version,
            reason=reason,
            confirm=True,
        )

    def service_delete(self, instance, *, reason):
        services.patient_delete(user=self.request.user, patient=instance, reason=reason)


# --- Procedures ----------------------------------------------------------------------


class ScrewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Screw
        fields = ["id", "corridor", "trajectory", "side", "diameter_mm", "length_mm", "fully_threaded"]
        read_only_fields = fields


class ScrewWriteSerializer(serializers.Serializer):
    corridor = serializers.ChoiceField(choices=Corridor.choices)
    trajectory = serializers.ChoiceField(choices=Trajectory.choices)
    side = serializers.ChoiceField(choices=Side.choices, help_text="The side of entry.")
    diameter_mm = Decimal1(
        max_digits=3, min_value=Decimal("0.1"), max_value=Decimal(12), help_text="More than 0, at most 12: 6.5, 7.3..."
    )
    length_mm = Decimal1(
        max_digits=4,
        min_value=Decimal("0.1"),
        max_value=Decimal(250),
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional: more than 0, at most 250; null when not recorded.",
    )
    fully_threaded = Boolean(required=False, default=True)


class ProcedureSerializer(DeidentifiedMixin, serializers.ModelSerializer):
    """A procedure as read; investigators get ``days_from_index`` (0 for the index procedure) instead
    of the date and timestamps (``registry.deidentify``)."""

    withheld_fields = ("date", "created_at", "updated_at")

    screws = ScrewSerializer(many=True, read_only=True)
    indications = serializers.ListField(child=serializers.ChoiceField(choices=Indication.choices), read_only=True)
    date = date_field()
    days_from_index = DaysFromIndexField()
    signed_off = SignedOffField()
    signed_off_at = signed_off_at_field()
    created_at = timestamp_field()
    updated_at = timestamp_field()

    class Meta:
        model = Procedure
        fields = [
            "id",
            "patient",
            "date",
            "days_from_index",
            "treatment",
            "fracture_status",
            "ablation",
            "prior_local_radiation",
            "service",
            "cement_volume_ml",
            "approach",
            "indications",
            "screws",
            "signed_off",
            "signed_off_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [name for name in fields if name not in ("date", "created_at", "updated_at")]


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
        {
            "corridor": "S1",
            "trajectory": "transsacral",
            "side": "left",
            "diameter_mm": "7.3",
            "length_mm": "140.0",
            "fully_threaded": True,
        }
    ],
}


@resource_schema(
    "procedures",
    write=ProcedureWriteSerializer,
    update=ProcedureUpdateSerializer,
    read=ProcedureSerializer,
    examples=[OpenApiExample("PSFS with one S1 screw", value=PROCEDURE_EXAMPLE, request_only=True)],
    update_examples=[
        OpenApiExample(
            "Change to sacroplasty alone",
            value={**PROCEDURE_EXAMPLE, "treatment": "sacroplasty", "screws": [], "version": 2},
            request_only=True,
        )
    ],
)
class ProcedureViewSet(DeidentifiedViewMixin, ServiceViewSet):
    """Procedures with their screws; ``screws``, when sent, replaces all of them. Investigators read
    ``days_from_index`` instead of the date."""

    permission_classes = [RegistryAccess]
    serializer_class = ProcedureSerializer
    write_serializer_class = ProcedureWriteSerializer
    update_serializer_class = ProcedureUpdateSerializer
    filterset_class = ProcedureFilter

    def get_queryset(self):
        return (
            selectors.procedures_visible_to(self.request.user)
            .select_related("patient")
            .prefetch_related(Prefetch("screws", queryset=Screw.objects.order_by("id")))
            .annotate(index_date=index_date_of("patient_id"))
            .order_by("date", "id")
        )

    def service_create(self, data):
        # The API accepts what the pages ask to confirm (contract: soft limits).
        return services.procedure_create(user=self.request.user, **data, confirm=True)

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
            confirm=True,
        )

    def service_delete(self, instance, *, reason):
        services.procedure_delete(user=self.request.user, procedure=instance, reason=reason)

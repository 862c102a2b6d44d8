"""Admin for registry managers. Every save and delete goes through the services, so the
admin obeys the same rules and leaves the same audit trail as the web forms and the API."""

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q

from registry import services
from registry.models import Patient, Procedure, Screw, Site, StaffProfile

ADMIN_REASON = "Edited in the admin"


def add_rule_errors(form: forms.ModelForm, errors: dict) -> None:
    """Shows service rule errors beside their fields (or above the form when it has no such field)."""
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, messages)


class ServiceModelAdmin(admin.ModelAdmin):
    """Routes the admin's writes through the services named by the ``service_*`` methods.

    ``service_create`` returns the new object; ``service_update`` and ``service_delete``
    act on an existing one.
    """

    def service_create(self, request, fields: dict):
        raise NotImplementedError

    def service_update(self, request, obj, data: dict):
        raise NotImplementedError

    def service_delete(self, request, obj):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if change:
            saved = self.service_update(request, obj, data)
        else:
            fields = {name: form.cleaned_data[name] for name in form.cleaned_data if name in form.fields}
            saved = self.service_create(request, fields)
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.service_delete(request, obj)


@admin.register(Site)
class SiteAdmin(ServiceModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]

    def service_create(self, request, fields):
        return services.site_create(user=request.user, **fields)

    def service_update(self, request, obj, data):
        return services.site_update(user=request.user, site=obj, data=data)

    def has_delete_permission(self, request, obj=None):
        return False  # a site with patients is protected; sites are renamed, not removed


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role", "sites"]
    search_fields = ["user__username"]
    filter_horizontal = ["sites"]


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["site", "mrn", "birth_date", "sex", "primary_cancer", "primary_cancer_detail", "death_date"]

    def _post_clean(self):
        super()._post_clean()
        rule_errors = services.patient_rule_errors(self.instance)
        if "mrn" in rule_errors:
            # The model form also reports the (site, MRN) constraint, without a field: keep the
            # service's message, beside the MRN.
            self._errors.pop(NON_FIELD_ERRORS, None)
        add_rule_errors(self, rule_errors)


@admin.register(Patient)
class PatientAdmin(ServiceModelAdmin):
    form = PatientAdminForm
    list_display = ["study_id", "site", "mrn", "sex", "primary_cancer", "is_demo", "updated_at"]
    list_filter = ["site", "sex", "primary_cancer", "is_demo", "procedures__treatment", "procedures__fracture_status"]
    search_fields = ["study_id", "mrn"]
    readonly_fields = ["study_id", "is_demo", "version", "created_at", "updated_at"]
    list_select_related = ["site"]

    def get_search_results(self, request, queryset, search_term):
        # An exact study id or MRN is what registry managers type; match it first and cheaply.
        term = search_term.strip()
        if term:
            return queryset.filter(Q(study_id__iexact=term) | Q(mrn=term) | Q(study_id__icontains=term)), True
        return queryset, False

    def service_create(self, request, fields):
        return services.patient_create(user=request.user, **fields)

    def service_update(self, request, obj, data):
        return services.patient_update(
            user=request.user, patient=obj, data=data, expected_version=obj.version, reason=ADMIN_REASON
        )

    def service_delete(self, request, obj):
        services.patient_delete(user=request.user, patient=obj, reason=ADMIN_REASON)


class ScrewFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        errors = services.screw_count_errors(treatment=self.instance.treatment, screw_count=len(kept))
        if errors:
            raise ValidationError(errors["screws"])

    def screw_dicts(self) -> list[dict]:
        return [
            {name: form.cleaned_data[name] for name in services.SCREW_FIELDS}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


class ScrewInline(admin.TabularInline):
    model = Screw
    formset = ScrewFormSet
    fields = list(services.SCREW_FIELDS)
    extra = 0


@admin.register(Procedure)
class ProcedureAdmin(ServiceModelAdmin):
    """Procedure and screws are saved together by one service call, in save_related."""

    inlines = [ScrewInline]
    list_display = ["patient", "date", "treatment", "fracture_status", "ablation", "service"]
    list_filter = ["treatment", "fracture_status", "ablation", "service", "prior_local_radiation", "patient__site"]
    search_fields = ["patient__study_id", "patient__mrn"]
    readonly_fields = ["version", "created_at", "updated_at"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        pass  # saved with its screws in save_related

    def save_related(self, request, form, formsets, change):
        screw_formset = next(fs for fs in formsets if isinstance(fs, ScrewFormSet))
        screws = screw_formset.screw_dicts()
        # The screws are replaced as a whole by the service; the admin's change message reads these.
        screw_formset.new_objects, screw_formset.changed_objects, screw_formset.deleted_objects = [], [], []
        fields = {name: form.cleaned_data[name] for name in services.PROCEDURE_EDITABLE if name in form.cleaned_data}
        if change:
            saved = services.procedure_update(
                user=request.user,
                procedure=form.instance,
                data=fields,
                screws=screws,
                expected_version=form.instance.version,
                reason=ADMIN_REASON,
            )
        else:
            saved = services.procedure_create(
                user=request.user, patient=form.cleaned_data["patient"], screws=screws, **fields
            )
        form.instance.pk = saved.pk
        form.instance.version = saved.version

    def service_delete(self, request, obj):
        services.procedure_delete(user=request.user, procedure=obj, reason=ADMIN_REASON)

"""Admin for registry managers. Every save and delete goes through the services, so the
admin obeys the same rules and leaves the same audit trail as the web forms and the API."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.messages import ERROR, SUCCESS
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.writes import REASON_MAX_LENGTH, StaleEditError
from registry import (
    admin_users,  # noqa: F401  (staff accounts: role and sites on one screen)
    services,
)
from registry.forms import OptionalStatusMixin
from registry.models import ApiToken, Patient, PhiAccess, Procedure, Screw, Site, StaffProfile

# The fields a clinical record's change form adds to the record's own: the version the form was
# loaded at (optimistic locking, as in the web forms) and the reason for the change (audit trail).
EDITED_VERSION = "edited_version"
CHANGE_REASON = "change_reason"


class DeleteReasonForm(forms.Form):
    change_reason = forms.CharField(
        label="Reason for retracting",
        max_length=REASON_MAX_LENGTH,
        help_text="Why the record is removed, e.g. 'entered in error: duplicate of SAC-00012' (kept in the audit).",
        widget=forms.TextInput(attrs={"size": 80}),
    )


def add_rule_errors(form: forms.ModelForm, errors: dict) -> None:
    """Shows service rule errors beside their fields (or above the form when it has no such field)."""
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, messages)


class ClinicalChangeForm(forms.ModelForm):
    """The change form of a clinical record: the record's fields, the version it was loaded at and
    a required reason. A form loaded at an older version than the record's is refused with the
    stale-edit message, before anything is saved."""

    edited_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    change_reason = forms.CharField(
        label="Reason for change",
        max_length=REASON_MAX_LENGTH,
        help_text="Why the record changes (kept in the audit trail).",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[EDITED_VERSION].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        edited = cleaned.get(EDITED_VERSION)
        current = type(self.instance).objects.filter(pk=self.instance.pk).first()
        if edited is not None and current is not None and current.version != edited:
            raise ValidationError(str(StaleEditError(instance=current, expected_version=edited)))
        return cleaned


class ServiceModelAdmin(admin.ModelAdmin):
    """Routes the admin's writes through the services named by the ``service_*`` methods.

    ``service_create`` returns the new object; ``service_update`` and ``service_delete``
    act on an existing one. A clinical record (``clinical = True``) is changed with the version
    the form was loaded at and a reason, given to the service; it is deleted (retracted) one at a
    time, on a page that lists what goes with it and asks for the reason; never in bulk.
    """

    clinical = True

    def service_create(self, request, fields: dict):
        raise NotImplementedError

    def service_update(self, request, obj, data: dict, **change):
        """``change`` holds, for a clinical record, ``expected_version`` and ``reason``."""
        raise NotImplementedError

    def service_delete(self, request, obj, *, reason: str = ""):
        raise NotImplementedError

    # --- change form: version and reason -----------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        if self.clinical and obj is not None:
            base = kwargs.get("form", self.form)
            kwargs["form"] = type(f"{base.__name__}Change", (ClinicalChangeForm, base), {})
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if self.clinical and obj is not None:
            fields += [name for name in (CHANGE_REASON, EDITED_VERSION) if name not in fields]
        return fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleEditError as error:
            # The form was checked against the version just before; a change that slipped in
            # between is caught by the service's lock, and the admin's transaction rolled back.
            self.message_user(request, str(error), ERROR)
            return redirect(request.path)

    @staticmethod
    def change_arguments(form) -> dict:
        return {"expected_version": form.cleaned_data[EDITED_VERSION], "reason": form.cleaned_data[CHANGE_REASON]}

    # --- deletion: one record at a time, with a reason ---------------------------------------

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.clinical:
            # A bulk delete would skip the reason and each record's confirmation.
            actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        if not self.clinical:
            return super().delete_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        form = DeleteReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                self.service_delete(request, obj, reason=form.cleaned_data[CHANGE_REASON])
            except ValidationError as error:
                add_rule_errors(form, error.message_dict)
            else:
                self.message_user(request, f"{self.opts.verbose_name.capitalize()} {obj} retracted.", SUCCESS)
                return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        deleted_objects, model_count, _perms, _protected = self.get_deleted_objects([obj], request)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Retract {self.opts.verbose_name} {obj}",
            "object": obj,
            "opts": self.opts,
            "form": form,
            "deleted_objects": deleted_objects,
            "model_count": dict(model_count).items(),
        }
        return TemplateResponse(request, "admin/delete_with_reason.html", context)

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in form.cleaned_data and name not in (EDITED_VERSION, CHANGE_REASON)
        }
        if change:
            saved = (
                self.service_update(request, obj, data, **self.change_arguments(form))
                if self.clinical
                else self.service_update(request, obj, data)
            )
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
    clinical = False  # renamed without a reason, never deleted here

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


class PatientAdminForm(OptionalStatusMixin, forms.ModelForm):
    class Meta:
        model = Patient
        fields = list(services.PATIENT_EDITABLE)

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
    list_display = ["study_id", "site", "mrn", "sex", "primary_cancer", "status", "is_demo", "updated_at"]
    list_filter = [
        "site",
        "sex",
        "primary_cancer",
        "status",
        "is_demo",
        "procedures__treatment",
        "procedures__fracture_status",
    ]
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

    def service_update(self, request, obj, data, *, expected_version, reason):
        return services.patient_update(
            user=request.user,
            patient=obj,
            data=data,
            expected_version=expected_version,
            reason=reason,
            confirm=True,  # the admin accepts what the pages ask to confirm, as the API does
        )

    def service_delete(self, request, obj, *, reason=""):
        services.patient_delete(user=request.user, patient=obj, reason=reason)


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
    readonly_fields = ["version", "created_at", "updated_at", "signed_off_at", "signed_off_by"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        pass  # saved with its screws in save_related

    def service_delete(self, request, obj, *, reason=""):
        services.procedure_delete(user=request.user, procedure=obj, reason=reason)

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
                confirm=True,  # the admin lists the screws it keeps; it accepts, as the API does
                **self.change_arguments(form),
            )
        else:
            saved = services.procedure_create(
                user=request.user, patient=form.cleaned_data["patient"], screws=screws, confirm=True, **fields
            )
        form.instance.pk = saved.pk
        form.instance.version = saved.version


# --- API tokens (registry/tokens.py): listed and revoked, never shown or made here -----------------


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds a token for which client, and until when. Only a digest is stored, and not even that
    is shown; deleting a token revokes it. Tokens are issued by the API's login, never here."""

    list_display = ["user", "name", "created", "expiry"]
    list_filter = ["name"]
    search_fields = ["user__username", "name"]
    fields = ["user", "name", "created", "expiry"]
    readonly_fields = fields
    ordering = ["user__username", "name"]
    actions = ["delete_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- The PHI access log (registry/access_log.py): read only, for everyone -------------------------


@admin.register(PhiAccess)
class PhiAccessAdmin(admin.ModelAdmin):
    """Who viewed or exported identified patient data, when and from where. Rows are written only by
    the pages and endpoints that show PHI; nobody adds, changes or deletes one here (and the
    application's database role cannot either)."""

    list_display = ["at", "username", "action", "study_id", "what", "client_address"]
    list_filter = ["action", "user"]
    date_hierarchy = "at"
    search_fields = ["username", "study_id"]
    fields = ["at", "user", "username", "action", "patient_id", "study_id", "what", "client_address"]
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

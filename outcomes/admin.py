from django import forms
from django.contrib import admin

from outcomes import services
from outcomes.models import Complication, Encounter, SecondaryProcedure, VisitNotDone
from registry.admin import ServiceModelAdmin, add_rule_errors


class EncounterAdminForm(forms.ModelForm):
    class Meta:
        model = Encounter
        fields = ["procedure", *services.ENCOUNTER_EDITABLE]

    def _post_clean(self):
        super()._post_clean()
        if self.instance.procedure_id:
            add_rule_errors(self, services.encounter_rule_errors(self.instance))


@admin.register(Encounter)
class EncounterAdmin(ServiceModelAdmin):
    form = EncounterAdminForm
    list_display = ["procedure", "date", "kind", "msts_total", "narcotic_change"]
    list_filter = ["kind", "narcotic_change", "procedure__treatment", "procedure__patient__site"]
    search_fields = ["procedure__patient__study_id", "procedure__patient__mrn"]
    readonly_fields = ["msts_total", "version", "created_at", "updated_at"]
    raw_id_fields = ["procedure"]
    list_select_related = ["procedure__patient"]
    date_hierarchy = "date"

    # The admin has no "are you sure?" step: it accepts what the pages ask to confirm, as the API does.
    def service_create(self, request, fields):
        return services.encounter_record(user=request.user, **fields, confirm=True)

    def service_update(self, request, obj, data, *, expected_version, reason):
        data.pop("procedure", None)
        return services.encounter_update(
            user=request.user, encounter=obj, data=data, expected_version=expected_version, reason=reason, confirm=True
        )

    def service_delete(self, request, obj, *, reason=""):
        services.encounter_delete(user=request.user, encounter=obj, reason=reason)


class AfterIndexEventAdminForm(forms.ModelForm):
    def _post_clean(self):
        super()._post_clean()
        if self.instance.procedure_id:
            add_rule_errors(self, services.after_death_errors(self.instance.procedure, self.instance.date))


@admin.register(SecondaryProcedure)
class SecondaryProcedureAdmin(ServiceModelAdmin):
    form = AfterIndexEventAdminForm
    fields = ["procedure", *services.SECONDARY_PROCEDURE_EDITABLE]
    list_display = ["procedure", "date", "kind"]
    list_filter = ["kind", "procedure__treatment", "procedure__patient__site"]
    search_fields = ["procedure__patient__study_id", "procedure__patient__mrn"]
    raw_id_fields = ["procedure"]
    list_select_related = ["procedure__patient"]

    def service_create(self, request, fields):
        return services.secondary_procedure_create(user=request.user, **fields)

    def service_update(self, request, obj, data, *, expected_version, reason):
        data.pop("procedure", None)
        return services.secondary_procedure_update(
            user=request.user, secondary_procedure=obj, data=data, expected_version=expected_version, reason=reason
        )

    def service_delete(self, request, obj, *, reason=""):
        services.secondary_procedure_delete(user=request.user, secondary_procedure=obj, reason=reason)


@admin.register(Complication)
class ComplicationAdmin(ServiceModelAdmin):
    form = AfterIndexEventAdminForm
    fields = ["procedure", *services.COMPLICATION_EDITABLE]
    list_display = ["procedure", "date", "kind", "resolved"]
    list_filter = ["kind", "resolved", "procedure__treatment", "procedure__patient__site"]
    search_fields = ["procedure__patient__study_id", "procedure__patient__mrn"]
    raw_id_fields = ["procedure"]
    list_select_related = ["procedure__patient"]

    def service_create(self, request, fields):
        return services.complication_create(user=request.user, **fields)

    def service_update(self, request, obj, data, *, expected_version, reason):
        data.pop("procedure", None)
        return services.complication_update(
            user=request.user, complication=obj, data=data, expected_version=expected_version, reason=reason
        )

    def service_delete(self, request, obj, *, reason=""):
        services.complication_delete(user=request.user, complication=obj, reason=reason)


class VisitNotDoneAdminForm(forms.ModelForm):
    class Meta:
        model = VisitNotDone
        fields = ["procedure", *services.VISIT_NOT_DONE_EDITABLE]

    def _post_clean(self):
        super()._post_clean()
        if self.instance.procedure_id:
            add_rule_errors(self, services.visit_not_done_rule_errors(self.instance))


@admin.register(VisitNotDone)
class VisitNotDoneAdmin(ServiceModelAdmin):
    form = VisitNotDoneAdminForm
    list_display = ["procedure", "visit", "reason"]
    list_filter = ["visit", "reason", "procedure__patient__site"]
    search_fields = ["procedure__patient__study_id", "procedure__patient__mrn"]
    readonly_fields = ["version", "created_at", "updated_at"]
    raw_id_fields = ["procedure"]
    list_select_related = ["procedure__patient"]

    def service_create(self, request, fields):
        return services.visit_not_done_create(user=request.user, **fields)

    def service_update(self, request, obj, data, *, expected_version, reason):
        data.pop("procedure", None)
        return services.visit_not_done_update(
            user=request.user, visit_not_done=obj, data=data, expected_version=expected_version, reason=reason
        )

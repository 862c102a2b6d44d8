"""Forms of the staff web pages. They check the shape of the input; the services own every rule."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.free_text import FreeTextFormMixin
from core.web import RequiredMarkedBoundField
from registry import services
from registry.choices import Indication, PatientStatus, Treatment
from registry.models import Patient, Procedure, Screw, Site

REASON_HELP = "Why the record changes (kept in the audit trail)."


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class ServiceForm(FreeTextFormMixin, forms.ModelForm):
    """A ModelForm that leaves record validation to the services.

    ``_post_clean`` does not run the model's rules: the view calls the service, and
    ``add_service_errors`` puts the service's ValidationError beside the fields it names.
    Edit forms carry the record's ``version`` and a required ``change_reason``.

    ``free_text_fields`` (and the change reason) get the hint "No names or identifiers.";
    they and ``formula_checked_fields`` are flagged under the field when their value starts like a
    spreadsheet formula (``core.free_text``: a warning shown on the page, never an error).
    """

    free_text_fields: tuple[str, ...] = ()
    formula_checked_fields: tuple[str, ...] = ()
    bound_field_class = RequiredMarkedBoundField

    def __init__(self, *args, editing: bool = False, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, initial=self.instance.version)
            self.fields["change_reason"] = forms.CharField(
                label="Reason for change", max_length=500, help_text=REASON_HELP, widget=forms.TextInput
            )
        self.mark_free_text(
            [*self.free_text_fields, *(["change_reason"] if editing else [])], self.formula_checked_fields
        )

    def _post_clean(self):
        pass

    def record_data(self) -> dict:
        """The cleaned values of the record's own fields (not version, not the reason)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}

    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            target = field if field in self.fields and field != NON_FIELD_ERRORS else None
            self.add_error(target, messages)


class OptionalStatusMixin:
    """A patient form sent without the follow-up status keeps the patient's current one (``active``
    for a new patient), as the services do."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].required = False

    def clean_status(self):
        return self.cleaned_data.get("status") or self.instance.status or PatientStatus.ACTIVE


class PatientForm(OptionalStatusMixin, ServiceForm):
    class Meta:
        model = Patient
        fields = list(services.PATIENT_EDITABLE)
        widgets = {"birth_date": DateInput, "death_date": DateInput, "status_date": DateInput}
        help_texts = {
            "primary_cancer_detail": "Required when the primary cancer is 'other'.",
            "status_date": "When the patient withdrew or was lost to follow-up; empty while active.",
        }

    free_text_fields = ("primary_cancer_detail",)
    formula_checked_fields = ("mrn",)

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.none()
        if sites is not None and len(sites) == 1 and not self.instance.pk:
            self.fields["site"].initial = sites[0].pk


class ProcedureForm(ServiceForm):
    # The treatment whose procedures carry screws; the page's script reads it from the form.
    screw_treatment = Treatment.PSFS
    indications = forms.MultipleChoiceField(
        choices=Indication.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Procedure
        fields = [
            "date",
            "treatment",
            "fracture_status",
            "service",
            "ablation",
            "prior_local_radiation",
            "cement_volume_ml",
            "approach",
            "indications",
        ]
        widgets = {
            "date": DateInput,
            "treatment": forms.RadioSelect(attrs={"data-treatment": ""}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["treatment"].choices = [c for c in self.fields["treatment"].choices if c[0]]
        self.fields["approach"].required = False
        self.screw_errors: list[str] = []

    def record_data(self) -> dict:
        data = super().record_data()
        data["approach"] = data.get("approach") or None
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """Screw errors are shown above the screw rows rather than at the top of the form."""
        errors = dict(error.message_dict)
        self.screw_errors = errors.pop("screws", [])
        if errors:
            super().add_service_errors(ValidationError(errors))


class ScrewForm(ServiceForm):
    """One screw row. A row with nothing entered (or not sent: the screw fieldset is disabled
    for sacroplasty) is not a screw."""

    class Meta:
        model = Screw
        fields = list(services.SCREW_FIELDS)
        widgets = {
            "diameter_mm": forms.NumberInput(
                attrs={"step": "0.1", "min": "0.1", "max": "12", "list": "screw-diameters"}
            ),
            "length_mm": forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "250"}),
        }

    def __init__(self, *args, **kwargs):
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        super().__init__(*args, **kwargs)
        for name in ("corridor", "trajectory", "side"):
            self.fields[name].choices = [("", "—"), *[c for c in self.fields[name].choices if c[0]]]

    def has_changed(self) -> bool:
        entered = ("corridor", "trajectory", "side", "diameter_mm", "length_mm")
        return any(self.data.get(self.add_prefix(name)) for name in entered) if self.is_bound else False


class BaseScrewFormSet(forms.BaseFormSet):
    def screw_dicts(self) -> list[dict]:
        """The screws entered, in order, as the services take them."""
        return [
            {name: form.cleaned_data[name] for name in services.SCREW_FIELDS}
            for form in self.forms
            if form.has_changed() and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


ScrewFormSet = forms.formset_factory(ScrewForm, formset=BaseScrewFormSet, extra=0, can_delete=True)


def screw_formset(data=None, *, procedure: Procedure | None = None) -> BaseScrewFormSet:
    """The screws of ``procedure`` as a formset, plus empty rows (two for a new procedure, one for an
    edit) so that a screw can be added without JavaScript; a row left empty is not a screw."""
    blank = {"fully_threaded": True}
    if procedure is not None and procedure.pk:
        initial = [{name: getattr(s, name) for name in services.SCREW_FIELDS} for s in procedure.screws.all()]
        initial.append(blank)
    else:
        initial = [blank, dict(blank)]
    return ScrewFormSet(data, initial=initial, prefix="screws")

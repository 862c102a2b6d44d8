"""Forms of the data query pages. They check the shape of the input; ``quality.services`` owns the rules."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.free_text import FreeTextFormMixin
from core.web import RequiredMarkedBoundField
from quality.models import QueryStatus, Resolution
from quality.services import ANSWER_MAX_LENGTH, MESSAGE_MAX_LENGTH

# The status filter of the list: "not closed" (open or answered) unless another is chosen.
NOT_CLOSED = "not_closed"
ANY_STATUS = "any"
STATUS_FILTERS = [(NOT_CLOSED, "Open or answered"), *QueryStatus.choices, (ANY_STATUS, "Any")]
MAX_AGE_DAYS = 3650


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields and field != NON_FIELD_ERRORS else None, messages)


class QueryFilterForm(forms.Form):
    """The list's filters (GET). ``site`` is a code, resolved by the view (404 for an unseen one)."""

    site = forms.CharField(required=False)
    rule = forms.CharField(required=False, max_length=40)
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    older_than = forms.IntegerField(
        label="Opened more than (days ago)", required=False, min_value=0, max_value=MAX_AGE_DAYS
    )

    def __init__(self, *args, rules=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.rules = list(rules)

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out, its error shown), status defaulting to not closed."""
        self.is_valid()
        data = self.cleaned_data
        status = data.get("status") or NOT_CLOSED
        return {
            "site": (data.get("site") or "").strip() or None,
            "rule": (data.get("rule") or "").strip(),
            "status": "" if status == ANY_STATUS else status,
            "older_than_days": data.get("older_than"),
            "chosen_status": status,
        }


class QueryAnswerForm(ServiceErrorsMixin, FreeTextFormMixin, forms.Form):
    bound_field_class = RequiredMarkedBoundField

    answer = forms.CharField(
        label="Your answer",
        max_length=ANSWER_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you checked, and whether the value is right (e.g. 'Confirmed: the patient takes 1,400 MME').",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.mark_free_text(["answer"])


class QueryRaiseForm(ServiceErrorsMixin, FreeTextFormMixin, forms.Form):
    """A person's question about one record of a patient: ``records`` are (``kind:id``, label) choices."""

    bound_field_class = RequiredMarkedBoundField

    record = forms.ChoiceField(label="Record")
    field = forms.CharField(
        label="Field (optional)",
        required=False,
        max_length=40,
        help_text="The name of the field in question, e.g. opioid_mme_per_day; leave empty for the record as a whole.",
    )
    message = forms.CharField(
        label="Question",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What looks wrong, e.g. 'Gait 0 but walking 5?'.",
    )

    def __init__(self, *args, records=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["record"].choices = list(records)
        self.mark_free_text(["message"])

    def service_arguments(self) -> dict:
        kind, _, record = self.cleaned_data["record"].partition(":")
        return {
            "kind": kind,
            "record": int(record),
            "field": self.cleaned_data["field"],
            "message": self.cleaned_data["message"],
        }


class QueryCloseForm(ServiceErrorsMixin, forms.Form):
    resolution = forms.ChoiceField(label="Resolution", choices=Resolution.choices)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class IdsField(forms.Field):
    """The ids of the ticked rows (check boxes named alike, drawn by the page)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Tick at least one query to close.", "invalid": "Tick queries of the list."}

    def to_python(self, value) -> list[int]:
        try:
            return [int(item) for item in value or ()]
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class BulkCloseForm(ServiceErrorsMixin, forms.Form):
    """The data manager's bulk close: the ticked queries and one resolution."""

    ids = IdsField(label="Queries")
    resolution = forms.ChoiceField(label="Close the ticked queries as", choices=Resolution.choices)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

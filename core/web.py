"""Web plumbing every app's pages share: saving a form through a service, with the service's
errors on the form and a stale edit shown as the differences between the record and the entry.

Forms that use it provide ``record_data()`` (the service's arguments) and ``add_service_errors()``.
"""

from django.core.exceptions import ValidationError
from django.forms import BoundField
from django.shortcuts import render

from core.writes import NeedsConfirmation, StaleEditError

# The check box a form shows under the warnings of NeedsConfirmation (includes/confirm.html).
CONFIRM_FIELD = "confirm_warnings"


class RequiredMarkedBoundField(BoundField):
    """A field that tells assistive technology it is required (``aria-required``) wherever the
    page marks it with a star (includes/field.html); the forms say ``novalidate``, so the
    browser itself announces nothing."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        # Forms without the required attribute (rows that may stay blank) get no mark either.
        if self.field.required and self.form.use_required_attribute and not (widget or self.field.widget).is_hidden:
            attrs["aria-required"] = "true"
        return attrs


def confirmation_given(request) -> bool:
    """Whether the user ticked "I have checked these values" under the form's warnings."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "1"


STALE_MESSAGE = (
    "Not saved: someone else changed this record while you were editing it. "
    "Your entries are kept below, beside the current values that differ from them. "
    "Check them, then save again to replace the current values with yours."
)


def display_value(model, name: str, value) -> str:
    """A field value as a reader sees it: choice labels, yes/no, '—' for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    field = model._meta.get_field(name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    choices = dict(getattr(field, "base_field", field).flatchoices)
    if isinstance(value, list | tuple):
        return ", ".join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


def stale_differences(model, current, submitted: dict) -> list[tuple[str, str, str]]:
    """(label, current value, your entry) for each field where the record now differs from the entry."""
    rows = []
    for name, value in submitted.items():
        now = getattr(current, name)
        if isinstance(now, list) or isinstance(value, list | tuple):
            now, value = sorted(now or []), sorted(value or [])
        if now != value:
            label = model._meta.get_field(name).verbose_name
            rows.append(
                (label[:1].upper() + label[1:], display_value(model, name, now), display_value(model, name, value))
            )
    return rows


def call_service(form, call, *, model, extra_differences=()):
    """Runs ``call``; returns (saved object, stale context). Service errors land on ``form``.

    On a stale edit the form's hidden version moves to the current one, so that saving
    again, after reading the differences, is a deliberate choice.
    """
    try:
        return call(), None
    except ValidationError as error:
        form.add_service_errors(error)
        return None, None
    except NeedsConfirmation as error:
        # Shown by includes/confirm.html (through form_top.html) with the check box to confirm.
        form.confirmation_warnings = error.warnings
        return None, None
    except StaleEditError as error:
        current = error.instance
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = str(current.version)
        differences = stale_differences(model, current, form.record_data()) + list(extra_differences)
        return None, {"message": STALE_MESSAGE, "differences": differences, "version": current.version}


def render_form(request, template: str, context: dict, stale=None):
    context = {**context, "stale": stale}
    return render(request, template, context, status=409 if stale else 200)

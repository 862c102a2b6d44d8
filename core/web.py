"""Web plumbing every app's pages share: saving a form through a service, with the service's
errors on the form and a stale edit shown as the differences between the record and the entry.

Forms that use it provide ``record_data()`` (the service's arguments) and ``add_service_errors()``.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render

from core import merge
from core.free_text import FreeTextBoundField
from core.writes import NeedsConfirmation, StaleEditError

# The check box a form shows under the warnings of NeedsConfirmation (includes/confirm.html).
CONFIRM_FIELD = "confirm_warnings"


class RequiredMarkedBoundField(FreeTextBoundField):
    """A field that tells assistive technology it is required (``aria-required``) wherever the
    page marks it with a star (includes/field.html); the forms say ``novalidate``, so the
    browser itself announces nothing. It keeps the formula warning of the free-text fields."""

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
    "Not saved: someone else changed this record while you were editing it, and changed some of "
    "the fields you changed too. For each of those fields, listed beside the save button, choose "
    "which value to save, then save again. Your other changes are kept, and so are theirs."
)
# Attempts at saving a merged edit while others keep saving the same record (each attempt merges anew).
MERGE_ATTEMPTS = 3


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


def call_service(form, call, *, model, extras=None, request=None):
    """Runs ``call``; returns (saved object, stale context). Service errors land on ``form``.

    A stale edit is merged field by field against the version the form carries (``core.merge``):
    the other user's changes are kept, this user's are applied, and the service is called again
    (``call`` reads ``form.record_data()``, the version in ``form.cleaned_data`` and each of
    ``extras``' ``mine`` when it runs). A field both changed differently is a conflict: nothing is
    saved and the stale context lists the conflicts only, for the user to settle. The form's hidden
    version never moves, so every new attempt merges against the record as the user loaded it.
    ``request``, when given, gets a message naming the fields that kept the other user's values.
    """
    extras = extras or {}
    base_version = form.cleaned_data.get("version")
    taken, editors = [], []
    for _attempt in range(MERGE_ATTEMPTS):
        try:
            saved = call()
        except ValidationError as error:
            form.add_service_errors(error)
            return None, None
        except NeedsConfirmation as error:
            # Shown by includes/confirm.html (through form_top.html) with the check box to confirm.
            form.confirmation_warnings = error.warnings
            return None, None
        except StaleEditError as error:
            current = error.instance
            result = merge.merge(
                model=model,
                current=current,
                base_version=base_version,
                mine=form.record_data(),
                extras=extras,
                choices=merge.posted_choices(form.data, current.version),
                display=display_value,
            )
            _show_taken_values(form, result)
            for name, value in result.extras.items():  # the page shows them; ``call`` saves them
                extras[name].mine = value
            taken, editors = [label for _, label in result.taken], result.editors
            if result.conflicts:
                return None, _conflict_context(result, current)
            form.cleaned_data.update(result.values)
            form.cleaned_data["version"] = current.version
            continue
        if taken and request is not None:
            messages.info(request, merged_message(taken, editors))
        return saved, None
    return None, {"message": STALE_MESSAGE, "conflicts": [], "differences": [], "taken": [], "editors": []}


def merged_message(taken: list[str], editors: list[str]) -> str:
    """What a page says after saving an edit merged with another user's: which fields kept theirs."""
    who = ", ".join(editors) or "someone else"
    values = "the value" if len(taken) == 1 else "the values"
    return f"Merged with the changes {who} saved while you were editing: {', '.join(taken)} kept {values} {who} saved."


def _show_taken_values(form, result) -> None:
    """The form shows the other user's value in each field it keeps (its hidden version stays)."""
    form.data = form.data.copy()
    for name, _label in result.taken:
        if name not in form.fields or name not in result.values:
            continue
        key, value = form.add_prefix(name), merge.form_input(result.values[name])
        if isinstance(value, list) and hasattr(form.data, "setlist"):
            form.data.setlist(key, value)
        else:
            form.data[key] = value


def _conflict_context(result, current) -> dict:
    return {
        "message": STALE_MESSAGE,
        "conflicts": result.conflicts,
        # (field, their value, your entry) of each conflict: the table lists nothing else
        "differences": [(c.label, c.theirs, c.mine) for c in result.conflicts],
        "taken": [label for _, label in result.taken],
        "editors": result.editors,
        "version": current.version,
    }


def render_form(request, template: str, context: dict, stale=None):
    context = {**context, "stale": stale}
    return render(request, template, context, status=409 if stale else 200)

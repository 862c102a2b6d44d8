"""Free text typed by users: in the web forms, a hint against identifiers and a warning when a text
would be read as a formula by a spreadsheet (the exports neutralise it: ``core.csv_safe``); in a
search, the characters that cannot be searched.

A form mixes in ``FreeTextFormMixin`` and calls ``mark_free_text(names)`` at the end of its
``__init__``; ``templates/includes/field.html`` shows the warning under the field, and the page's
script (``data-formula-*`` attributes) shows the same warning, by the same rule, as the user types.
"""

import unicodedata

from django import forms
from django.utils.functional import cached_property

from core.csv_safe import FORMULA_START_PATTERN, PLAIN_NUMBER_PATTERN, looks_like_formula

# Added to the help of every free-text field of the web forms.
NO_IDENTIFIERS_HELP = "No names or identifiers."
# Shown under a text field whose value a spreadsheet would read as a formula; it does not block saving.
FORMULA_WARNING = (
    "This text starts with =, +, -, @ or a tab, which a spreadsheet reads as a formula. "
    "It will be saved as typed and exported with a leading ' so that it stays text; "
    "reword it if that is not what you meant."
)


class FreeTextBoundField(forms.BoundField):
    """A field that knows its formula warning and names it in aria-describedby."""

    @property
    def formula_warning(self) -> str:
        return FORMULA_WARNING if self.name in getattr(self.form, "formula_warnings", ()) else ""

    @property
    def aria_describedby(self):
        ids = super().aria_describedby
        if ids is None or not self.formula_warning or not self.auto_id:
            return ids
        return f"{ids} {self.auto_id}_formula".strip()


class FreeTextFormMixin:
    """``free_text`` fields get the hint; they and ``formula_checked`` fields (an MRN: an identifier
    by design, so no hint) get the formula warning, a message on the page and never an error."""

    bound_field_class = FreeTextBoundField
    free_text: list[str]
    formula_checked: list[str]

    def mark_free_text(self, free_text, formula_checked=()) -> None:
        self.free_text, self.formula_checked = list(free_text), [*formula_checked, *free_text]
        for name in self.free_text:
            field = self.fields[name]
            field.help_text = " ".join(filter(None, [field.help_text, NO_IDENTIFIERS_HELP]))
        for name in self.formula_checked:
            self.fields[name].widget.attrs.update(
                {
                    "data-formula-warning": FORMULA_WARNING,
                    "data-formula-start": FORMULA_START_PATTERN,
                    "data-plain-number": PLAIN_NUMBER_PATTERN,
                }
            )

    @cached_property
    def formula_warnings(self) -> set[str]:
        """The fields whose value (entered, or the record's) a spreadsheet would read as a formula."""
        checked = getattr(self, "formula_checked", ())
        return {name for name in checked if name in self.fields and looks_like_formula(self[name].value())}


UNSEARCHABLE_MESSAGE = "The search contains characters that cannot be searched."


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a NUL (which PostgreSQL refuses in any text) or another control
    character (no study id or MRN holds one): a search for it is answered with UNSEARCHABLE_MESSAGE
    rather than run."""
    return any(unicodedata.category(char) == "Cc" for char in text)


def without_control_characters(text: str) -> str:
    return "".join(char for char in text if unicodedata.category(char) != "Cc")

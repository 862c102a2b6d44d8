"""The per-field merge of a stale edit: someone saved the record while this user was editing it.

Three versions of each field meet: the base (the record as this user loaded it), theirs (the record
now) and mine (this user's entry). A field only they changed keeps their value; a field only I
changed takes mine; a field both changed to different values is a conflict, which the user settles
("keep theirs" / "use mine") before anything is saved. Saving again never reverts their change.

The base is the audit event of the version the form carries (the services raise a record's version
with every write, and the event tables hold every version of every row). The form's hidden version
stays the loaded one on every re-display, so each new attempt merges against the same base: a
form needs no copy of the loaded values, and one opened before this code existed merges too.

Knows no registry model: it reads any model's audit events through django-pghistory.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

UNKNOWN = object()  # a base that the audit events do not hold (the field is then a conflict)
THEIRS, MINE = "theirs", "mine"
CHOICE_PREFIX = "merge_"  # the conflict table's radio buttons: merge_<field> = theirs | mine
CHOICE_VERSION = "merge_version"  # the version the user settled the conflicts against


@dataclasses.dataclass
class MergeValue:
    """A value edited on the page beside the form's fields (a procedure's screws): the entry, how
    to read it at a version (``UNKNOWN`` if it cannot) and now, and how to show it."""

    label: str
    mine: Any
    at_version: Callable[[int], Any]
    current: Callable[[], Any]
    display: Callable[[Any], str]


@dataclasses.dataclass(frozen=True)
class Conflict:
    name: str
    label: str
    theirs: str
    mine: str


@dataclasses.dataclass
class Merge:
    """The outcome for each field: the values to save (``values``, ``extras``), the fields that keep
    the other user's value (``taken``, (name, label) pairs), and the conflicts left to settle."""

    values: dict
    extras: dict
    taken: list[tuple[str, str]]
    conflicts: list[Conflict]
    editors: list[str]


def canonical(value):
    """A value in the form two versions are compared in: a record by its id, nothing as None,
    a list of choices as a sorted list, rows (dicts) field by field in their order."""
    if isinstance(value, models.Model):
        return value.pk
    if value is None or value == "" or value == [] or value == ():
        return None
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        items = [canonical(item) for item in value]
        return items if any(isinstance(item, dict) for item in items) else sorted(items, key=repr)
    return value


def same(a, b) -> bool:
    return canonical(a) == canonical(b)


def event_model(model):
    events = getattr(model, "pgh_event_models", None)
    return next(iter(events.values())) if events else None


def row_at_version(model, pk, version):
    """The audit event holding the record ``pk`` as it was at ``version`` (its last one, if a write
    outside the services left the version alone), or None."""
    events = event_model(model)
    if events is None or version is None:
        return None
    rows = events.objects.filter(pgh_obj_id=pk, version=version).exclude(pgh_label="delete")
    return rows.select_related("pgh_context").order_by("-pgh_id").first()


def editors_since(model, pk, version) -> list[str]:
    """Who changed the record after ``version``, in order, each once."""
    events = event_model(model)
    if events is None or version is None:
        return []
    rows = events.objects.filter(pgh_obj_id=pk, version__gt=version).select_related("pgh_context").order_by("pgh_id")
    names = [row.pgh_context.metadata.get("username") for row in rows if row.pgh_context]
    return list(dict.fromkeys(name for name in names if name))


def merge(*, model, current, base_version, mine: dict, extras: dict, choices: dict, display: Callable) -> Merge:
    """Merges ``mine`` (field name -> the user's entry) and ``extras`` into ``current`` against the
    record at ``base_version``; ``choices`` (field name -> THEIRS | MINE) settle conflicts."""
    base_row = row_at_version(model, current.pk, base_version)
    result = Merge(values={}, extras={}, taken=[], conflicts=[], editors=editors_since(model, current.pk, base_version))
    for name, entry in mine.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # an argument of the service, not a field: passed as entered
            result.values[name] = entry
            continue
        base = getattr(base_row, field.attname) if base_row is not None else UNKNOWN
        label = field.verbose_name[:1].upper() + field.verbose_name[1:]
        result.values[name] = _settle(
            result, name, label, base, getattr(current, name), entry, choices, lambda v, n=name: display(model, n, v)
        )
    for name, extra in extras.items():
        base = extra.at_version(base_version) if base_row is not None else UNKNOWN
        result.extras[name] = _settle(
            result, name, extra.label, base, extra.current(), extra.mine, choices, extra.display
        )
    return result


def _settle(result: Merge, name, label, base, theirs, mine, choices, display):
    if same(mine, theirs):
        return theirs
    known = base is not UNKNOWN
    if known and same(theirs, base):
        return mine  # only I changed it
    if known and same(mine, base):
        result.taken.append((name, label))  # only they changed it
        return theirs
    if choices.get(name) == THEIRS:
        result.taken.append((name, label))
        return theirs
    if choices.get(name) == MINE:
        return mine
    result.conflicts.append(Conflict(name=name, label=label, theirs=display(theirs), mine=display(mine)))
    return mine


def posted_choices(data, current_version) -> dict:
    """The user's settlement of the conflicts shown, if it was made against the record as it is now
    (``merge_version``); a record changed again since then shows its conflicts anew."""
    if data is None or str(data.get(CHOICE_VERSION, "")) != str(current_version):
        return {}
    return {
        key[len(CHOICE_PREFIX) :]: value
        for key, value in data.items()
        if key.startswith(CHOICE_PREFIX) and key != CHOICE_VERSION and value in (THEIRS, MINE)
    }


def form_input(value) -> str | list[str]:
    """``value`` as a browser would post it, so a re-displayed form shows it."""
    value = canonical(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [str(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

"""What the API does with a request body before a resource reads it: the answer to a hostile body
(too large, nested too deep) and the check of its fields against the request schema.

Kept out of ``core.rest`` to keep that module readable; ``core.rest`` uses both.
"""

from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler as drf_exception_handler

from core.parsers import TOO_DEEP

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "This field is read-only."


def _raised_while_parsing(exc: BaseException) -> bool:
    traceback = exc.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if code.co_name == "parse" and code.co_filename.endswith("parsers.py"):
            return True
        traceback = traceback.tb_next
    return False


def exception_handler(exc, context):
    """DRF's handler, plus the errors a hostile body raises before any view code runs: every /api/
    answer is JSON, and none of these is a server error (nor a traceback in the log).

    - a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's RequestDataTooBig): 400;
    - JSON nested past the interpreter's recursion limit, in a view that names DRF's own parser
      rather than ``BoundedJSONParser``: 400, as the bounded parser answers.
    """
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.ParseError(
            f"The request body is too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes)."
        )
    elif isinstance(exc, RecursionError) and _raised_while_parsing(exc):
        exc = exceptions.ParseError(TOO_DEEP)
    return drf_exception_handler(exc, context)


def _nested_unknown_fields(field, read_field, value):
    """The unknown keys of the objects of a nested list of objects (a procedure's screws), as DRF
    reports a list's errors (one dict an item, empty when it is fine); None when there are none.

    The read-only keys of the nested representation (a screw's ``id``) may be sent back: nested
    objects are replaced as a whole, so they are ignored."""
    if not isinstance(field, serializers.ListSerializer) or not isinstance(value, list):
        return None
    known = {name for name, child in field.child.fields.items() if not child.read_only}
    if isinstance(read_field, serializers.ListSerializer):
        known |= set(read_field.child.fields)
    items = [
        {key: [UNKNOWN_FIELD] for key in item if key not in known} if isinstance(item, Mapping) else {}
        for item in value
    ]
    return items if any(items) else None


def refuse_fields_outside_the_schema(data, *, writable, readable, current, versioned: bool) -> None:
    """A field the request schema does not name is refused rather than silently dropped:
    400 ``{name: ["Unknown field."]}``, inside nested objects (a procedure's screws) too.

    ``writable`` are the request serializer's fields, ``readable`` the representation's and
    ``current`` the record's representation (None on a creation). A field of the representation
    that clients cannot write (``id``, ``study_id``, ``msts_total``, ``created_at``...) may be sent
    back on an update with the value the record has; any other value, or such a field on a
    creation, is ``"This field is read-only."`` (refused, so that a client never believes it changed
    what it cannot change). ``version`` is the optimistic-locking input of an update.
    """
    if not isinstance(data, Mapping):
        return  # the serializer refuses a body that is not an object
    errors = {}
    for name, value in data.items():
        field = writable.get(name)
        if field is not None and not field.read_only:
            nested = _nested_unknown_fields(field, readable.get(name), value)
            if nested:
                errors[name] = nested
        elif name == "version" and versioned and current is not None:
            continue
        elif name in readable:
            if current is None or name not in current or current[name] != value:
                errors[name] = [READ_ONLY_FIELD]
        else:
            errors[name] = [UNKNOWN_FIELD]
    if errors:
        raise exceptions.ValidationError(errors)

"""The API's JSON parser: JSON only, nested at most ``MAX_JSON_DEPTH`` levels.

Kept apart from ``core.rest``: DRF reads DEFAULT_PARSER_CLASSES while it defines APIView, so the
parser's module must not import DRF's views.
"""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# A body is parsed by the C JSON scanner, which guards its own recursion (a RecursionError, never a
# crash); the depth of what it built is then measured without recursion. No resource nests deeper
# than a few levels (a procedure's screws: 3), so 32 leaves room and refuses the hostile rest.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The JSON body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."


def json_depth_exceeds(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests lists and objects deeper than ``limit``; iterative."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with a nesting limit: too deep a body is a 400, not a RecursionError (500).

    The size limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads a JSON body through
    ``request.body``); ``core.rest.exception_handler`` answers it with a JSON 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data):
            raise exceptions.ParseError(TOO_DEEP)
        return data

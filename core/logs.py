"""Logging plumbing: a refused request is one plain line, a server error keeps its traceback."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Drops the traceback from the record of a 4xx answer.

    Django logs every 4xx it answers for an exception (a 403 for PermissionDenied, a 400 for a
    SuspiciousOperation) with the exception's traceback: dozens of lines for an ordinary refusal,
    which bury the real errors and make a flood of probes cost disk. The line itself (level, status,
    path) is kept; records of 5xx answers and records without a status code are left untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True

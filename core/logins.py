"""Failed-login limits (django-axes), counted per account and address and per address.

Five failures for one username from one address lock that username *from that address* (someone
elsewhere cannot lock a colleague out); twenty failures from one address, whatever the usernames,
lock the address (password spraying: many usernames, one password each). Both last
``LOGIN_LOCKOUT_MINUTES``. Axes has one limit for all its lockout parameters, so the handler
scales the per-address count onto it.

Usernames that name no account are recorded as one placeholder, never as typed: a spray of
made-up names from one address keeps a single row, and a password typed into the username
field is never stored.
"""

from axes.conf import settings as axes_settings
from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum

UNKNOWN_USERNAME = "(no such user)"


def axes_username(request, credentials=None) -> str | None:
    """The username axes records and counts: the submitted one when it names an account."""
    field = axes_settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = request.POST.get(field) if request is not None and hasattr(request, "POST") else None
    if not username:
        return None
    if get_user_model().objects.filter(username=username).exists():
        return username
    return UNKNOWN_USERNAME


def client_ip(request) -> str | None:
    """The client's address: behind the project's TLS proxy (SECURE_PROXY_SSL_HEADER set) the
    right-most X-Forwarded-For entry, the one our proxy appended; else the socket's address. A
    client cannot pick its address by sending the header itself."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


class LoginLimitHandler(AxesDatabaseHandler):
    """AXES_LOCKOUT_PARAMETERS is [["username", "ip_address"], "ip_address"]: the first count is held
    to AXES_FAILURE_LIMIT, the second to LOGIN_ADDRESS_FAILURE_LIMIT."""

    def get_failures(self, request, credentials=None) -> int:
        per_account, per_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        account_limit = settings.AXES_FAILURE_LIMIT
        address_limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
        # floor(n * a / b) >= a exactly when n >= b: the address locks at its own limit.
        return max(per_account, per_address * account_limit // address_limit)

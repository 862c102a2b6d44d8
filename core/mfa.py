"""Two-factor login (django-otp): a time-based code from an authenticator app (TOTP), and ten
single-use recovery codes for a lost phone.

Who must use it: the registry admins (anyone who can open the Django admin) when MFA_REQUIRED_FOR is
"admins" (the default), every user when it is "all"; any other user who set it up uses it too.
After the password, such a user without a device is sent to the setup page, one with a device to
the verify page, and until then every other page redirects there (``SecondFactorMiddleware``), the
Django admin included; the session API answers 403. The token endpoint asks the same users for a
current code (``check_token_otp``). A wrong code counts as a failed login for the lockout, and each
device slows down repeated wrong codes (django-otp throttling).
"""

from base64 import b32encode
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
SECOND_FACTOR_REQUIRED = "Two-factor login required: give your code on the web first."
MFA_CHOICES = ("admins", "all")


# --- Who ----------------------------------------------------------------------------------


def mfa_required(user) -> bool:
    """Whether the settings oblige this user to use a second factor."""
    if not user.is_authenticated:
        return False
    return settings.MFA_REQUIRED_FOR == "all" or user.is_staff or user.is_superuser


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def must_verify(user) -> bool:
    """Whether this user's session needs a second factor: obliged, or set up by choice."""
    return user.is_authenticated and (mfa_required(user) or has_authenticator(user))


# Whether the user had an authenticator at login, kept in the session so that the pages of users
# who are not obliged cost no query (the middleware is imported before any login can happen).
ENROLLED_SESSION_KEY = "mfa_enrolled"


@receiver(user_logged_in, dispatch_uid="core.mfa.remember_enrolment")
def _remember_enrolment(sender, request=None, user=None, **kwargs):
    if request is not None and hasattr(request, "session") and user is not None:
        request.session[ENROLLED_SESSION_KEY] = has_authenticator(user)


def session_must_verify(request) -> bool:
    user = request.user
    return user.is_authenticated and (mfa_required(user) or bool(request.session.get(ENROLLED_SESSION_KEY)))


def verify_code(user, code: str):
    """The device that accepts ``code`` (a six-digit TOTP, or a recovery code, used up), or None."""
    code = "".join(code.split()).lower()
    if not code:
        return None
    devices = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in devices.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(code):
                return device
    return None


def count_failure(request, user) -> None:
    """A wrong code counts towards the failed-login lockout, like a wrong password."""
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)


# --- The token endpoint --------------------------------------------------------------------

OTP_MISSING = (
    "A registry admin (or a user who set up two-factor login) must send otp: the current code of the "
    "authenticator app, or a recovery code."
)
OTP_NO_DEVICE = "Two-factor login is not set up for this account: log in on the web once to set it up, then send otp."
OTP_WRONG = "The one-time code (otp) is wrong, expired or already used."


def check_token_otp(request, user, otp: str) -> str | None:
    """None when the token may be issued, else why not (for the ``otp`` field)."""
    if not must_verify(user):
        return None
    if not has_authenticator(user):
        return OTP_NO_DEVICE
    if not otp:
        return OTP_MISSING
    if verify_code(user, otp) is None:
        count_failure(request, user)
        return OTP_WRONG
    return None


# --- Middleware -----------------------------------------------------------------------------


class SecondFactorMiddleware:
    """Until a user who must verify has done so, only the login, logout and two-factor pages open;
    pages redirect to setup or verify, the session API answers 403. After OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not self.exempt(request.path)
            and session_must_verify(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": SECOND_FACTOR_REQUIRED}, status=403)
            target = "mfa_verify" if has_authenticator(user) else "mfa_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def exempt(path: str) -> bool:
        open_paths = {
            reverse("login"),
            reverse("logout"),
            reverse("mfa_setup"),
            reverse("mfa_verify"),
            reverse("admin:logout"),
            "/healthz",
        }
        return path in open_paths or path.startswith("/" + settings.STATIC_URL.lstrip("/"))


# --- Pages -----------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


def next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code, drawn here (no image service, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")


def locked_out(request, user):
    """After too many wrong codes: the session ends and the lockout page is shown."""
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    logout(request)
    return get_lockout_response(request, None, credentials)


@never_cache
@login_required
def setup(request):
    """Pairs an authenticator app: the QR code and secret, a code to confirm, then the recovery codes, once."""
    user = request.user
    if has_authenticator(user):
        if user.is_verified():
            return redirect(next_url(request))
        return redirect(f"{reverse('mfa_verify')}?{request.GET.urlencode()}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (response := locked_out(request, user)) is not None:
            return response
        if device.verify_token("".join(form.cleaned_data["code"].split())):
            codes = confirm(device)
            otp_login(request, device)
            request.session[ENROLLED_SESSION_KEY] = True
            return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": next_url(request)})
        count_failure(request, user)
        if (response := locked_out(request, user)) is not None:
            return response
        form.add_error("code", "That code is not right: type the code the app shows now (check the phone's clock).")
    secret = b32encode(device.bin_key).decode()
    context = {"form": form, "qr": qr_svg(device.config_url), "secret": secret, "next": next_url(request)}
    return render(request, "mfa/setup.html", context)


def confirm(device) -> list[str]:
    """Confirms the app and gives the user new recovery codes (any former ones stop working)."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=device.user).delete()
        recovery = StaticDevice.objects.create(user=device.user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


@never_cache
@login_required
def verify(request):
    """Asks for the current code of the authenticator app, or a recovery code."""
    user = request.user
    if not has_authenticator(user):
        return redirect(f"{reverse('mfa_setup')}?{request.GET.urlencode()}")
    if user.is_verified():
        return redirect(next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (response := locked_out(request, user)) is not None:
            return response
        device = verify_code(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return redirect(next_url(request))
        count_failure(request, user)
        if (response := locked_out(request, user)) is not None:
            return response
        form.add_error("code", "That code is not right, or was already used.")
    return render(request, "mfa/verify.html", {"form": form, "next": next_url(request)})

import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers


class ContentSecurityPolicyMiddleware:
    """Sends the Content-Security-Policy of settings.CONTENT_SECURITY_POLICY on every response.

    Scripts come only from the project's own static files: no inline script, no CDN.

    Not django-csp (4.0): it joins the directives in the order of a set, so the header's order
    would change from process to process, it leaves the header off the 404 and 500 pages under
    DEBUG, and the Permissions-Policy below would still need a middleware of its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(
            f"{name} {' '.join(values)}" for name, values in settings.CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class NoStoreMiddleware:
    """Tells browsers and proxies to keep no copy of any response whose view chose no caching.

    Nearly every page and API answer carries patient data (or sits one Back-button away from it on
    a shared workstation), and a rule per view would miss the next new one; a view that sets its
    own Cache-Control (the statistics API, PHI-free, revalidated by ETag) keeps it. Listed after
    WhiteNoise, which answers static files with its own caching before this is reached.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class IdleSessionMiddleware:
    """Ends a signed-in session after SESSION_IDLE_SECONDS without a person's action.

    Only a person's action counts: a request the pages' scripts send by themselves (the
    dashboard's status poll and panel refresh) carries ``X-Background: 1`` and is answered without
    renewing the session, so an unattended screen does not keep patient data open for ever. Any
    request, background or not, that arrives after the idle limit signs the session out first.

    The time of the last action is kept in the session (``_touched``) and checked here, not left to
    the session's expiry alone, which moves whenever anything saves the session. Saving it on every
    request (SESSION_SAVE_EVERY_REQUEST) would cost a write per page view: it is touched at most
    once a minute, which gives the same idle timeout, give or take that minute.
    """

    TOUCH_EVERY_SECONDS = 60
    BACKGROUND_HEADER = "X-Background"
    ENDED_KEY = "idle_signed_out"
    SIGNED_IN_COOKIE = "registry_signed_in"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            touched = session.get("_touched")
            if touched is not None and now - touched >= settings.SESSION_IDLE_SECONDS:
                logout(request)
                # For the login page, which says why (the session is a new, anonymous one).
                request.session[self.ENDED_KEY] = True
                return self.get_response(request)
            session.pop(self.ENDED_KEY, None)
            if touched is None or (not self.background(request) and now - touched >= self.TOUCH_EVERY_SECONDS):
                session["_touched"] = now
        return self.mark_signed_in(request, self.get_response(request))

    @classmethod
    def mark_signed_in(cls, request, response):
        """Keeps a cookie (no data: "1") while a person is signed in, removed when they log out.

        A session left overnight is gone from the store by morning, and with it the flag above:
        the cookie still there, without a session, tells the login page why it is shown (an ended
        session, not a log out)."""
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        had = cls.SIGNED_IN_COOKIE in request.COOKIES
        if signed_in and not had:
            response.set_cookie(
                cls.SIGNED_IN_COOKIE,
                "1",
                max_age=30 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        elif had and not signed_in and request.path == cls.logout_path():
            response.delete_cookie(cls.SIGNED_IN_COOKIE, samesite="Lax")
        return response

    @staticmethod
    def logout_path() -> str:
        from django.urls import reverse

        return reverse("logout")

    @classmethod
    def background(cls, request) -> bool:
        return request.headers.get(cls.BACKGROUND_HEADER) == "1"

import time

from django.conf import settings
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
    """Keeps a signed-in session alive while it is used, and lets it end after SESSION_COOKIE_AGE idle.

    The session's expiry moves forward only when it is saved; saving it on every request
    (SESSION_SAVE_EVERY_REQUEST) costs a write per page view. Touching it at most once a
    minute gives the same idle timeout, give or take that minute.
    """

    TOUCH_EVERY_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - session.get("_touched", 0) >= self.TOUCH_EVERY_SECONDS:
                session["_touched"] = now
        return self.get_response(request)

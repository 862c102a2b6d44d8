import os
import shutil
from pathlib import Path

import pytest

from registry.tests.factories import SiteFactory, persona_users


@pytest.fixture
def site_a(db):
    return SiteFactory(code="SITEA", name="Site A hospital")


@pytest.fixture
def site_b(db):
    return SiteFactory(code="SITEB", name="Site B hospital")


@pytest.fixture
def personas(site_a, site_b):
    """alice and bob: clinicians of site A; charlie: clinician of site B; ivy: investigator; root: admin."""
    return persona_users(site_a, site_b)


@pytest.fixture(autouse=True, scope="session")
def _broker_folder_of_the_run(tmp_path_factory):
    """With the filesystem broker, the refreshes the tests enqueue (their commit hooks run for real)
    go to a folder of this run, not to the checkout's queue where `make run`'s worker would take
    them. The workers that tests start inherit the folder through the environment."""
    from django.conf import settings

    from config.celery import app

    if settings.CELERY_BROKER_URL != "filesystem://":
        yield
        return
    folder = tmp_path_factory.mktemp("broker")
    options = dict(app.conf.broker_transport_options)
    for key, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items():
        if key.endswith("folder") or key.startswith("data_folder"):
            options[key] = str(folder / Path(value).name)
            (folder / Path(value).name).mkdir(exist_ok=True)
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = options
    os.environ["CELERY_BROKER_FOLDER"] = str(folder)
    yield
    app.conf.broker_transport_options = saved
    os.environ.pop("CELERY_BROKER_FOLDER", None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: the token endpoint's request rate counts in it, and the
    address of the test client is the same in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_gives_the_second_factor(monkeypatch):
    """client.force_login stands for a whole login: for a user who must use two-factor login
    (core/mfa.py: the admins), it also pairs an authenticator and marks the session verified, as
    the verify page would. Tests of the two-factor pages log in through the login form instead."""
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from core.mfa import must_verify

        original(self, user, backend)
        if must_verify(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; the tests create many. Production keeps PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Headless Chromium of the browser tests --------------------------------------------

# Playwright's sync API runs an event loop in the test thread, so Django would take the ORM
# calls of a browser test for calls from async code. They are plain synchronous code: the
# variable is set while a browser runs, and only then, so that it never reaches other tests
# (a `check --deploy` subprocess refuses it, async.E001).
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    candidates = (configured, *CHROMIUM_CANDIDATES) if configured else CHROMIUM_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for the tests of one module; skips when none is installed, unless
    REQUIRE_BROWSER=1 (CI), which fails."""
    executable = chromium_path()
    if executable is None:
        message = f"chromium not found (looked at {', '.join(CHROMIUM_CANDIDATES)}; set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but the playwright package is not installed")
        pytest.skip("playwright package not installed")
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

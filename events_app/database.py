"""What a failure of the database itself means to the person who asked. SQLite refusing a write because the file is
read-only, or because its disk is full, or a PostgreSQL server that cannot be reached, becomes one sentence: the API
answers it with 503, a page shows it, a command prints it on one line. The transaction rolled back; any other
database error stays a crash. And CHORUS_DATABASE_URL, read into Django's DATABASES entry (a bad one is one line).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

READ_ONLY = "the database is read-only"
DISK_FULL = "no space left on the data dir's disk"
# Free space under which an I/O error is the full disk's doing: SQLite cannot even size its shared-memory file
# (SQLITE_IOERR_SHMSIZE, "disk I/O error") when the disk is full to the last block, so reads fail too.
NEARLY_FULL_BYTES = 1024 * 1024


# PostgreSQL's SQLSTATEs of a server gone or going away: a lost connection (class 08), a shutdown or restart.
GONE_STATES = ("57P01", "57P02", "57P03")


def unwritable(exc: BaseException) -> str | None:
    """The sentence for a database that cannot be written (read-only, its disk is full, or its server cannot be
    reached); None for anything else.

    Django's DatabaseError carries the driver's own error as its cause: SQLite's (with its name, Python 3.11+), or
    psycopg's (with PostgreSQL's SQLSTATE; none when no connection could be made at all)."""
    for error in (exc, exc.__cause__):
        if unreachable(error):
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"the database server cannot be reached ({reason}); try again once it is back"
        name = getattr(error, "sqlite_errorname", "")
        if name.startswith("SQLITE_READONLY"):
            return READ_ONLY
        if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _free_bytes() < NEARLY_FULL_BYTES):
            return DISK_FULL
    return None


def unreachable(error: BaseException | None) -> bool:
    """Whether psycopg's error says the PostgreSQL server is gone: nothing was committed by the statement that met
    it, except a COMMIT itself, whose outcome is then unknown (an append retried after it meets its own version)."""
    if error is None or not type(error).__module__.startswith("psycopg"):
        return False
    state = getattr(error, "sqlstate", None)
    if state is None:
        return type(error).__name__ in ("OperationalError", "InterfaceError")
    return state.startswith("08") or state in GONE_STATES


def unmigrated(exc: BaseException) -> str | None:
    """The sentence for a database whose tables are not made yet (before the first `start`) or are older than the
    code (a table added since); None for anything else."""
    for error in (exc, exc.__cause__):
        message = str(error)
        if getattr(error, "sqlite_errorname", "") == "SQLITE_ERROR" and message.startswith(
            ("no such table", "no such column")
        ):
            return (
                f"the database {settings.DATABASES['default']['NAME']} is not set up ({message}): run "
                "`python3 chorus.py migrate` (or `python3 chorus.py start`, which migrates first)"
            )
    return None


def _free_bytes() -> int:
    """Space left to an ordinary user on the database's disk (the name may be a URI: file:PATH?mode=ro)."""
    name = str(settings.DATABASES["default"]["NAME"]).removeprefix("file:").partition("?")[0]
    try:
        disk = os.statvfs(Path(name).parent)
    except OSError:
        return NEARLY_FULL_BYTES
    return disk.f_bavail * disk.f_frsize


def database_from_url(name: str, url: str) -> dict:
    """Django's DATABASES entry for a PostgreSQL URL (`postgresql://user[:password]@host[:port]/database`, with
    `?sslmode=...` and other libpq options kept); anything else is one line and an exit."""
    try:
        parts = urlsplit(url)
        port_number = parts.port
    except ValueError as exc:
        raise SystemExit(f"chorus: {name} is not a valid URL ({exc})") from None
    database = unquote(parts.path.removeprefix("/"))
    if parts.scheme not in ("postgresql", "postgres") or not database or "/" in database:
        raise SystemExit(f"chorus: {name} must look like postgresql://user@host:port/database")
    options = dict(parse_qsl(parts.query))
    # A unix socket directory as the host (`postgresql://user@%2Ftmp%2Fpg/db` or `?host=/tmp/pg`).
    host = options.pop("host", None) or unquote(parts.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port_number or ""),
        "OPTIONS": options,
        # Reconnect after the server restarted: a connection found dead is replaced at the next request.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }

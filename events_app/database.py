"""What a failure of the database itself means to the person who asked. SQLite refusing a write because the file is
read-only, or because its disk is full, becomes one sentence: the API answers it with 503, a page shows it, a command
prints it on one line. SQLite wrote nothing (the transaction rolled back); any other database error stays a crash.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

READ_ONLY = "the database is read-only"
DISK_FULL = "no space left on the data dir's disk"
# Free space under which an I/O error is the full disk's doing: SQLite cannot even size its shared-memory file
# (SQLITE_IOERR_SHMSIZE, "disk I/O error") when the disk is full to the last block, so reads fail too.
NEARLY_FULL_BYTES = 1024 * 1024


def unwritable(exc: BaseException) -> str | None:
    """The sentence for a database that cannot be written (read-only, or its disk is full); None for anything else.

    Django's DatabaseError carries SQLite's own error (and its name, Python 3.11+) as its cause."""
    for error in (exc, exc.__cause__):
        name = getattr(error, "sqlite_errorname", "")
        if name.startswith("SQLITE_READONLY"):
            return READ_ONLY
        if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _free_bytes() < NEARLY_FULL_BYTES):
            return DISK_FULL
    return None


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

"""The PostgreSQL recorder: one event log shared by every host (CHORUS_DATABASE_URL).

Writers take one transaction-scoped advisory lock before reading the log's head, so insert order is commit order:
a transaction cannot take position N+1 before the one holding N has committed, and a follower reading past its
last position never skips one that commits late (design.md 3.1 has the figures against LOCK TABLE). The commit
announces the log's new end with NOTIFY (`chorus_events`, the last position as payload), which followers on every
host LISTEN for (events_app.live).

The chain hashes the same text as on SQLite, so a log copied between the two verifies unchanged: `data` and
`metadata` are `json` columns (kept as written; `jsonb` would reorder keys) read as text, and recorded_at is written
and read back as SQLite's text (naive UTC, `2026-12-01 09:30:00.123456`, no fraction at a whole second).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.db import DEFAULT_DB_ALIAS
from psycopg.types.string import TextLoader

from events_app.recorders.base import Cursor, DjangoCursor, Recorder

CHANNEL = "chorus_events"
# The advisory lock of the event log's writers (any 64-bit number no other code of the database uses).
LOCK_KEY = 0x63686F727573  # "chorus"
# recorded_at as the text SQLite keeps (Python's str of a naive datetime), whatever the session's settings.
RECORDED_AT_TEXT = (
    "regexp_replace(to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '\\.000000$', '')"
)
LOCKS = {
    "advisory": f"SELECT pg_advisory_xact_lock({LOCK_KEY})",
    "table": "LOCK TABLE chorus_event IN EXCLUSIVE MODE",
}


def json_as_text(connection: Any) -> None:
    """Django reads `jsonb` as text for JSONField to parse; the event table's `json` columns too (at every new
    connection), so the recorder gets the stored text and the admin's JSONField still parses."""
    connection.connection.adapters.register_loader("json", TextLoader)


@functools.lru_cache(maxsize=256)
def _portable(sql: str) -> str:
    return sql.replace("CAST(recorded_at AS TEXT)", RECORDED_AT_TEXT)


class PostgresCursor(DjangoCursor):
    """Django's cursor, reading recorded_at as SQLite's text wherever the portable SQL casts it."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PostgresCursor:
        self._cursor.execute(_portable(sql), params)
        return self


class PostgresRecorder(Recorder):
    vendor = "postgresql"
    # Which lock serialises writers: "advisory" or "table" (bench/fleet.py measures both).
    lock_kind: ClassVar[str] = "advisory"

    def __init__(self, alias: str = DEFAULT_DB_ALIAS, *, lock_kind: str | None = None) -> None:
        super().__init__(alias)
        self._lock = LOCKS[lock_kind or self.lock_kind]

    def cursor(self) -> Cursor:
        return PostgresCursor(self.alias)

    def lock(self, cursor: Cursor) -> None:
        cursor.execute(self._lock)

    def insert(self, cursor: Cursor, rows: Sequence[Sequence[Any]]) -> None:
        super().insert(cursor, rows)
        # Delivered on commit only, and never for a rolled-back savepoint; PostgreSQL folds a transaction's
        # identical notifications into one.
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(rows[-1][0])])

    def adapt_datetime(self, value: datetime) -> Any:
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return str(value)

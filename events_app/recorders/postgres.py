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

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg.types.string import TextLoader

from events_app.recorders.base import EVENT_COLUMNS, Cursor, Recorder

CHANNEL = "chorus_events"
# The advisory lock of the event log's writers (any 64-bit number no other code of the database uses).
LOCK_KEY = 0x63686F727573  # "chorus"
# recorded_at as the text SQLite keeps (Python's str of a naive datetime), whatever the session's settings.
RECORDED_AT_TEXT = (
    "regexp_replace(to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '\\.000000$', '')"
)
# psycopg's own default: a statement run this often is prepared (the recorder's ask for it at once).
PREPARE_THRESHOLD = 5
# Event rows per INSERT statement: 10 parameters each, far below PostgreSQL's limit of 65535.
INSERT_ROWS = 500
LOCKS = {
    "advisory": f"SELECT pg_advisory_xact_lock({LOCK_KEY})",
    "table": "LOCK TABLE chorus_event IN EXCLUSIVE MODE",
}


def prepare_connection(connection: Any) -> None:
    """Each new connection's setup. Django reads `jsonb` as text for JSONField to parse; the event table's `json`
    columns are read as text too, so the recorder gets the stored text and the admin's JSONField still parses.
    Django turns psycopg's prepared statements off (for connection poolers in transaction mode); the recorder's
    cursor prepares its own (PreparedCursor) unless OPTIONS name a `prepare_threshold` (None: never)."""
    raw = connection.connection
    raw.adapters.register_loader("json", TextLoader)
    if "prepare_threshold" not in connection.settings_dict["OPTIONS"]:
        raw.prepare_threshold = PREPARE_THRESHOLD


@functools.lru_cache(maxsize=256)
def _portable(sql: str) -> str:
    return sql.replace("CAST(recorded_at AS TEXT)", RECORDED_AT_TEXT)


@functools.lru_cache(maxsize=64)
def _insert(count: int) -> str:
    """One statement inserting `count` event rows and notifying the log's new end."""
    row = f"({', '.join(['%s'] * len(EVENT_COLUMNS))})"
    return (
        f"WITH inserted AS (INSERT INTO chorus_event ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608  (constant names)
        f"VALUES {', '.join([row] * count)}) SELECT pg_notify(%s, %s)"
    )


class PreparedCursor:
    """psycopg's own server-binding cursor, each statement prepared on its connection (psycopg keeps them), with
    Django's error translation: every statement is a round trip to a server that may be on another host, and
    Django's client-side binding makes PostgreSQL plan each one again (the head's read: 190 us planned, 55 us
    prepared). While queries are recorded (DEBUG, assertNumQueries) or wrapped (connection.execute_wrapper), a
    statement goes through Django's cursor instead, so it is still seen."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.db = connections[alias]
        self.db.validate_thread_sharing()
        self.db.ensure_connection()
        self._raw = self._last = psycopg.Cursor(self.db.connection)
        self._errors = self.db.wrap_database_errors
        self._recorded: Any = None
        self._debug = settings.DEBUG

    def _seen(self) -> Any:
        if not (self._debug or self.db.force_debug_cursor or self.db.execute_wrappers):
            return None
        if self._recorded is None:
            self._recorded = self.db.cursor()
        return self._recorded

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PreparedCursor:
        sql = _portable(sql)
        if (seen := self._seen()) is not None:
            self._last = seen
            seen.execute(sql, params)
            return self
        self.db.validate_no_broken_transaction()
        with self._errors:
            self._raw.execute(sql, params, prepare=True)
        self._last = self._raw
        return self

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> PreparedCursor:
        sql = _portable(sql)
        if (seen := self._seen()) is not None:
            self._last = seen
            seen.executemany(sql, param_list)
            return self
        self.db.validate_no_broken_transaction()
        with self._errors:
            if len(param_list) == 1:  # psycopg's executemany costs a pipeline's extra round trip
                self._raw.execute(sql, param_list[0], prepare=True)
            else:
                self._raw.executemany(sql, param_list)
        self._last = self._raw
        return self

    def fetchone(self) -> Any:
        return self._last.fetchone()

    def fetchall(self) -> list[Any]:
        return self._last.fetchall()

    @property
    def rowcount(self) -> int:
        return self._last.rowcount

    def close(self) -> None:
        self._raw.close()
        if self._recorded is not None:
            self._recorded.close()

    def __enter__(self) -> PreparedCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class PostgresRecorder(Recorder):
    vendor = "postgresql"
    # Which lock serialises writers: "advisory" or "table" (bench/fleet.py measures both).
    lock_kind: ClassVar[str] = "advisory"

    def __init__(self, alias: str = DEFAULT_DB_ALIAS, *, lock_kind: str | None = None) -> None:
        super().__init__(alias)
        self._lock = LOCKS[lock_kind or self.lock_kind]

    def cursor(self) -> Cursor:
        return PreparedCursor(self.alias)

    def lock(self, cursor: Cursor) -> None:
        # Its own statement: in READ COMMITTED a statement reads the snapshot taken when it starts, so the head
        # read after it sees the last commit of the writer it waited for.
        cursor.execute(self._lock)

    def insert(self, cursor: Cursor, rows: Sequence[Sequence[Any]]) -> None:
        """The rows in statements of INSERT_ROWS, each followed by the notification of the log's new end
        (delivered on commit only, never for a rolled-back savepoint; PostgreSQL folds a transaction's
        notifications on one channel with one payload into one, and a follower reads by position anyway)."""
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            params = [value for row in chunk for value in (*row[:-1], bytes.fromhex(row[-1]))]
            cursor.execute(_insert(len(chunk)), [*params, CHANNEL, str(chunk[-1][0])])

    def adapt_datetime(self, value: datetime) -> Any:
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return str(value)

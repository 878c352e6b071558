"""The SQLite recorder: the embedded default.

Writers are serialised by the connection's `transaction_mode: IMMEDIATE` (settings): BEGIN takes SQLite's write
lock, so reading the log's head and inserting after it cannot interleave with another process, and insert order
is commit order. Its one addition to the portable SQL is a fast path for the hot statements (RawCursor): measured by
bench/event_store.py, Django's cursor wrapper costs as much as SQLite's own work on an append's small statements.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from events_app.recorders.base import Cursor, DjangoCursor, Recorder


@functools.lru_cache(maxsize=1024)
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")


class RawCursor:
    """sqlite3's own cursor for the store's small, hot statements, with Django's error translation.

    While queries are recorded (DEBUG, assertNumQueries) or wrapped (connection.execute_wrapper: tracing, query
    blockers), a statement goes through Django's cursor instead, so it is still seen. SQL is written with %s
    placeholders and no literal percent signs.
    """

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.db = connections[alias]
        self.db.validate_thread_sharing()
        self.db.ensure_connection()
        self._raw = self._last = self.db.connection.cursor()
        self._errors = self.db.wrap_database_errors
        self._recorded: Any = None
        # BaseDatabaseWrapper.queries_logged, with DEBUG read once: settings are slow to read.
        self._debug = settings.DEBUG

    def _recording(self) -> Any:
        if self._recorded is None:
            self._recorded = self.db.cursor()
        return self._recorded

    def _seen(self) -> bool:
        return self._debug or self.db.force_debug_cursor or bool(self.db.execute_wrappers)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawCursor:
        if self._seen():
            self._last = self._recording()
            self._last.execute(sql, params)
        else:
            self.db.validate_no_broken_transaction()
            with self._errors:
                self._raw.execute(_qmark(sql), params)
            self._last = self._raw
        return self

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> RawCursor:
        if self._seen():
            self._last = self._recording()
            self._last.executemany(sql, param_list)
        else:
            self.db.validate_no_broken_transaction()
            with self._errors:
                self._raw.executemany(_qmark(sql), param_list)
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

    def __enter__(self) -> RawCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class SQLiteRecorder(Recorder):
    """`raw=False` sends every statement through Django's cursor: the path the contract suite also runs, and the
    one a query-recording or wrapped connection takes anyway."""

    vendor = "sqlite"

    def __init__(self, alias: str = DEFAULT_DB_ALIAS, *, raw: bool = True) -> None:
        super().__init__(alias)
        self.raw = raw

    def cursor(self) -> Cursor:
        return RawCursor(self.alias) if self.raw else DjangoCursor(self.alias)

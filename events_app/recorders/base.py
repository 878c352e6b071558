"""What a recorder is: the only code that writes the event table and the tracking (checkpoint) tables.

The store above it validates, encodes and hashes events and knows no SQL; a recorder turns its requests into
statements for one database backend. SQL here is portable (`%s` placeholders, no dialect): a backend's recorder
overrides what its database does differently or faster. Every recorder passes one contract suite
(tests/events_app/recorder_contract.py).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

# The event row as the store builds it, in this column order; `hash` last.
EVENT_COLUMNS = (
    "position",
    "stream_type",
    "stream_id",
    "version",
    "event_type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
    "hash",
)
# recorded_at as text: a driver's own datetime converter would raise on a corrupt value inside fetchall(), where
# the row's position is not known; the store parses it, and a bad value becomes a ReplayError like any other.
_SELECT = (
    "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
    "CAST(recorded_at AS TEXT) FROM chorus_event"
)
_SELECT_HASHED = (
    "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
    "CAST(recorded_at AS TEXT), hash FROM chorus_event WHERE position > %s ORDER BY position LIMIT %s"
)
_HEAD = (
    "SELECT COALESCE((SELECT MAX(version) FROM chorus_event WHERE stream_type = %s AND stream_id = %s), 0), "
    "COALESCE((SELECT MAX(position) FROM chorus_event), 0), "
    "(SELECT hash FROM chorus_event ORDER BY position DESC LIMIT 1), "
    "(SELECT CAST(recorded_at AS TEXT) FROM chorus_event ORDER BY position DESC LIMIT 1)"
)
_LOG_END = "SELECT position, hash, CAST(recorded_at AS TEXT) FROM chorus_event ORDER BY position DESC LIMIT 1"
# Stream ids per statement of `heads`: within every backend's limit on parameters.
HEAD_IDS = 500
_STREAM_POSITION = "SELECT position FROM chorus_event WHERE stream_type = %s AND stream_id = %s AND version = %s"
_AT_OR_AFTER = "SELECT recorded_at >= %s FROM chorus_event WHERE position >= %s ORDER BY position LIMIT 1"
_INSERT = (
    f"INSERT INTO chorus_event ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608  (constant column names)
    f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})"
)
# Tracking tables, by what they track: how far each projector or worker policy has applied the log.
TRACKING = {"projection": "chorus_projector_checkpoint", "policy": "chorus_policy_checkpoint"}


class Cursor(Protocol):
    """What the store, projection and read-model writes need of a cursor: `%s` placeholders, chaining execute."""

    db: Any

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...
    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> Cursor: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    @property
    def rowcount(self) -> int: ...
    def close(self) -> None: ...


class DjangoCursor:
    """Django's own cursor behind the Cursor interface: every statement is seen by query logging and wrappers."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.db = connections[alias]
        self._cursor = self.db.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> DjangoCursor:
        self._cursor.execute(sql, params)
        return self

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> DjangoCursor:
        self._cursor.executemany(sql, param_list)
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def close(self) -> None:
        self._cursor.close()

    def __enter__(self) -> DjangoCursor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def hash_text(stored: Any) -> str | None:
    """A stored hash (32 bytes; bytes or memoryview, as the driver gives it) as the hex text the chain uses."""
    return None if stored is None else bytes(stored).hex()


@functools.lru_cache(maxsize=64)
def _checkpoint_update(table: str, count: int) -> str:
    return f"UPDATE {table} SET position = %s WHERE name IN ({', '.join(['%s'] * count)})"  # noqa: S608


class Recorder:
    """Portable SQL over one database connection (alias). Backends subclass it; see recorders/__init__.py."""

    vendor: ClassVar[str] = ""
    # The event's actor, as the expression of the index on it (events_app.models.MetadataText): `->>` reads a
    # JSON member as text in PostgreSQL and in SQLite (3.38 on).
    ACTOR: ClassVar[str] = "(metadata ->> 'actor')"

    def __init__(self, alias: str = DEFAULT_DB_ALIAS) -> None:
        self.alias = alias
        # What this process knows for certain: right after it committed a write ending the log at the event with
        # hash H, the checkpoints of a tracking table were these. While the log still ends with H (nobody has
        # appended since), they need not be read again. Set on commit only, so a rolled-back write is never
        # remembered; any other process's append changes the last hash.
        self._known: dict[str, tuple[str, dict[str, int]]] = {}

    @property
    def db(self):
        return connections[self.alias]

    # --- cursors and transactions ------------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        """A cursor for the store's and projection's statements, inside whatever transaction is open."""
        return DjangoCursor(self.alias)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Cursor]:
        """A transaction (a savepoint inside the caller's) in which the log's end cannot move under the caller:
        reading the head and inserting after it are one step for every other writer."""
        with transaction.atomic(using=self.alias), contextlib.closing(self.cursor()) as cursor:
            self.lock(cursor)
            yield cursor

    def lock(self, cursor: Cursor) -> None:
        """Take the log's write lock in the open transaction, if the backend needs a statement for it."""

    # --- the event table ---------------------------------------------------------------------------------------

    def head(self, cursor: Cursor, stream_type: str, stream_id: str) -> tuple[int, int, str | None, str | None]:
        """The stream's version, the log's last position, the last event's hash and its recorded_at as text
        (both None for an empty log)."""
        version, position, last_hash, last_at = cursor.execute(_HEAD, [stream_type, stream_id]).fetchone()
        return version, position, hash_text(last_hash), last_at

    def heads(
        self, cursor: Cursor, streams: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], int], int, str | None, str | None]:
        """`head` for many streams at once: each (stream_type, stream_id)'s version, then the log's last position,
        hash and recorded_at. One stream is `head`'s one statement; more are read in statements of HEAD_IDS ids
        of one stream type through the (stream, version) index."""
        if len(streams) == 1:
            version, position, last_hash, last_at = self.head(cursor, *streams[0])
            return {streams[0]: version}, position, last_hash, last_at
        versions = dict.fromkeys(streams, 0)
        by_type: dict[str, list[str]] = {}
        for stream_type, stream_id in streams:
            by_type.setdefault(stream_type, []).append(stream_id)
        for stream_type, ids in by_type.items():
            for start in range(0, len(ids), HEAD_IDS):
                chunk = ids[start : start + HEAD_IDS]
                found = cursor.execute(
                    "SELECT stream_id, MAX(version) FROM chorus_event "  # noqa: S608  (placeholders only)
                    f"WHERE stream_type = %s AND stream_id IN ({', '.join(['%s'] * len(chunk))}) GROUP BY stream_id",
                    [stream_type, *chunk],
                ).fetchall()
                for stream_id, version in found:
                    versions[stream_type, stream_id] = version
        last = cursor.execute(_LOG_END).fetchone()
        if last is None:
            return versions, 0, None, None
        return versions, last[0], hash_text(last[1]), last[2]

    def insert(self, cursor: Cursor, rows: Sequence[Sequence[Any]]) -> None:
        """Insert event rows (EVENT_COLUMNS order, the hash as hex text). A (stream, version) already taken raises
        IntegrityError."""
        cursor.executemany(_INSERT, [(*row[:-1], bytes.fromhex(row[-1])) for row in rows])

    def adapt_datetime(self, value: datetime) -> Any:
        return self.db.ops.adapt_datetimefield_value(value)

    def stream_version(self, stream_type: str, stream_id: str) -> int:
        with contextlib.closing(self.cursor()) as cursor:
            return cursor.execute(
                "SELECT COALESCE(MAX(version), 0) FROM chorus_event WHERE stream_type = %s AND stream_id = %s",
                [stream_type, stream_id],
            ).fetchone()[0]

    def last_position(self) -> int:
        with contextlib.closing(self.cursor()) as cursor:
            return cursor.execute("SELECT COALESCE(MAX(position), 0) FROM chorus_event").fetchone()[0]

    def select(
        self,
        *,
        after: int | None = None,
        before_position: int | None = None,
        until: int | None = None,
        stream_type: str | None = None,
        stream_id: str | None = None,
        event_types: Sequence[str] | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        limit: int,
        descending: bool = False,
    ) -> list[tuple]:
        """One chunk of stored rows in position order (or reversed), filtered; rows as in _SELECT.

        Each filter reads an index in position order and pages by seeking, so a page costs the same at the first
        position as at the last (see _select). A time is a range of positions, found by bisection:
        recorded_at never decreases along the log (the store takes it under the write lock, and never earlier
        than the last event's).
        """
        lower = after or 0
        upper = min(
            (bound for bound in (before_position, None if until is None else until + 1) if bound is not None),
            default=None,
        )
        with contextlib.closing(self.cursor()) as cursor:
            if since is not None:
                lower = max(lower, self._first_recorded_at(cursor, since) - 1)
            if before is not None:
                first = self._first_recorded_at(cursor, before)
                upper = first if upper is None else min(upper, first)
            if upper is not None and upper <= lower + 1:
                return []
            if event_types and len(event_types) > 1:
                # One seek per type, merged: an IN list over the type index would sort every match.
                merged = heapq.merge(
                    *(
                        self._select(cursor, lower, upper, stream_type, stream_id, [kind], actor, limit, descending)
                        for kind in dict.fromkeys(event_types)
                    ),
                    key=lambda found: found[0],
                    reverse=descending,
                )
                return list(itertools.islice(merged, limit))
            return self._select(cursor, lower, upper, stream_type, stream_id, event_types, actor, limit, descending)

    def _select(
        self,
        cursor: Cursor,
        lower: int,
        upper: int | None,
        stream_type: str | None,
        stream_id: str | None,
        event_types: Sequence[str] | None,
        actor: str | None,
        limit: int,
        descending: bool,
    ) -> list[tuple]:
        """Rows with lower < position < upper. One stream is read through its unique (stream, version) index,
        whose order is the stream's position order, between the versions at the two positions; every other
        filter has an index whose entries with one value are in position order (an index holds the row's key)."""
        # (condition, its parameter) pairs; a None condition is left out.
        terms: list[tuple[str | None, Any]] = []
        order = "position"
        if stream_type and stream_id is not None:
            first = self._stream_count(cursor, stream_type, stream_id, lower) if lower else 0
            last = None if upper is None else self._stream_count(cursor, stream_type, stream_id, upper - 1)
            terms += [
                ("stream_type = %s", stream_type),
                ("stream_id = %s", stream_id),
                ("version > %s" if first else None, first),
                ("version <= %s" if last is not None else None, last),
            ]
            order = "version"
        else:
            terms += [
                ("stream_type = %s" if stream_type else None, stream_type),
                ("stream_id = %s" if stream_id is not None else None, stream_id),
                ("position > %s" if lower else None, lower),
                ("position < %s" if upper is not None else None, upper),
            ]
        terms += [
            ("event_type = %s" if event_types else None, event_types and event_types[0]),
            (f"{self.ACTOR} = %s" if actor is not None else None, actor),
        ]
        where = [condition for condition, _ in terms if condition]
        params = [value for condition, value in terms if condition]
        sql = (
            f"{_SELECT}{' WHERE ' + ' AND '.join(where) if where else ''} "
            f"ORDER BY {order}{' DESC' if descending else ''} LIMIT %s"
        )
        return cursor.execute(sql, [*params, limit]).fetchall()

    def _stream_count(self, cursor: Cursor, stream_type: str, stream_id: str, position: int) -> int:
        """How many of the stream's events are at or before `position`: its versions are 1..N in position order,
        so bisect over them, one index lookup each."""
        low, high = 0, self.stream_version(stream_type, stream_id)
        while low < high:
            middle = (low + high + 1) // 2
            found = cursor.execute(_STREAM_POSITION, [stream_type, stream_id, middle]).fetchone()
            if found is not None and found[0] <= position:
                low = middle
            else:
                high = middle - 1
        return low

    def _first_recorded_at(self, cursor: Cursor, moment: datetime) -> int:
        """The first position recorded at or after `moment` (the last position + 1 if none): bisect over the
        positions, one primary-key lookup each."""
        low, high = 1, self.last_position() + 1
        value = self.adapt_datetime(moment)
        while low < high:
            middle = (low + high) // 2
            found = cursor.execute(_AT_OR_AFTER, [value, middle]).fetchone()
            if found is None or found[0]:
                high = middle
            else:
                low = middle + 1
        return low

    def notifications(self, after: int, limit: int) -> list[tuple[int, str, str, int, str]]:
        """(position, stream_type, stream_id, version, event_type) of the events after `after`, for followers."""
        with contextlib.closing(self.cursor()) as cursor:
            return cursor.execute(
                "SELECT position, stream_type, stream_id, version, event_type FROM chorus_event "
                "WHERE position > %s ORDER BY position LIMIT %s",
                [after, limit],
            ).fetchall()

    def hashed_rows(self, after: int, limit: int) -> list[tuple]:
        """Rows after `after` with their hash (_SELECT's columns, then hash), for the audit of the chain."""
        with contextlib.closing(self.cursor()) as cursor:
            return [
                (*row[:-1], hash_text(row[-1])) for row in cursor.execute(_SELECT_HASHED, [after, limit]).fetchall()
            ]

    # --- tracking ----------------------------------------------------------------------------------------------

    def checkpoints(self, cursor: Cursor, tracking: str, head: str | None = None) -> dict[str, int]:
        """Every checkpoint of a tracking table. With `head`, the last hash of the log as the caller's transaction
        sees it: what this process remembers for that log end is returned without a query."""
        known = self._known.get(tracking)
        if head is not None and known is not None and known[0] == head:
            return dict(known[1])
        return dict(cursor.execute(f"SELECT name, position FROM {TRACKING[tracking]}").fetchall())  # noqa: S608

    def set_checkpoints(
        self,
        cursor: Cursor,
        tracking: str,
        names: Sequence[str],
        position: int,
        existing: dict[str, int],
        *,
        tail: str | None = None,
    ) -> None:
        """Move these checkpoints to `position`: one UPDATE, plus an INSERT for a name's first. With `tail`, the
        log's last hash after this write: remembered once the transaction commits (see `checkpoints`)."""
        table = TRACKING[tracking]
        known = [name for name in names if name in existing]
        if known:
            cursor.execute(_checkpoint_update(table, len(known)), [position, *known])
            if cursor.rowcount != len(known):
                raise DatabaseError(f"checkpoints in {table} were deleted outside the event store")
        new = [(name, position) for name in names if name not in existing]
        if new:
            cursor.executemany(f"INSERT INTO {table} (name, position) VALUES (%s, %s)", new)  # noqa: S608
        if tail is not None:
            after = {**existing, **dict.fromkeys(names, position)}
            self.db.on_commit(functools.partial(self._remember, tracking, tail, after))

    def remembered(self, tracking: str) -> tuple[str, dict[str, int]] | None:
        """The log end (its last hash) this process last committed a write at, and the checkpoints then."""
        return self._known.get(tracking)

    def _remember(self, tracking: str, tail: str, checkpoints: dict[str, int]) -> None:
        self._known[tracking] = (tail, checkpoints)

    def max_checkpoint_after(self, tracking: str, position: int) -> tuple[str, int] | None:
        """The checkpoint furthest past `position` (a log whose end was cut off), or None."""
        with contextlib.closing(self.cursor()) as cursor:
            return cursor.execute(
                f"SELECT name, position FROM {TRACKING[tracking]} WHERE position > %s "  # noqa: S608
                "ORDER BY position DESC, name LIMIT 1",
                [position],
            ).fetchone()

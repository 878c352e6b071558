"""The event store: append with optimistic concurrency and a hash chain, read back in order.

`append` is the only code that writes the event table. It runs the projectors in the same transaction, so a read
model is never behind or ahead of the events it is built from.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone

from events_app.domain import DomainEvent, EventError, canonical_json, check_fields, decode, event_class

GENESIS_HASH = "0" * 64
SOURCES = ("web", "api", "admin", "cli", "worker", "test")
MAX_PAYLOAD_BYTES = 1_000_000
MAX_STREAM_ID = 200


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: expected version != current version."""

    def __init__(self, stream_type: str, stream_id: str, expected: int, actual: int):
        self.stream_type, self.stream_id, self.expected, self.actual = stream_type, stream_id, expected, actual
        super().__init__(
            f"{stream_type} {stream_id!r} is at version {actual}, not {expected}: it was changed meanwhile"
        )


class ReplayError(Exception):
    """A stored event could not be read back or replayed; names the event so an operator can find it."""

    def __init__(self, position: int, event_type: str, reason: str):
        self.position, self.event_type, self.reason = position, event_type, reason
        super().__init__(f"event #{position} ({event_type}): {reason}")


@dataclasses.dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_type: str
    stream_id: str
    version: int
    event: DomainEvent
    metadata: dict[str, Any]
    recorded_at: datetime

    @property
    def event_type(self) -> str:
        return self.event.event_type


_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("chorus_event_context", default=None)


@contextlib.contextmanager
def event_context(*, actor: str | None = None, source: str | None = None, **extra: Any):
    """Metadata for every event appended inside the block: who (actor), through what (source), and anything
    else given (correlation_id, causation_id, ...). Inner blocks override outer ones key by key."""
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    merged = {
        **(_context.get() or {}),
        **{k: v for k, v in {"actor": actor, "source": source, **extra}.items() if v is not None},
    }
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def _metadata() -> dict[str, Any]:
    context = _context.get() or {}
    # Without a correlation id from the caller, one append (all its events) is its own correlation.
    return {
        "actor": "system",
        "source": "cli",
        **context,
        "correlation_id": context.get("correlation_id") or uuid.uuid4().hex,
    }


@functools.lru_cache(maxsize=1024)
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")


class RawCursor:
    """The driver's own cursor for the store's small, hot statements, with Django's error translation.

    On these statements Django's cursor wrapper (placeholder rewriting, per-call checks and wrappers) costs as
    much as SQLite's own work, and an append runs about ten of them. While queries are recorded (DEBUG,
    assertNumQueries) or wrapped (connection.execute_wrapper: tracing, query blockers), a statement goes through
    Django's cursor instead, so it is still seen. SQL is written with %s placeholders and no literal percent signs.
    """

    def __init__(self) -> None:
        self.db = connections[DEFAULT_DB_ALIAS]
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

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawCursor:
        if self._debug or self.db.force_debug_cursor or self.db.execute_wrappers:
            self._last = self._recording()
            self._last.execute(sql, params)
        else:
            self.db.validate_no_broken_transaction()
            with self._errors:
                self._raw.execute(_qmark(sql), params)
            self._last = self._raw
        return self

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> RawCursor:
        if self._debug or self.db.force_debug_cursor or self.db.execute_wrappers:
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


def chain_hash(previous: str, fields: Sequence[Any]) -> str:
    """The hash of one event row: over the previous row's hash and this row's stored text."""
    digest = hashlib.sha256(previous.encode())
    digest.update(b"\x1f")
    digest.update(canonical_json(list(fields)).encode())
    return digest.hexdigest()


def _encode(item: Any, stream_type: str) -> str:
    """The stored JSON of one event, or a clear error: nothing is written unless every event passes."""
    if not isinstance(item, DomainEvent):
        raise TypeError(f"{item!r} is not a domain event")
    try:
        registered = event_class(item.event_type)
    except EventError:
        registered = None
    if registered is not type(item):
        raise TypeError(f"{type(item).__qualname__} is not a registered domain event (use @event)")
    if item.stream_type != stream_type:
        raise ValueError(f"{item.event_type} belongs to {item.stream_type} streams, not {stream_type}")
    check_fields(item)
    try:
        data = canonical_json(item.to_payload())
        size = len(data.encode())
    except (TypeError, ValueError) as exc:
        raise EventError(f"{item.event_type} payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise EventError(f"{item.event_type} payload is {size} bytes, over {MAX_PAYLOAD_BYTES}")
    # Replay builds events from the stored JSON; live projection sees this object. They must be equal, or a
    # rebuild would differ from the live read models (a tuple reads back as a list, an int key as a string).
    if type(item)(**json.loads(data)) != item:
        raise EventError(f"{item.event_type} payload does not read back as the same event: {data}")
    return data


_HEAD = (
    "SELECT COALESCE((SELECT MAX(version) FROM chorus_event WHERE stream_type = %s AND stream_id = %s), 0), "
    "COALESCE((SELECT MAX(position) FROM chorus_event), 0), "
    "(SELECT hash FROM chorus_event ORDER BY position DESC LIMIT 1)"
)
_INSERT = (
    "INSERT INTO chorus_event (position, stream_type, stream_id, version, event_type, schema_version, "
    "data, metadata, recorded_at, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def append(
    stream_type: str, stream_id: str, expected_version: int | None, events: Iterable[DomainEvent]
) -> list[RecordedEvent]:
    """Append `events` to one stream atomically and project them.

    `expected_version` is the stream version the caller decided on (0 for a new stream); None skips the check.
    Raises ConcurrencyError, from inside its own savepoint, so an enclosing transaction survives it.
    """
    events = list(events)
    if not events:
        return []
    stream_id = str(stream_id)
    if not stream_type or not stream_id or len(stream_id) > MAX_STREAM_ID:
        raise ValueError(f"a stream needs a type and an id of 1..{MAX_STREAM_ID} characters")
    encoded = [_encode(item, stream_type) for item in events]
    metadata = _metadata()
    try:
        metadata_json = canonical_json(metadata)
        metadata_json.encode()
    except (TypeError, ValueError) as exc:
        raise EventError(f"event_context metadata is not JSON: {exc}") from None

    from events_app import live, projection

    # Outside a transaction this block is one (BEGIN IMMEDIATE: the write lock is held from here to COMMIT,
    # so reading the stream's version and writing the next one cannot interleave with another writer). Inside
    # the caller's transaction it is a savepoint, so a ConcurrencyError undoes this append and nothing else.
    with transaction.atomic(), RawCursor() as cursor:
        current, position, head = cursor.execute(_HEAD, [stream_type, stream_id]).fetchone()
        if expected_version is not None and current != expected_version:
            raise ConcurrencyError(stream_type, stream_id, expected_version, current)
        # Taken under the lock, so recorded_at follows position order (as far as the clock does).
        now = timezone.now()
        recorded_at = cursor.db.ops.adapt_datetimefield_value(now)
        tail = head or GENESIS_HASH
        rows, recorded = [], []
        for offset, (item, data) in enumerate(zip(events, encoded, strict=True), start=1):
            fields = (
                position + offset,
                stream_type,
                stream_id,
                current + offset,
                item.event_type,
                item.schema_version,
                data,
                metadata_json,
                recorded_at,
            )
            tail = chain_hash(tail, fields)
            rows.append((*fields, tail))
            recorded.append(
                RecordedEvent(position + offset, stream_type, stream_id, current + offset, item, metadata, now)
            )
        try:
            cursor.executemany(_INSERT, rows)
        except IntegrityError:
            # Only reachable if a writer got past the lock above (a connection not in IMMEDIATE mode): the
            # unique (stream, version) constraint is the last line of defence.
            expected = current if expected_version is None else expected_version
            raise ConcurrencyError(stream_type, stream_id, expected, current + 1) from None
        projection.project(recorded, cursor, head=head or GENESIS_HASH, tail=tail)
        cursor.db.on_commit(live.wake)
    return recorded


def stream_version(stream_type: str, stream_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(MAX(version), 0) FROM chorus_event WHERE stream_type = %s AND stream_id = %s",
            [stream_type, str(stream_id)],
        )
        return cursor.fetchone()[0]


def last_position() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(position), 0) FROM chorus_event")
        return cursor.fetchone()[0]


# recorded_at as text: the driver's own datetime converter would raise on a corrupt value inside fetchall(),
# where the row's position is not known; parsed in _decode_row, a bad value becomes a ReplayError like any other.
_SELECT = (
    "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
    "CAST(recorded_at AS TEXT) FROM chorus_event"
)


class _RowDecoder:
    """Turns stored rows into RecordedEvents. The events of one append share their metadata and time, so the
    last ones parsed are reused, the same objects as live projection shares (a rebuild parses far fewer)."""

    def __init__(self) -> None:
        # Stored datetimes are naive in the database's time zone (UTC unless configured otherwise).
        self.tz = connection.timezone if settings.USE_TZ else None
        self._metadata: tuple[Any, dict[str, Any]] = (None, {})
        self._when: tuple[Any, datetime | None] = (None, None)

    def __call__(self, row: Sequence[Any]) -> RecordedEvent:
        position, stream_type, stream_id, version, event_type, schema_version, data, metadata, recorded_at = row
        try:
            event = decode(event_type, schema_version, json.loads(data))
            if metadata != self._metadata[0]:
                self._metadata = (metadata, json.loads(metadata))
            if recorded_at != self._when[0]:
                when = datetime.fromisoformat(recorded_at)
                if self.tz is not None and when.tzinfo is None:
                    when = when.replace(tzinfo=self.tz)
                self._when = (recorded_at, when)
        except Exception as exc:
            # Whatever a corrupt row holds (bad JSON, an unknown type, a payload that no longer fits), replay
            # must stop with the row's position rather than a traceback from deep inside a decoder.
            raise ReplayError(position, event_type, str(exc) or repr(exc)) from exc
        return RecordedEvent(position, stream_type, stream_id, version, event, self._metadata[1], self._when[1])


def read(
    *,
    after: int = 0,
    until: int | None = None,
    stream_type: str | None = None,
    stream_id: str | None = None,
    event_types: Sequence[str] | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int | None = None,
    descending: bool = False,
    chunk: int = 2000,
) -> Iterator[RecordedEvent]:
    """Events in position order (or reversed), filtered; read in chunks so a long log streams.

    Raises ReplayError at the first row that cannot be decoded.
    """
    where, params = [], []
    if stream_type:
        where.append("stream_type = %s")
        params.append(stream_type)
    if stream_id is not None:
        where.append("stream_id = %s")
        params.append(str(stream_id))
    if event_types:
        where.append(f"event_type IN ({', '.join(['%s'] * len(event_types))})")
        params.extend(event_types)
    if since:
        where.append("recorded_at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(since))
    if before:
        where.append("recorded_at < %s")
        params.append(connection.ops.adapt_datetimefield_value(before))
    if until is not None:
        where.append("position <= %s")
        params.append(until)
    if descending and after:
        where.append("position > %s")
        params.append(after)
    decode_row = _RowDecoder()
    remaining = limit
    # The next chunk starts past the last row of this one: after it ascending, before it descending.
    boundary: int | None = None if descending else after
    while remaining is None or remaining > 0:
        size = chunk if remaining is None else min(chunk, remaining)
        clause = list(where)
        bound_params: list[Any] = []
        if boundary is not None:
            clause.append("position < %s" if descending else "position > %s")
            bound_params.append(boundary)
        sql = (
            f"{_SELECT}{' WHERE ' + ' AND '.join(clause) if clause else ''} "
            f"ORDER BY position{' DESC' if descending else ''} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *bound_params, size])
            rows = cursor.fetchall()
        for row in rows:
            yield decode_row(row)
        if len(rows) < size:
            return
        if remaining is not None:
            remaining -= len(rows)
        boundary = rows[-1][0]

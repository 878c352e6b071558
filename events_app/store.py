"""The event store: append with optimistic concurrency and a hash chain, read back in order.

A small facade over the recorder of the database (events_app.recorders): the store validates, encodes and hashes
events and runs the hooks registered at app start; the recorder is the only code that writes the event table.
Hooks: `on_append` ones run inside the append's transaction, in the order registered (projection, then the
in-transaction policies), so a read model is never behind or ahead of its events; `after_commit` ones run once
the transaction commits (the live follower's wake-up, the worker's policy runner).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from events_app.domain import DomainEvent, EventError, canonical_json, check_fields, decode, event_class
from events_app.errors import ConcurrencyError, DomainError, ReadOnly, ReplayError
from events_app.recorders import Cursor, Recorder, recorder_for

__all__ = [
    "GENESIS_HASH",
    "Appended",
    "ConcurrencyError",
    "RecordedEvent",
    "ReplayError",
    "after_commit",
    "append",
    "append_many",
    "chain_hash",
    "event_context",
    "last_position",
    "on_append",
    "read",
    "recorder",
    "stream_version",
    "use_recorder",
]

GENESIS_HASH = "0" * 64
SOURCES = ("web", "api", "admin", "cli", "worker", "agent", "test")
MAX_PAYLOAD_BYTES = 1_000_000
MAX_STREAM_ID = 200
# Distinct payloads a read keeps decoded (_RowDecoder).
DECODED_PAYLOADS = 4096


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


_new = object.__new__


def _recorded(
    position: int,
    stream_type: str,
    stream_id: str,
    version: int,
    event: DomainEvent,
    metadata: dict[str, Any],
    recorded_at: datetime,
) -> RecordedEvent:
    """`RecordedEvent(...)` at a third of the cost: a rebuild makes one per event, and a frozen dataclass's __init__
    sets each field through object.__setattr__. The result is the same frozen value (tests/events_app/test_store)."""
    made = _new(RecordedEvent)
    fields = made.__dict__
    fields["position"] = position
    fields["stream_type"] = stream_type
    fields["stream_id"] = stream_id
    fields["version"] = version
    fields["event"] = event
    fields["metadata"] = metadata
    fields["recorded_at"] = recorded_at
    return made


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
    except UnicodeEncodeError:
        # What a person or an agent typed, from any entry point: bad input, not a bug.
        raise DomainError("the text is not valid Unicode (it holds a lone surrogate); nothing was written") from None
    except (TypeError, ValueError) as exc:
        raise EventError(f"{item.event_type} payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise EventError(f"{item.event_type} payload is {size} bytes, over {MAX_PAYLOAD_BYTES}")
    # Replay builds events from the stored JSON; live projection sees this object. They must be equal, or a
    # rebuild would differ from the live read models (a tuple reads back as a list, an int key as a string).
    if type(item)(**json.loads(data)) != item:
        raise EventError(f"{item.event_type} payload does not read back as the same event: {data}")
    return data


@dataclasses.dataclass(frozen=True)
class Appended:
    """What an `on_append` hook gets: the events just written, inside the open transaction, with the cursor that
    wrote them and the hash of the log's last event before (`head`) and after (`tail`) the append."""

    events: Sequence[RecordedEvent]
    recorder: Recorder
    cursor: Cursor
    head: str
    tail: str


AppendHook = Callable[[Appended], None]
_on_append: list[AppendHook] = []
_after_commit: list[Callable[[], None]] = []


def on_append(hook: AppendHook) -> AppendHook:
    """Run `hook` inside every append's transaction, after the events are written, in the order registered. An
    exception rolls the append back. Registered once at app start (events_app.apps)."""
    if hook not in _on_append:
        _on_append.append(hook)
    return hook


def after_commit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run `hook` after the commit of every transaction that appended (once per append)."""
    if hook not in _after_commit:
        _after_commit.append(hook)
    return hook


_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("chorus_recorder", default=None)


def recorder() -> Recorder:
    """The recorder the store writes through: the default database's, unless `use_recorder` chose another."""
    return _recorder.get() or recorder_for()


@contextlib.contextmanager
def use_recorder(chosen: Recorder):
    """Run the store (and projection, policies, live) through `chosen` inside the block: the seam the recorder
    contract suite uses to run every test on each recorder and cursor path."""
    token = _recorder.set(chosen)
    try:
        yield chosen
    finally:
        _recorder.reset(token)


def append(
    stream_type: str, stream_id: str, expected_version: int | None, events: Iterable[DomainEvent]
) -> list[RecordedEvent]:
    """Append `events` to one stream atomically, then run the `on_append` hooks in the same transaction.

    `expected_version` is the stream version the caller decided on (0 for a new stream); None skips the check.
    Raises ConcurrencyError, from inside its own savepoint, so an enclosing transaction survives it.
    """
    return append_many([(stream_type, stream_id, expected_version, events)])


def append_many(
    appends: Iterable[tuple[str, str, int | None, Iterable[DomainEvent]]],
) -> list[RecordedEvent]:
    """Append to many streams in one step: `(stream_type, stream_id, expected_version, events)` each, in order,
    as one transaction with one read of the log's head, one insert and one run of the `on_append` hooks over every
    event (what a scan recording thousands of documents needs: one append each costs several times as much).

    All or nothing: a stream not at its expected version raises ConcurrencyError naming it, and nothing of any
    stream is written. A stream named twice continues from its first entry's events. The events share their
    metadata (one correlation) and recorded_at, as one append's do.
    """
    batch = [(stream_type, stream_id, expected, list(events)) for stream_type, stream_id, expected, events in appends]
    batch = [entry for entry in batch if entry[3]]
    if not batch:
        return []
    metadata = _metadata()
    if settings.CHORUS_READ_ONLY and metadata["source"] != "worker":
        # Read-only keeps the picture current (the worker still records what it sees) and lets nobody change it.
        raise ReadOnly()
    streams = []
    for stream_type, stream_id, expected_version, events in batch:
        stream_id = str(stream_id)
        if not stream_type or not stream_id or len(stream_id) > MAX_STREAM_ID:
            raise ValueError(f"a stream needs a type and an id of 1..{MAX_STREAM_ID} characters")
        streams.append((stream_type, stream_id, expected_version, events, [_encode(e, stream_type) for e in events]))
    try:
        metadata_json = canonical_json(metadata)
        metadata_json.encode()
    except (TypeError, ValueError) as exc:
        raise EventError(f"event_context metadata is not JSON: {exc}") from None

    chosen = recorder()
    # Outside a transaction this block is one; inside the caller's it is a savepoint, so a ConcurrencyError
    # undoes this append and nothing else.
    with chosen.writing() as cursor:
        found, position, head, last_at = chosen.heads(cursor, list(dict.fromkeys(s[:2] for s in streams)))
        versions = dict(found)
        # Taken under the lock and never before the last event's, so recorded_at never decreases along the log,
        # even when the clock steps back: a time filter is a range of positions (recorders.base.Recorder.select).
        now = timezone.now()
        if last_at is not None:
            now = max(now, _parse_time(last_at, connection.timezone if settings.USE_TZ else None))
        recorded_at = chosen.adapt_datetime(now)
        head = head or GENESIS_HASH
        tail = head
        rows, recorded = [], []
        for stream_type, stream_id, expected_version, events, encoded in streams:
            current = versions[stream_type, stream_id]
            if expected_version is not None and current != expected_version:
                raise ConcurrencyError(stream_type, stream_id, expected_version, current)
            for item, data in zip(events, encoded, strict=True):
                position += 1
                current += 1
                fields = (
                    position,
                    stream_type,
                    stream_id,
                    current,
                    item.event_type,
                    item.schema_version,
                    data,
                    metadata_json,
                    recorded_at,
                )
                tail = chain_hash(tail, fields)
                rows.append((*fields, tail))
                recorded.append(RecordedEvent(position, stream_type, stream_id, current, item, metadata, now))
            versions[stream_type, stream_id] = current
        try:
            chosen.insert(cursor, rows)
        except IntegrityError:
            # Only reachable if a writer got past the recorder's lock: the unique (stream, version) constraint is
            # the last line of defence. Which stream clashed the database does not say; the first is named.
            stream_type, stream_id, expected_version = streams[0][:3]
            taken = found[stream_type, stream_id]
            expected = taken if expected_version is None else expected_version
            raise ConcurrencyError(stream_type, stream_id, expected, taken + 1) from None
        appended = Appended(recorded, chosen, cursor, head, tail)
        for hook in _on_append:
            hook(appended)
        for done in _after_commit:
            chosen.db.on_commit(done)
    return recorded


def stream_version(stream_type: str, stream_id: str) -> int:
    return recorder().stream_version(stream_type, str(stream_id))


def last_position() -> int:
    return recorder().last_position()


def _parse_time(stored: str, tz: Any) -> datetime:
    """A stored recorded_at (text, naive in the database's time zone `tz` unless it says its own)."""
    when = datetime.fromisoformat(stored)
    return when.replace(tzinfo=tz) if tz is not None and when.tzinfo is None else when


class _RowDecoder:
    """Turns stored rows into RecordedEvents. The events of one append share their metadata and time, so the
    last ones parsed are reused, the same objects as live projection shares (a rebuild parses far fewer)."""

    def __init__(self) -> None:
        # Stored datetimes are naive in the database's time zone (UTC unless configured otherwise).
        self.tz = connection.timezone if settings.USE_TZ else None
        self._metadata: tuple[Any, dict[str, Any]] = (None, {})
        self._when: tuple[Any, datetime | None] = (None, None)
        # Events are values (frozen, equal when their payloads are): a payload stored again (a status change to
        # busy by the same rule, a counter's +1) is decoded once, into one shared object.
        self._events: dict[tuple[str, int, str], DomainEvent] = {}

    def rows(self, rows: Sequence[Sequence[Any]]) -> Iterator[RecordedEvent]:
        """The RecordedEvents of one chunk of stored rows, in their order (a rebuild's every event passes here: the
        decoder's state is held in locals for the chunk)."""
        events, tz = self._events, self.tz
        metadata_text, metadata_value = self._metadata
        when_text, when_value = self._when
        try:
            for row in rows:
                position, stream_type, stream_id, version, event_type, schema_version, data, metadata, at = row
                try:
                    key = (event_type, schema_version, data)
                    event = events.get(key)
                    if event is None:
                        if len(events) >= DECODED_PAYLOADS:
                            events.clear()
                        event = events[key] = decode(event_type, schema_version, json.loads(data))
                    if metadata != metadata_text:
                        metadata_text, metadata_value = metadata, json.loads(metadata)
                    if at != when_text:
                        when_text, when_value = at, _parse_time(at, tz)
                except Exception as exc:
                    # Whatever a corrupt row holds (bad JSON, an unknown type, a payload that no longer fits),
                    # replay must stop with the row's position rather than a traceback from deep in a decoder.
                    raise ReplayError(position, event_type, str(exc) or repr(exc)) from exc
                yield _recorded(position, stream_type, stream_id, version, event, metadata_value, when_value)
        finally:
            self._metadata, self._when = (metadata_text, metadata_value), (when_text, when_value)


def read(
    *,
    after: int = 0,
    until: int | None = None,
    stream_type: str | None = None,
    stream_id: str | None = None,
    event_types: Sequence[str] | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int | None = None,
    descending: bool = False,
    chunk: int = 2000,
) -> Iterator[RecordedEvent]:
    """Events in position order (or reversed), filtered (`actor`: metadata's actor); read in chunks so a long
    log streams.

    Raises ReplayError at the first row that cannot be decoded.
    """
    chosen = recorder()
    filters = {
        "until": until,
        "stream_type": stream_type,
        "stream_id": None if stream_id is None else str(stream_id),
        "event_types": event_types,
        "actor": actor,
        "since": since,
        "before": before,
        "descending": descending,
    }
    decode_rows = _RowDecoder()
    remaining = limit
    # The next chunk starts past the last row of this one: after it ascending, before it descending.
    lower, upper = after, None
    while remaining is None or remaining > 0:
        size = chunk if remaining is None else min(chunk, remaining)
        rows = chosen.select(after=lower, before_position=upper, limit=size, **filters)
        yield from decode_rows.rows(rows)
        if len(rows) < size:
            return
        if remaining is not None:
            remaining -= len(rows)
        if descending:
            upper = rows[-1][0]
        else:
            lower = rows[-1][0]

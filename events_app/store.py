"""The event store: append with optimistic concurrency and a hash chain, read back in order.

`append` is the only code that writes the event table. It runs the projectors in the same transaction, so a read
model is never behind or ahead of the events it is built from.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from events_app.domain import DomainEvent, EventError, canonical_json, decode

GENESIS_HASH = "0" * 64
SOURCES = ("web", "api", "admin", "cli", "worker", "test")
MAX_PAYLOAD_BYTES = 1_000_000


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it: expected version != current version."""

    def __init__(self, stream_type: str, stream_id: str, expected: int, actual: int):
        self.stream_type, self.stream_id, self.expected, self.actual = stream_type, stream_id, expected, actual
        super().__init__(
            f"{stream_type} {stream_id!r} is at version {actual}, not {expected}: it was changed meanwhile"
        )


class ReplayError(Exception):
    """A stored event could not be read back; names the event so an operator can find it."""

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


_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("chorus_event_context", default={})


@contextlib.contextmanager
def event_context(*, actor: str | None = None, source: str | None = None, **extra: Any):
    """Metadata for every event appended inside the block: who (actor) and through what (source)."""
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    merged = {**_context.get(), **{k: v for k, v in {"actor": actor, "source": source, **extra}.items() if v}}
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def _metadata() -> dict[str, Any]:
    context = _context.get()
    return {
        "actor": context.get("actor", "system"),
        "source": context.get("source", "cli"),
        "correlation_id": context.get("correlation_id") or uuid.uuid4().hex,
        **({"causation_id": context["causation_id"]} if context.get("causation_id") else {}),
    }


def chain_hash(previous: str, fields: Sequence[Any]) -> str:
    """The hash of one event row: over the previous row's hash and this row's stored text."""
    digest = hashlib.sha256(previous.encode())
    digest.update(b"\x1f")
    digest.update(canonical_json(list(fields)).encode())
    return digest.hexdigest()


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
    encoded = []
    for item in events:
        if not isinstance(item, DomainEvent) or not item.event_type:
            raise TypeError(f"{item!r} is not a registered domain event")
        if item.stream_type != stream_type:
            raise ValueError(f"{item.event_type} belongs to {item.stream_type} streams, not {stream_type}")
        try:
            data = canonical_json(item.to_payload())
        except (TypeError, ValueError) as exc:
            raise EventError(f"{item.event_type} payload is not JSON: {exc}") from None
        if len(data) > MAX_PAYLOAD_BYTES:
            raise EventError(f"{item.event_type} payload is {len(data)} bytes, over {MAX_PAYLOAD_BYTES}")
        encoded.append(data)
    metadata = _metadata()
    metadata_json = canonical_json(metadata)
    now = timezone.now()

    from events_app import live, projection

    with transaction.atomic():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(MAX(version), 0) FROM chorus_event WHERE stream_type = %s AND stream_id = %s",
                [stream_type, stream_id],
            )
            current = cursor.fetchone()[0]
            if expected_version is not None and current != expected_version:
                raise ConcurrencyError(stream_type, stream_id, expected_version, current)
            cursor.execute("SELECT position, hash FROM chorus_event ORDER BY position DESC LIMIT 1")
            last = cursor.fetchone()
            position, previous = last if last else (0, GENESIS_HASH)
            recorded_at = connection.ops.adapt_datetimefield_value(now)
            rows, recorded = [], []
            for offset, (item, data) in enumerate(zip(events, encoded, strict=True), start=1):
                fields = [
                    position + offset, stream_type, stream_id, current + offset, item.event_type,
                    item.schema_version, data, metadata_json, recorded_at,
                ]
                previous = chain_hash(previous, fields)
                rows.append([*fields, previous])
                recorded.append(
                    RecordedEvent(position + offset, stream_type, stream_id, current + offset, item, metadata, now)
                )
            try:
                cursor.executemany(_INSERT, rows)
            except IntegrityError:
                raise ConcurrencyError(stream_type, stream_id, expected_version or current, current + 1) from None
        projection.project(recorded)
        transaction.on_commit(live.wake)
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


_SELECT = (
    "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, recorded_at "
    "FROM chorus_event"
)


def _decode_row(row: Sequence[Any]) -> RecordedEvent:
    import json

    position, stream_type, stream_id, version, event_type, schema_version, data, metadata, recorded_at = row
    try:
        payload = json.loads(data)
        meta = json.loads(metadata) if metadata else {}
        event = decode(event_type, schema_version, payload)
    except (ValueError, EventError) as exc:
        raise ReplayError(position, event_type, str(exc)) from None
    when = connection.ops.convert_datetimefield_value(recorded_at, None, connection) if recorded_at else None
    return RecordedEvent(position, stream_type, stream_id, version, event, meta, when)


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
    """Events in position order (or reversed), filtered; read in chunks so a long log streams."""
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
    remaining = limit
    cursor_position = after
    upper: int | None = None
    while remaining is None or remaining > 0:
        size = chunk if remaining is None else min(chunk, remaining)
        if descending:
            bound = ["position < %s"] if upper is not None else []
            bound_params = [upper] if upper is not None else []
            if after:
                bound.append("position > %s")
                bound_params.append(after)
            clause = " AND ".join(where + bound)
            sql = f"{_SELECT}{' WHERE ' + clause if clause else ''} ORDER BY position DESC LIMIT %s"
        else:
            clause = " AND ".join([*where, "position > %s"])
            bound_params = [cursor_position]
            sql = f"{_SELECT} WHERE {clause} ORDER BY position LIMIT %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *bound_params, size])
            rows = cursor.fetchall()
        for row in rows:
            yield _decode_row(row)
        if len(rows) < size:
            return
        if remaining is not None:
            remaining -= len(rows)
        if descending:
            upper = rows[-1][0]
        else:
            cursor_position = rows[-1][0]

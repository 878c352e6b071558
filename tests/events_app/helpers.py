"""Helpers for the event-store tests: raw SQL behind the store's back, a small history, command runs."""

from __future__ import annotations

import contextlib
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from events_app import projection
from events_app.domain import canonical_json
from events_app.models import ProjectorCheckpoint
from events_app.recorders.base import hash_text
from events_app.store import GENESIS_HASH, chain_hash
from tests.demo import services


def sql(query: str, params: tuple | list = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def event_rows() -> list[tuple]:
    return sql("SELECT position, stream_type, stream_id, version, event_type FROM chorus_event ORDER BY position")


def write_raw_event(
    stream_id: str,
    version: int,
    event_type: str,
    data: Any,
    *,
    schema_version: int = 1,
    stream_type: str = "counter",
    data_text: str | None = None,
    hash_value: str | None = None,
) -> int:
    """Insert an event row the way an older release would have written it: by default with a valid chain hash,
    so only what the test changes on purpose is wrong with it."""
    found = sql("SELECT position, hash FROM chorus_event ORDER BY position DESC LIMIT 1")
    position, previous = (found[0][0], hash_text(found[0][1])) if found else (0, GENESIS_HASH)
    position += 1
    fields = [
        position,
        stream_type,
        stream_id,
        version,
        event_type,
        schema_version,
        canonical_json(data) if data_text is None else data_text,
        canonical_json({"actor": "old-release", "source": "cli", "correlation_id": "legacy"}),
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    with unchecked_json():
        sql(
            "INSERT INTO chorus_event (position, stream_type, stream_id, version, event_type, schema_version, data, "
            "metadata, recorded_at, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [*fields, bytes.fromhex(hash_value or chain_hash(previous, fields))],
        )
    return position


@contextlib.contextmanager
def unchecked_json():
    """The JSON columns have CHECK (json_valid(...)); a corrupt row can only be written with checks off."""
    sql("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        sql("PRAGMA ignore_check_constraints = OFF")


def history() -> None:
    """Two counters through every kind of demo event: positions 1..8."""
    services.counter_open("a", "Apples")
    services.counter_increment("a", 3)
    services.counter_open("b", "Bananas")
    services.counter_increment("b", 5)
    services.counter_label("a", {"colour": "red"})
    services.counter_rename("a", "Green apples")
    services.counter_increment("a", -1)
    services.counter_close("b")


def projection_names() -> list[str]:
    return [p.name for p in projection.projectors()]


def checkpoints() -> dict[str, int]:
    return dict(ProjectorCheckpoint.objects.values_list("name", "position"))


def state() -> tuple[dict, dict[str, int]]:
    """Everything a replay may write: every read model's rows, and the checkpoints."""
    return projection.snapshot(), checkpoints()


def command(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()

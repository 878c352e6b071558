from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class EventOut(Schema):
    position: int
    recorded_at: datetime
    stream_type: str
    stream_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]


class EventPageOut(Schema):
    items: list[EventOut]
    next_after: int | None


class StreamOut(Schema):
    stream_type: str
    stream_id: str
    version: int
    last_event_type: str
    last_position: int
    updated_at: datetime

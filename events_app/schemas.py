from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

# SQLite's largest integer: a larger position, version or number names nothing and cannot be bound to a query.
LARGEST_INTEGER = 2**63 - 1


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


class BodyIn(Schema):
    """A request body: JSON's own types as they are, never converted (a "5" is no number, a 0 is no false)."""

    model_config = ConfigDict(strict=True)


# --- what an operation answers when it cannot do what was asked (chorus_site/api.py maps the errors) -----------


class ErrorOut(Schema):
    detail: str = Field(description="what is wrong, written for the person who asked; nothing was written")


class ConflictOut(ErrorOut):
    expected: int | None = Field(None, description="a stale version: the one you sent")
    actual: int | None = Field(None, description="a stale version: the one the stream is at")


class InvalidOut(Schema):
    detail: list[dict[str, Any]] = Field(description="each parameter or field refused: where (loc) and why (msg)")


ERROR_SCHEMAS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: InvalidOut,
    503: ErrorOut,
}


def answers(ok: dict[int, Any], *errors: int, write: bool = False) -> dict[int, Any]:
    """An operation's documented responses: its success, the errors it can answer with, 401 without the token, 503
    when the database cannot be used (read-only, or its disk is full: even reads fail then), and for a write also
    403 (read-only mode, a browser without its CSRF token)."""
    statuses = {401, 503, *errors, *((403,) if write else ())}
    return {**ok, **{status: ERROR_SCHEMAS[status] for status in sorted(statuses)}}

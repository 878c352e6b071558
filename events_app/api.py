"""Read-only API of the event log: list with filters, page by position, one stream's history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import BeforeValidator

from events_app import selectors
from events_app.schemas import LARGEST_INTEGER, EventOut, EventPageOut, StreamOut, answers

router = Router(tags=["events"])


def _iso_8601(value: object) -> object:
    """A moment is written in ISO 8601; a bare number (which pydantic would read as seconds since 1970) is not."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO 8601 date and time (e.g. 2026-11-24T09:30:00Z)") from None
    return value


Moment = Annotated[datetime, BeforeValidator(_iso_8601)]


class EventFilter(Schema):
    after: int = Field(0, ge=0, le=LARGEST_INTEGER, description="only events after this position")
    limit: int = Field(100, ge=1, le=1000)
    stream_type: str | None = None
    stream_id: str | None = None
    # A list, or absent (not null: a query string has no null), so one value is a list of one.
    event_type: list[str] = Field(None, description="only events of these types (repeatable)")
    actor: str | None = Field(None, description="only events of this actor (metadata's actor)")
    since: Moment | None = Field(None, description="recorded at or after (ISO 8601)")
    until: Moment | None = Field(None, description="recorded before (ISO 8601)")


def _out(item) -> EventOut:
    return EventOut(
        position=item.position,
        recorded_at=item.recorded_at,
        stream_type=item.stream_type,
        stream_id=item.stream_id,
        version=item.version,
        event_type=item.event_type,
        data=item.event.to_payload(),
        metadata=item.metadata,
    )


@router.get("", response=answers({200: EventPageOut}, 422), summary="Events after a position, oldest first, filtered")
def list_events(request: HttpRequest, filters: Query[EventFilter]):
    items = selectors.events_page(
        after=filters.after,
        limit=filters.limit,
        stream_type=filters.stream_type,
        stream_id=filters.stream_id,
        event_types=filters.event_type,
        actor=filters.actor,
        since=filters.since,
        before=filters.until,
    )
    next_after = items[-1].position if len(items) == filters.limit else None
    return EventPageOut(items=[_out(i) for i in items], next_after=next_after)


@router.get(
    "/streams", response=answers({200: list[StreamOut]}, 422), summary="Every stream with its version and last event"
)
def list_streams(request: HttpRequest, stream_type: str | None = None):
    return list(selectors.streams(stream_type)[:1000])


@router.get(
    "/streams/{stream_type}/{stream_id}", response=answers({200: list[EventOut]}, 404), summary="One stream's events"
)
def stream_events(request: HttpRequest, stream_type: str, stream_id: str):
    items = selectors.events_page(stream_type=stream_type, stream_id=stream_id, limit=10_000)
    if not items:
        raise HttpError(404, f"no stream {stream_type}:{stream_id}")
    return [_out(i) for i in items]

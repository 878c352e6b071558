"""Read-only API of the event log: list with filters, page by position, one stream's history."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from events_app import selectors
from events_app.schemas import EventOut, EventPageOut, StreamOut

router = Router(tags=["events"])


class EventFilter(Schema):
    # Positions are SQLite integers (64-bit): a larger one names no event and cannot be bound to a query.
    after: int = Field(0, ge=0, le=2**63 - 1, description="only events after this position")
    limit: int = Field(100, ge=1, le=1000)
    stream_type: str | None = None
    stream_id: str | None = None
    event_type: list[str] | None = None
    since: datetime | None = None
    until: datetime | None = None


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


@router.get("", response=EventPageOut, summary="Events after a position, oldest first, filtered")
def list_events(request: HttpRequest, filters: Query[EventFilter]):
    items = selectors.events_page(
        after=filters.after,
        limit=filters.limit,
        stream_type=filters.stream_type,
        stream_id=filters.stream_id,
        event_types=filters.event_type,
        since=filters.since,
        before=filters.until,
    )
    next_after = items[-1].position if len(items) == filters.limit else None
    return EventPageOut(items=[_out(i) for i in items], next_after=next_after)


@router.get("/streams", response=list[StreamOut], summary="Every stream with its version and last event")
def list_streams(request: HttpRequest, stream_type: str | None = None):
    return list(selectors.streams(stream_type)[:1000])


@router.get("/streams/{stream_type}/{stream_id}", response=list[EventOut], summary="One stream's events")
def stream_events(request: HttpRequest, stream_type: str, stream_id: str):
    items = selectors.events_page(stream_type=stream_type, stream_id=stream_id, limit=10_000)
    if not items:
        raise HttpError(404, f"no stream {stream_type}:{stream_id}")
    return [_out(i) for i in items]

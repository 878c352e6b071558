"""Reads for pages, the API and commands: the event log and the streams read model."""

from __future__ import annotations

from events_app import store
from events_app.models import Stream


def recent_events(limit: int = 50) -> list[store.RecordedEvent]:
    return list(store.read(descending=True, limit=limit))


def last_position() -> int:
    return store.last_position()


def streams(stream_type: str | None = None):
    queryset = Stream.objects.all()
    return queryset.filter(stream_type=stream_type) if stream_type else queryset


def events_page(*, after: int = 0, limit: int = 100, **filters) -> list[store.RecordedEvent]:
    return list(store.read(after=after, limit=limit, **filters))

"""The streams read model: every stream's current version and latest event, for listings and filters."""

from __future__ import annotations

from events_app.models import Stream
from events_app.projection import Projector, Rows, register
from events_app.store import RecordedEvent


@register
class StreamProjector(Projector):
    name = "streams"
    models = (Stream,)
    handles_all = True

    def on_any(self, recorded: RecordedEvent, rows: Rows) -> None:
        key = f"{recorded.stream_type}:{recorded.stream_id}"
        stream = rows.get(Stream, key)
        if stream is None:
            stream = Stream(
                key=key,
                stream_type=recorded.stream_type,
                stream_id=recorded.stream_id,
                created_at=recorded.recorded_at,
            )
        stream.version = recorded.version
        stream.last_position = recorded.position
        stream.last_event_type = recorded.event_type
        stream.updated_at = recorded.recorded_at
        rows.save(stream)

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
        if recorded.version == 1:
            stream = Stream(
                key=key,
                stream_type=recorded.stream_type,
                stream_id=recorded.stream_id,
                created_at=recorded.recorded_at,
            )
            rows.save(stream)
        # Every event after a stream's first only moves these columns: written without reading the row, which
        # this projector, run for every event of every app, would otherwise do on each append.
        rows.update(
            Stream,
            key,
            version=recorded.version,
            last_position=recorded.position,
            last_event_type=recorded.event_type,
            updated_at=recorded.recorded_at,
        )

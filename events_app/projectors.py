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
    # A stream's row is its first event's time and its last event: one read of the unique (stream, version) index
    # for the streams' heads, then two lookups per stream, instead of a row update for every event of the log.
    rebuilt_by_query = (
        "INSERT INTO chorus_stream"
        " (key, stream_type, stream_id, version, last_position, last_event_type, created_at, updated_at)"
        " SELECT head.stream_type || ':' || head.stream_id, head.stream_type, head.stream_id, head.version,"
        " last.position, last.event_type, first.recorded_at, last.recorded_at"
        " FROM (SELECT stream_type, stream_id, MAX(version) AS version FROM chorus_event WHERE position <= %s"
        " GROUP BY stream_type, stream_id) AS head"
        " JOIN chorus_event AS last ON last.stream_type = head.stream_type AND last.stream_id = head.stream_id"
        " AND last.version = head.version"
        " JOIN chorus_event AS first ON first.stream_type = head.stream_type AND first.stream_id = head.stream_id"
        " AND first.version = 1"
    )

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

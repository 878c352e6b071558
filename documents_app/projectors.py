"""Projector of the documents read model."""

from __future__ import annotations

from documents_app import events as ev
from documents_app.models import Document
from events_app.projection import Projector, Rows, handles, register
from events_app.store import RecordedEvent


@register
class DocumentProjector(Projector):
    name = "documents"
    models = (Document,)

    @handles(ev.DocumentAdded)
    def added(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        rows.save(
            Document(
                path=recorded.stream_id,
                title=e.title,
                line_count=e.line_count,
                sha256=e.sha256,
                size=e.size,
                added_at=recorded.recorded_at,
                changed_at=recorded.recorded_at,
                version=recorded.version,
                host=recorded.metadata.get("host", ""),
            )
        )

    @handles(ev.DocumentChanged)
    def changed(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        document = rows.get(Document, recorded.stream_id)
        document.title, document.line_count, document.sha256, document.size = (
            e.title,
            e.new_line_count,
            e.new_sha256,
            e.size,
        )
        document.changed_at, document.version = recorded.recorded_at, recorded.version
        document.host = recorded.metadata.get("host", "")
        rows.save(document)

    @handles(ev.DocumentRemoved)
    def removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        document = rows.get(Document, recorded.stream_id)
        if document is not None:
            rows.delete(document)

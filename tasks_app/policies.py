"""Every reaction of tasks to an event, its own or another app's (events_app.policies). Each decides which task is
concerned and calls a service; the services decide and append.

In the event's transaction (the read models already show the event; a reaction that raises rolls the event back):
- references follow their document (DocumentChanged, DocumentRemoved, DocumentAdded of a path that was one before).
"""

from __future__ import annotations

from documents_app import selectors as document_selectors
from documents_app.events import DocumentAdded, DocumentChanged, DocumentRemoved
from events_app.policies import policy
from events_app.store import RecordedEvent
from tasks_app import selectors, services


@policy(DocumentChanged, DocumentRemoved, DocumentAdded)
def references_follow_their_document(recorded: RecordedEvent) -> None:
    event, path = recorded.event, recorded.stream_id
    if isinstance(event, DocumentAdded) and recorded.version == 1:
        return  # a path that was never a document: nothing refers to it yet
    if not selectors.references_for_document(path):
        return
    if isinstance(event, DocumentRemoved):
        services.references_follow(path, None)
        return
    sha256 = event.new_sha256 if isinstance(event, DocumentChanged) else event.sha256
    lines = document_selectors.document_current_lines(path, sha256)
    if lines is not None:  # None: the file changed again since; the event that records it brings its text
        services.references_follow(path, lines)

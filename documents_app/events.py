"""Events of documents (stream `document`, id = the path relative to PROJECT_ROOT, POSIX separators).

Appended only when a document's content really changed: the same bytes saved again, or a file merely touched,
records nothing. A path that stops being a document (deleted, ignored, grown too large, turned binary) is removed
with the reason; it may be added again later on the same stream.
"""

from __future__ import annotations

from events_app.domain import event


@event("document")
class DocumentAdded:
    title: str
    line_count: int
    sha256: str
    size: int


@event("document")
class DocumentChanged:
    old_sha256: str
    new_sha256: str
    old_line_count: int
    new_line_count: int
    title: str
    size: int


@event("document")
class DocumentRemoved:
    sha256: str
    reason: str

"""Domain errors of documents (see events_app.errors): the message is for the user, the kind gives the HTTP status."""

from __future__ import annotations

from events_app.errors import Conflict, DomainError, NotFound


class DocumentError(DomainError):
    """A request about documents that cannot be carried out; the message is for the user."""


class DocumentNotFound(DocumentError, NotFound):
    pass


class LinesOutside(DocumentError, Conflict):
    """Lines asked for that the document, as it is now, does not have."""

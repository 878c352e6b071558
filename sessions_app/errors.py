"""The domain errors of sessions: kinds of events_app.errors, so the API's status, a form's message and a command's
one line follow from the kind. Selectors and services raise them alike."""

from __future__ import annotations

from events_app.errors import Conflict, DomainError, NotFound


class SessionError(DomainError):
    """A request about sessions that cannot be carried out; the message is for the user."""


class UnknownSession(SessionError, NotFound):
    pass


class SessionConflict(SessionError, Conflict):
    pass

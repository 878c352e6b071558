"""The domain errors of sessions: kinds of events_app.errors, so the API's status, a form's message and a command's
one line follow from the kind. Selectors and services raise them alike. The agent tools' refusals have statuses of
their own: an unauthenticated caller (401), a tier that does not allow the call (403), too many calls (429)."""

from __future__ import annotations

from events_app.errors import Conflict, DomainError, NotFound


class SessionError(DomainError):
    """A request about sessions that cannot be carried out; the message is for the user."""


class UnknownSession(SessionError, NotFound):
    pass


class SessionConflict(SessionError, Conflict):
    pass


class ProgramMissing(SessionError, NotFound):
    """The profile's program is not installed here: nothing was started."""


class UnknownDirectory(SessionError, NotFound):
    """A working directory that is not there under PROJECT_ROOT."""


class AgentDenied(SessionError):
    """An agent's credential is missing, unknown or revoked: the call is refused as unauthenticated."""

    status = 401


class Forbidden(SessionError):
    """The agent's credential is valid, but its tier does not allow this call."""

    status = 403


class RateLimited(SessionError):
    """The agent called its tools faster than the per-session rate limit allows."""

    status = 429

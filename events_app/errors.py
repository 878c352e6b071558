"""The domain errors every app raises, mapped once to HTTP (the API's exception handler), forms (a message on the
page) and the command line (one line on stderr, non-zero exit).

A request that cannot be carried out raises a subclass with a message written for the person who asked; nothing
was written. `status` is the HTTP status the API answers with. Each app subclasses these (SessionError, TaskError,
DocumentError) and its more precise errors also subclass NotFound or Conflict, so the status follows the kind.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that cannot be carried out (bad input): nothing was written."""

    status = 400


class NotFound(DomainError):
    """The request names something that does not exist."""

    status = 404


class Conflict(DomainError):
    """The request is well formed, but the current state refuses it."""

    status = 409


class ReadOnly(DomainError):
    """Chorus runs read-only (CHORUS_READ_ONLY): the request would change something, or type into a terminal."""

    status = 403

    def __init__(self, what: str = "nothing can be changed"):
        super().__init__(f"Chorus runs read-only (CHORUS_READ_ONLY): {what}")


class ConcurrencyError(Conflict):
    """The stream moved on since the caller read it: expected version != current version."""

    def __init__(self, stream_type: str, stream_id: str, expected: int, actual: int):
        self.stream_type, self.stream_id, self.expected, self.actual = stream_type, stream_id, expected, actual
        super().__init__(
            f"{stream_type} {stream_id!r} is at version {actual}, not {expected}: it was changed meanwhile"
        )


class ReplayError(Exception):
    """A stored event could not be read back or replayed; names the event so an operator can find it."""

    def __init__(self, position: int, event_type: str, reason: str):
        self.position, self.event_type, self.reason = position, event_type, reason
        super().__init__(f"event #{position} ({event_type}): {reason}")

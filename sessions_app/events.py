"""Events of agent sessions (stream `session`, id = the session's name) and of their messages (stream `message`).

A session name is reused across incarnations: SessionCreated may follow SessionKilled or SessionStopped on the same
stream, so the expected version makes "create if the name is free" race-free. Messages have streams of their own so
that delivery (worker) and status changes (worker poll) never contend for one stream version.
"""

from __future__ import annotations

from events_app.domain import event


@event("session")
class SessionCreated:
    name: str
    profile: str
    command: list
    cwd: str
    pane_id: str
    tmux_session: str
    pid: int | None


@event("session")
class SessionAdopted:
    name: str
    profile: str
    command: list
    cwd: str
    pane_id: str
    tmux_session: str
    pid: int | None


@event("session")
class SessionRestarted:
    pane_id: str
    pid: int | None


@event("session")
class SessionStatusChanged:
    from_status: str
    to_status: str
    reason: str
    rule: str
    signal: str
    text: str


@event("session")
class SessionPaneRelocated:
    """The worker found the session's tagged pane under another pane id (e.g. after a window was moved)."""

    pane_id: str
    pid: int | None


@event("session")
class SessionKilled:
    leftover_pids: list


@event("session")
class SessionStopped:
    reason: str
    exit_status: int | None


@event("session")
class SessionAutoDispatchSet:
    enabled: bool


@event("session")
class KeysSent:
    keys: list


@event("message")
class MessageQueued:
    session: str
    text: str


@event("message")
class MessageCancelled:
    pass


@event("message")
class DeliveryStarted:
    attempt: int


@event("message")
class PromptDelivered:
    confirmed_by: str
    attempts: int


@event("message")
class PromptDeliveryFailed:
    reason: str
    attempts: int

"""Events of agent sessions (stream `session`, id = the session's name), of their messages (stream `message`), of
their agents' Chorus tools (stream `agent`, id = the session's name) and of the questions agents ask a person
(stream `question`, id = the question's id).

A session name is reused across incarnations: SessionCreated may follow SessionKilled or SessionStopped on the same
stream, so the expected version makes "create if the name is free" race-free. Messages have streams of their own so
that delivery (worker) and status changes (worker poll) never contend for one stream version; questions too, so a
person answering never contends with the agent's calls.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings

from events_app.domain import event, upcaster


def this_host() -> str:
    return settings.CHORUS_HOST_NAME


@event("session", version=2)
class SessionCreated:
    """`host`: the host whose worker owns the session's tmux server (version 1 had none: see _on_this_host)."""

    name: str
    profile: str
    command: list
    cwd: str
    pane_id: str
    tmux_session: str
    pid: int | None
    host: str = dataclasses.field(default_factory=this_host)


@event("session", version=2)
class SessionAdopted:
    """`host`: the host whose worker owns the session's tmux server (version 1 had none: see _on_this_host)."""

    name: str
    profile: str
    command: list
    cwd: str
    pane_id: str
    tmux_session: str
    pid: int | None
    host: str = dataclasses.field(default_factory=this_host)


@upcaster("SessionCreated", 1)
@upcaster("SessionAdopted", 1)
def _on_this_host(payload: dict) -> dict:
    """Before hosts, every session was on the one machine there was: the host reading the log now."""
    return {**payload, "host": this_host()}


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
class SessionWaitingExplained:
    """What a waiting session asks, seen after its waiting began: an agent may say it waits (its session file)
    before it draws the dialog, so the first reason could not quote the question."""

    reason: str
    rule: str


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
class SessionRemoved:
    """A person forgot an ended session: it leaves the read models and its name is free; this stream keeps its
    history, and a new session of the same name continues it."""

    pane_cleaned: bool


@event("session")
class SessionAutoDispatchSet:
    enabled: bool


@event("session")
class KeysSent:
    keys: list


@event("session")
class DeliveryHeld:
    """The worker holds the session's queued messages back although it is idle, for `reason` (a draft in its
    input line), or ("") no longer does."""

    reason: str


@event("session")
class InputCleared:
    """A person cleared the agent's input line: `keys` are its profile's clear sequence, pressed once."""

    keys: list


@event("session")
class UsageLimitReached:
    """The agent said it hit its usage limit (`text`, by `rule`); `reset_at` is when, ISO 8601 UTC ("" when the
    text says nothing Chorus could read: then no resume is scheduled)."""

    rule: str
    text: str
    reset_at: str


@event("session")
class ResumeScheduled:
    """Chorus will queue `text` for the agent at `at` (ISO 8601 UTC): its usage limit's reset plus the margin."""

    at: str
    text: str


@event("session")
class ResumeSent:
    """The scheduled continue message was queued (outbox message `message_id`), in the same transaction: once."""

    message_id: str


@event("session")
class ConversationBound:
    """The session's agent works in its conversation `conversation` (its own id, which its profile reads),
    which a restart can resume; `source` says where Chorus read it."""

    conversation: str
    source: str


@event("session")
class SessionRecovered:
    """`sessions recover` started the session again after its tmux server (or the machine) went away;
    `conversation` is the one it resumed ("" when it started afresh)."""

    conversation: str


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


# --- request: what a web server or a command asks the worker of a session's host to do to its tmux ------------
# (stream `request`, id = a uuid). The worker claims a request before its side effect and records the outcome; the
# events that side effect appends carry the request's id as their correlation_id (see services.request_carry_out).


@event("request")
class SessionStartRequested:
    """Start session `session` on `host` (services.session_create's arguments; `worktree`: a task's, else "")."""

    session: str
    host: str
    profile: str
    subdir: str | None
    tools: str | None
    worktree: str


@event("request")
class SessionKillRequested:
    session: str
    host: str


@event("request")
class SessionRestartRequested:
    session: str
    host: str
    tools: str | None
    resume: bool


@event("request")
class SessionKeysRequested:
    session: str
    host: str
    keys: list


@event("request")
class SessionInputClearRequested:
    session: str
    host: str


@event("request")
class SessionRemoveRequested:
    session: str
    host: str


@event("request")
class SessionAdoptRequested:
    """Adopt tmux session or pane `target` of `host` as session `session` ("": the tmux session's name)."""

    session: str
    host: str
    target: str
    profile: str


@event("request")
class SessionsRecoverRequested:
    """Start again the sessions of `host` that were live when its tmux server went away (`session` is "")."""

    session: str
    host: str


@event("request")
class RequestClaimed:
    """The worker of the request's host (`pid` on `machine`) carries it out now: no other may."""

    machine: str
    pid: int


@event("request")
class RequestCarried:
    """Done; `detail` says what came of it (e.g. the adopted session's name, a recovery's outcome)."""

    detail: dict


@event("request")
class RequestFailed:
    """Not done, for `reason`; `status` is the HTTP status of the refusal (404 unknown, 409 conflict, ...)."""

    reason: str
    status: int


@event("request")
class RequestCancelled:
    """A person withdrew the request while it was pending (its host's worker had not taken it)."""

    reason: str


# --- agent: the session's Chorus tools (MCP server and command-line twins) -------------------------------------


@event("agent")
class AgentCredentialIssued:
    """A credential for the session's agent tools, scoped to `tier`. Only the sha256 digest of its secret is ever
    recorded: the secret is in a file of the session's agents directory (sessions_app.credentials)."""

    tier: str
    digest: str


@event("agent")
class AgentCredentialRevoked:
    """The credential stops working: its session ended, was restarted, or was given a new one."""

    digest: str
    reason: str


@event("agent")
class AgentToolCalled:
    """One call of an agent tool or its twin, on `task_id` when it concerns the session's task; `detail` is one line
    on what it asked, for the session's list of calls. What the call changed is recorded by its own events."""

    tool: str
    task_id: int | None
    detail: str


@event("agent")
class AgentProgressReported:
    """report_progress: the agent says how its work goes (a note on its task's timeline, when it has one)."""

    task_id: int | None
    note: str


# --- question: what an agent asks a person (ask_human) ------------------------------------------------------------


@event("question")
class QuestionAsked:
    session: str
    text: str
    options: list
    task_id: int | None


@event("question")
class QuestionAnswered:
    """A person answered; the answer was queued for the agent as the outbox message `message_id`."""

    answer: str
    message_id: str


@event("question")
class QuestionWithdrawn:
    """Nobody answered before the session that asked ended (or was restarted)."""

    reason: str

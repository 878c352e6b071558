"""The sessions API's shapes, also the command line's --json output (the event payloads are in events.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from ninja import Field, Schema

from events_app.schemas import BodyIn
from sessions_app.agent_reports import LIMITS
from sessions_app.agents import DEFAULT_PROFILE
from sessions_app.catalog import PROFILE_NAME
from sessions_app.requests import pending_reason
from sessions_app.selectors import attach_command, missing_program
from sessions_app.services import NAME
from sessions_app.tmux import ALLOWED_KEYS

Name = Annotated[str, Field(pattern=NAME.pattern, description="1-40 letters, digits, '-' or '_'; the tmux session")]
Profile = Annotated[str, Field(pattern=PROFILE_NAME.pattern, description="an agent profile's name")]
Key = Literal[tuple(sorted(ALLOWED_KEYS))]
HostName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class SessionIn(BodyIn):
    name: Name
    profile: Profile = DEFAULT_PROFILE
    subdir: str | None = Field(None, pattern=r"^[^\x00]*$", description="working directory under PROJECT_ROOT")
    tools: Literal["self", "fleet-read", "fleet-write", "off"] | None = Field(
        None, description="its agent's Chorus tools: self, fleet-read, fleet-write or off (default: the profile's)"
    )
    host: HostName | None = Field(None, description="whose worker starts it (default: the web server's host)")


class AdoptIn(BodyIn):
    target: str = Field(min_length=1, description="a tmux session name or pane id (%N)")
    name: Name | None = Field(None, description="the session's name (default: the tmux session's)")
    profile: Profile = "shell"
    host: HostName | None = Field(None, description="the host whose tmux has it (default: the web server's)")


class MessageIn(BodyIn):
    text: str = Field(
        max_length=settings.CHORUS_MAX_MESSAGE_CHARS,
        pattern=r"[^\s\x00-\x1f\x7f\x85]",
        description="typed as text: control characters and ESC are removed; what remains must not be blank",
    )


class KeysIn(BodyIn):
    keys: list[Key] = Field(
        min_length=1, description="named keys from the allowlist, e.g. ['1'], ['Escape'], ['Down', 'Enter']"
    )


class AutoDispatchIn(BodyIn):
    enabled: bool


class SessionOut(Schema):
    name: str
    profile: str
    command: list[str]
    cwd: str
    pane_id: str
    host: str = Field(description="the host whose worker owns its tmux server (GET /api/hosts: online or not)")
    lifecycle: str = Field(description="live, ended (by itself, or its pane vanished) or killed (by a person)")
    status: str = Field(description="idle, busy, waiting or stopped (unknown while undecided); stopped once ended")
    status_reason: str
    status_rule: str
    status_since: datetime
    delivery_held: str = Field(
        description="why its queued messages wait although it is idle (a draft in its input line); empty otherwise"
    )
    adopted: bool
    auto_dispatch: bool
    created_at: datetime
    ended_at: datetime | None
    version: int
    attach_command: str
    limit_text: str = Field(description="the usage limit its agent last reported, in its own words")
    limit_until: datetime | None = Field(description="when that limit resets (null: its text gave no readable time)")
    resume_at: datetime | None = Field(description="when Chorus queues its continue message (null: none due)")
    conversation: str = Field(description="its agent's conversation id, which a restart with resume continues")

    @staticmethod
    def resolve_attach_command(session) -> str:
        return attach_command(session.name)


class PendingOut(Schema):
    detail: str = Field(
        description="the request is recorded but its host's worker did not finish it within CHORUS_REQUEST_WAIT: "
        "why (e.g. 'host ci-2 offline since 14:02'), and how to cancel it (GET /api/requests?open=true)"
    )


class HostOut(Schema):
    name: str
    online: bool = Field(description="its worker beat within CHORUS_HOST_OFFLINE_SECONDS and has not stopped")
    offline_reason: str = Field(description="e.g. 'host ci-2 offline since 14:02'; empty while online")
    last_seen: datetime | None = Field(description="its worker's last heartbeat (null: no worker ever ran for it)")
    machine: str = Field(description="the machine its worker runs on (socket.gethostname())")
    pid: int | None
    started_at: datetime | None
    live_sessions: int


class RequestOut(Schema):
    id: str
    kind: str = Field(description="start, kill, restart, keys, clear-input, remove, adopt or recover")
    session: str
    host: str
    arguments: dict = Field(description="what else it asks (a start's profile, the keys to press, ...)")
    actor: str
    state: str = Field(description="pending, claimed (being carried out), carried, failed or cancelled")
    requested_at: datetime
    finished_at: datetime | None
    detail: dict = Field(description="what came of it, once carried")
    reason: str = Field(description="why it failed or was cancelled")
    status: int | None = Field(description="a failure's HTTP status (404 unknown, 409 conflict, ...)")
    pending_reason: str = Field(description="why an open request is not done yet, e.g. its host is offline")

    @staticmethod
    def resolve_pending_reason(request) -> str:
        return pending_reason(request)


class RecoveryOut(Schema):
    name: str
    recovered: bool
    failure: str = Field(description="why it could not be started again (empty when it was)")


class MessageOut(Schema):
    id: str
    session: str
    sender: str = Field(description="the session whose agent sent it (its send_message tool); empty otherwise")
    text: str
    state: str
    queued_at: datetime
    finished_at: datetime | None
    attempts: int
    confirmed_by: str
    failure_reason: str


class StatusChangeOut(Schema):
    position: int
    from_status: str
    to_status: str
    reason: str
    rule: str
    signal: str
    text: str
    at: datetime


class HistoryQuery(Schema):
    limit: int = Field(100, ge=1, le=1000, description="at most this many changes, newest first")


class ScreenOut(Schema):
    name: str
    text: str


class ProfileOut(Schema):
    name: str
    description: str
    command: list[str]
    agent: bool = Field(description="an AI agent that takes tasks (false: a shell or a plain program)")
    installed: bool = Field(description="its program is on PATH here, so a session of it can start")
    missing: str = Field(description="why it cannot start here (empty when installed)")

    @staticmethod
    def resolve_installed(profile) -> bool:
        return missing_program(profile) is None

    @staticmethod
    def resolve_missing(profile) -> str:
        return missing_program(profile) or ""


class AnswerIn(BodyIn):
    text: str = Field(
        max_length=LIMITS.answer,
        pattern=r"[^\s\x00-\x1f\x7f\x85]",
        description="the answer, typed to the agent as one message; it must not be blank",
    )
    question_id: str | None = Field(
        None, max_length=40, description="the question answered (default: the session's oldest open one)"
    )


class QuestionOut(Schema):
    id: str
    session: str
    task_id: int | None
    text: str
    options: list[str]
    state: str = Field(description="open, answered or withdrawn")
    asked_at: datetime
    answer: str
    answered_by: str
    answered_at: datetime | None
    message_id: str = Field(description="the outbox message that carries the answer to the agent")
    withdrawn_reason: str

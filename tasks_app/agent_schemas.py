"""What the agent tools answer (tasks_app.services.agent): the MCP tools' result schemas and the twins' --json
output. Apart from the API's shapes (tasks_app.schemas), which check their input against the services' rules."""

from __future__ import annotations

from ninja import Field, Schema


class WhoAmI(Schema):
    session: str
    profile: str
    host: str = Field(description="the host Chorus runs on")
    tier: str = Field(description="self, fleet-read or fleet-write: what your tools may do")
    task_id: int | None = Field(description="the task you are working on, if any")


class ReferenceText(Schema):
    id: str
    path: str
    start: int = Field(description="where the referenced text is now (first line)")
    end: int
    state: str = Field(description="current; stale: the text changed since the task was written; missing")
    stale: bool
    missing: bool
    text: str = Field(description="the document's text at start..end now (empty when missing)")


class CurrentTask(Schema):
    id: int
    title: str
    description: str
    status: str
    priority: int
    labels: list[str]
    references: list[ReferenceText]


class Ack(Schema):
    message: str
    task_id: int | None = None
    status: str | None = Field(None, description="the task's status after the call")


class Asked(Schema):
    question_id: str
    question: str
    options: list[str]
    message: str


class NextTask(Schema):
    id: int
    title: str
    status: str
    prompt: str = Field(description="the task's prompt: work on it now")


class Sent(Schema):
    message_id: str
    session: str
    message: str


class DocumentLine(Schema):
    number: int
    text: str


class DocumentText(Schema):
    path: str
    start: int
    end: int
    line_count: int = Field(description="lines in the whole document")
    lines: list[DocumentLine]


class SessionBrief(Schema):
    name: str
    profile: str
    status: str = Field(description="idle, busy, waiting, stopped or unknown")
    reason: str = Field(description="why Chorus sees that status")
    task_id: int | None = Field(description="the task it is working on, if any")


class SessionList(Schema):
    sessions: list[SessionBrief]


class TaskBrief(Schema):
    id: int
    title: str
    status: str
    priority: int
    labels: list[str]
    session: str = Field(description="the session working on it, if any")
    blocked_by: list[int] = Field(description="dependencies not done yet")


class TaskList(Schema):
    tasks: list[TaskBrief]


class ClaimBrief(Schema):
    glob: str = Field(description="the claimed paths: a glob relative to the project's root")
    task_id: int = Field(description="the task holding it")
    session: str = Field(description="the session of that task")
    source: str = Field(description="declared (by the task), agent (claim_paths), auto (an edit), person")
    reason: str
    yours: bool = Field(description="held by your task")


class ClaimList(Schema):
    message: str
    claims: list[ClaimBrief]


class EditDecision(Schema):
    allowed: bool
    message: str = Field(description="why: who holds the path, or that it is free or now claimed for your task")
    claimed: str | None = Field(None, description="the pattern claimed for your task by this edit, if one was")
    answer: str = Field("", description="what the agent's hook prints: its refusal, or nothing to let the edit go")

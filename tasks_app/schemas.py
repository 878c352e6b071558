"""API schemas of tasks: paired In/Out shapes, also what the `tasks` command prints with --json. Not the storage
format (events are), so they may change freely. Each Out schema is built from the read models in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from tasks_app import selectors
from tasks_app.models import Reference, Task

NewStatus = Literal["backlog", "ready"]
PersonStatus = Literal["backlog", "ready", "done", "failed", "cancelled"]


class RangeIn(Schema):
    path: str = Field(description="a document's path relative to PROJECT_ROOT")
    start: int = Field(description="first line, 1-based")
    end: int = Field(description="last line, inclusive")


class TaskIn(Schema):
    title: str
    description: str = Field("", description="Markdown")
    priority: int = Field(0, description="higher goes first")
    labels: list[str] = []
    depends_on: list[int] = Field([], description="tasks that must be done first")
    references: list[RangeIn] = []
    status: NewStatus = "ready"


class VersionIn(Schema):
    version: int = Field(description="the task's version you saw; a stale one is refused with 409")


class TaskUpdateIn(VersionIn):
    title: str | None = None
    description: str | None = None
    priority: int | None = None
    labels: list[str] | None = Field(None, description="the whole set (replaces the task's labels)")
    add_labels: list[str] = []
    remove_labels: list[str] = []


class StatusIn(VersionIn):
    status: PersonStatus
    note: str = Field("", description="result note (done), reason (failed, cancelled, unassigned, reopened)")


class AssignIn(VersionIn):
    session: str


class ReferenceIn(VersionIn, RangeIn):
    pass


class RefreshIn(VersionIn):
    start: int | None = Field(None, description="a new first line (default: the reference's)")
    end: int | None = Field(None, description="a new last line (default: the reference's)")


class DependencyIn(VersionIn):
    depends_on: int


class BulkItemIn(VersionIn):
    id: int


class BulkIn(Schema):
    items: list[BulkItemIn] = Field(description="the tasks, each with the version you saw")
    status: PersonStatus | None = None
    note: str = ""
    priority: int | None = None
    add_labels: list[str] = []
    remove_labels: list[str] = []
    archived: bool | None = None


class TaskFilter(Schema):
    status: str | None = None
    label: str | None = None
    session: str | None = None
    archived: bool = False
    include_archived: bool = False
    stale: bool | None = None
    q: str | None = None
    limit: int = Field(200, ge=1, le=1000)


class TaskOut(Schema):
    id: int
    title: str
    description: str
    priority: int
    labels: list[str]
    status: str
    archived: bool
    depends_on: list[int]
    blocked_by: list[int] = Field(description="dependencies not done yet")
    session: str
    dispatch_id: str
    message_id: str
    result_note: str
    stale_references: int = Field(description="references that are stale or whose document is missing")
    created_at: datetime
    updated_at: datetime
    status_since: datetime
    version: int

    @classmethod
    def many(cls, tasks: Iterable[Task]) -> list[TaskOut]:
        """The tasks, each with its dependencies not done yet (one query for all)."""
        tasks = list(tasks)
        blocked = selectors.blocked_by(tasks)
        fields = [name for name in TaskOut.model_fields if name != "blocked_by"]
        return [cls(**{name: getattr(task, name) for name in fields}, blocked_by=blocked[task.id]) for task in tasks]

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls.many([task])[0]


class ReferenceOut(Schema):
    id: str
    task_id: int
    path: str
    start: int
    end: int
    sha256: str
    snapshot: str
    state: str
    stale: bool
    missing: bool
    current_sha256: str
    diff: str = Field(description="unified diff of the snapshot against the text now at start..end (stale only)")
    added_at: datetime
    changed_at: datetime

    @staticmethod
    def resolve_stale(reference: Reference) -> bool:
        return reference.state == Reference.STALE

    @staticmethod
    def resolve_missing(reference: Reference) -> bool:
        return reference.state == Reference.MISSING


class TaskDetailOut(TaskOut):
    references: list[ReferenceOut]
    dependents: list[int]
    prompt: str | None = Field(description="the prompt assigning it would send now")
    prompt_error: str | None

    @classmethod
    def of(cls, task: Task) -> TaskDetailOut:
        prompt, error = selectors.prompt_preview(task)
        return cls(
            **TaskOut.of(task).model_dump(),
            references=[ReferenceOut.model_validate(r) for r in selectors.references(task.id)],
            dependents=selectors.dependents(task.id),
            prompt=prompt,
            prompt_error=error,
        )


class DependenciesOut(Schema):
    depends_on: list[int]
    blocked_by: list[int]
    dependents: list[int]


class DispatchFilter(Schema):
    limit: int = Field(100, ge=1, le=1000)


class DispatchOut(Schema):
    id: str
    task_id: int
    session: str
    message_id: str
    prompt: str
    references: list[dict] = Field(description="[{reference_id, path, start, end, sha256}] of the text sent")
    via: str
    actor: str
    git_head_at_dispatch: str | None
    git_head_at_completion: str | None
    outcome: str
    outcome_note: str
    dispatched_at: datetime
    started_at: datetime | None
    review_at: datetime | None
    finished_at: datetime | None


class SkippedOut(Schema):
    task_id: int
    reason: str


class DispatchRoundOut(Schema):
    assigned: list[TaskOut]
    skipped: list[SkippedOut]

    @classmethod
    def of(cls, done) -> DispatchRoundOut:
        """Out of a services.DispatchRound."""
        return cls(
            assigned=TaskOut.many(done.assigned),
            skipped=[SkippedOut(task_id=task_id, reason=reason) for task_id, reason in done.skipped],
        )


class PromptOut(Schema):
    prompt: str | None
    error: str | None


# --- The agent tools' results (tasks_app.services.agent): what an MCP tool returns as structured content and what
# `chorus agent ... --json` prints.


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

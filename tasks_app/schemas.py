"""API schemas of tasks: paired In/Out shapes. Not the storage format (events are), so they may change freely."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

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


class TaskDetailOut(TaskOut):
    references: list[ReferenceOut]
    dependents: list[int]
    prompt: str | None = Field(description="the prompt assigning it would send now")
    prompt_error: str | None


class DependenciesOut(Schema):
    depends_on: list[int]
    blocked_by: list[int]
    dependents: list[int]


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


class PromptOut(Schema):
    prompt: str | None
    error: str | None

"""API schemas of tasks: paired In/Out shapes, also what the `tasks` command prints with --json. Not the storage
format (events are), so they may change freely. Each Out schema is built from the read models in one place. The In
shapes say what the services accept (bounds, patterns), so a request the schema allows is refused only by the
tasks' current state (404, 409)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from events_app.schemas import LARGEST_INTEGER, BodyIn
from sessions_app.services import NAME
from tasks_app import changes, lifecycle, selectors
from tasks_app.claims import CLAIMS_MAX, GLOB_MAX
from tasks_app.models import PathClaim, Reference, Task
from tasks_app.services.review import COMMENT_MAX
from tasks_app.services.tasks import DESCRIPTION_MAX, LABEL, NOTE_MAX, PRIORITY_LIMIT, TITLE_MAX
from tasks_app.worktrees import BASE

NewStatus = Literal["backlog", "ready"]
Isolation = Literal["shared", "worktree"]
PersonStatus = Literal["backlog", "ready", "done", "failed", "cancelled"]
AnyStatus = Literal[lifecycle.STATUSES]
TaskNumber = Annotated[int, Field(ge=1, le=LARGEST_INTEGER, description="a task's number")]
Version = Annotated[int, Field(ge=0, le=LARGEST_INTEGER, description="the version you saw; a stale one is 409")]
Line = Annotated[int, Field(ge=1, le=LARGEST_INTEGER)]
Priority = Annotated[int, Field(ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT, description="higher goes first")]
Label = Annotated[str, Field(pattern=LABEL.pattern, description="1-40 letters, digits or . : / + - _")]
# One line with something in it besides white space (what str.strip() removes, which includes \x1c-\x1f and \x85).
Title = Annotated[str, Field(max_length=TITLE_MAX, pattern=r"^[^\n]*[^\s\x1c-\x1f\x85][^\n]*$")]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX, description="Markdown")]
Note = Annotated[str, Field(max_length=NOTE_MAX)]
Glob = Annotated[
    str,
    Field(
        min_length=1,
        max_length=GLOB_MAX,
        description="a glob relative to PROJECT_ROOT: src/api/** or src/api (a directory and all beneath), *.md",
    ),
]


class RangeIn(BodyIn):
    path: str = Field(min_length=1, description="a document's path relative to PROJECT_ROOT")
    start: Line = Field(description="first line, 1-based")
    end: Line = Field(description="last line, inclusive")


class TaskIn(BodyIn):
    title: Title
    description: Description = ""
    priority: Priority = 0
    labels: list[Label] = []
    depends_on: list[TaskNumber] = Field([], description="tasks that must be done first")
    references: list[RangeIn] = []
    status: NewStatus = "ready"
    isolation: Isolation = Field("shared", description="worktree: it works in a git worktree and branch of its own")
    claims: list[Glob] = Field([], max_length=CLAIMS_MAX, description="paths it will touch, claimed while at work")


class VersionIn(BodyIn):
    version: Version


class TaskUpdateIn(VersionIn):
    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    labels: list[Label] | None = Field(None, description="the whole set (replaces the task's labels)")
    add_labels: list[Label] = []
    remove_labels: list[Label] = []
    claims: list[Glob] | None = Field(
        None,
        max_length=CLAIMS_MAX,
        description="the whole set of paths it declares (taken at once while it holds claims)",
    )


class StatusIn(VersionIn):
    status: PersonStatus
    note: Note = Field("", description="result note (done), reason (failed, cancelled, unassigned, reopened)")


class AssignIn(VersionIn):
    session: str = Field(min_length=1, description="the session's name")
    confirm_not_agent: bool = Field(
        False, description="assign it even though the session runs no agent (a shell types the prompt in as commands)"
    )


class IsolationIn(VersionIn):
    isolation: Isolation


class WorktreeIn(VersionIn):
    base: str = Field("HEAD", pattern=BASE.pattern, description="a branch, tag or commit to start from")


class WorktreeStartIn(WorktreeIn):
    profile: str = Field(min_length=1, max_length=100, description="the agent profile of the new session")
    session: str | None = Field(None, pattern=NAME.pattern, description="its name (default task-N)")


class MergeIn(VersionIn):
    no_ff: bool = Field(False, description="always a merge commit, even when a fast-forward would do")


class WorktreeRemoveIn(VersionIn):
    force: bool = Field(False, description="remove it even though it holds commits not merged or uncommitted changes")


class ReferenceIn(VersionIn, RangeIn):
    pass


class RefreshIn(VersionIn):
    start: Line | None = Field(None, description="a new first line (default: the reference's)")
    end: Line | None = Field(None, description="a new last line (default: the reference's)")


class DependencyIn(VersionIn):
    depends_on: TaskNumber


class BulkItemIn(VersionIn):
    id: TaskNumber


class BulkIn(BodyIn):
    items: list[BulkItemIn] = Field(description="the tasks, each with the version you saw")
    status: PersonStatus | None = None
    note: Note = ""
    priority: Priority | None = None
    add_labels: list[Label] = []
    remove_labels: list[Label] = []
    archived: bool | None = None


class TaskFilter(Schema):
    status: AnyStatus | None = None
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
    isolation: Isolation = Field(description="where it works: the project's checkout, or a git worktree of its own")
    worktree_path: str = Field(description="its worktree's directory (empty: it never had one)")
    worktree_branch: str
    worktree_base: str = Field(description="the base its worktree was made from, as named")
    worktree_base_commit: str
    worktree_state: str = Field(description="empty (no worktree yet), active or removed")
    worktree_merged_commit: str = Field(description="the commit its last merge left the shared checkout at")
    claims: list[str] = Field(description="the paths it declares it will touch (globs)")
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


class ClaimOut(Schema):
    glob: str
    task_id: int = Field(description="the task holding it")
    session: str = Field(description="that task's session")
    source: str = Field(description="declared (the task's own), agent (claim_paths), auto (an edit), person")
    reason: str
    since: datetime

    @classmethod
    def many(cls, claims: Iterable[PathClaim]) -> list[ClaimOut]:
        return [cls.model_validate(claim) for claim in claims]


class TaskDetailOut(TaskOut):
    references: list[ReferenceOut]
    live_claims: list[ClaimOut] = Field(description="the claims it holds now (at work or in review)")
    dependents: list[int]
    prompt: str | None = Field(description="the prompt assigning it would send now")
    prompt_error: str | None

    @classmethod
    def of(cls, task: Task) -> TaskDetailOut:
        prompt, error = selectors.prompt_preview(task)
        return cls(
            **TaskOut.of(task).model_dump(),
            references=[ReferenceOut.model_validate(r) for r in selectors.references(task.id)],
            live_claims=ClaimOut.many(selectors.live_claims(task_id=task.id)),
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


class TouchedOut(Schema):
    path: str
    added: int | None
    removed: int | None
    shared_with: list[int] = Field(description="other tasks in progress when it changed (empty: this task's own)")


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
    touched: list[TouchedOut] = Field(default_factory=list, description="the files the task changed in this dispatch")

    @classmethod
    def many(cls, dispatches) -> list[DispatchOut]:
        dispatches = list(dispatches)
        touched = selectors.dispatch_changes(d.id for d in dispatches)
        return [cls.model_validate(d).model_copy(update={"touched": touched.get(d.id, [])}) for d in dispatches]


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


class CommentIn(BodyIn):
    path: str = Field(min_length=1, max_length=1000, description="one of the files the task changed")
    line: Line = Field(description="the line's number in the diff (the new file's; the old one's for a removed line)")
    text: str = Field(min_length=1, max_length=COMMENT_MAX)


class CommentOut(Schema):
    id: str
    path: str
    line: int
    text: str
    sent_in: str = Field(description="the message that took it to the agent; empty while it waits")
    at: datetime


class ChangedFileOut(Schema):
    path: str
    added: int | None = Field(description="lines added against HEAD when last seen; None for a binary file")
    removed: int | None
    sources: list[str] = Field(description="how the change was seen: hook (the agent's file tool), git")
    shared_with: list[int] = Field(description="other tasks in progress when it changed (empty: this task's own)")


class ReviewOut(Schema):
    task: TaskOut
    summary: str = Field(description="the agent's summary (finish_task), or the result note")
    base: str | None = Field(description="the commit the diff starts from (the start snapshot's HEAD)")
    files: list[ChangedFileOut]
    comments: list[CommentOut]
    attribution_off: str | None = Field(description="why no change is attributed (not a git repository)")

    @classmethod
    def of(cls, task: Task) -> ReviewOut:
        return cls(
            task=TaskOut.of(task),
            summary=task.result_note,
            base=changes.review_base(task),
            files=[ChangedFileOut.model_validate(f, from_attributes=True) for f in selectors.changed_files(task.id)],
            comments=[CommentOut.model_validate(c, from_attributes=True) for c in selectors.review_comments(task.id)],
            attribution_off=changes.attribution_off(),
        )


class FileChangeOut(Schema):
    path: str
    status: str = Field(description="git's letter: A added, M modified, D deleted, ...")
    added: int | None = Field(description="lines added (None: a binary file)")
    removed: int | None


class BranchDiffOut(Schema):
    """A task's branch against its base: its worktree as it is (commits and uncommitted changes to tracked files),
    or once the worktree is gone, the branch."""

    base_commit: str
    branch: str
    files: list[FileChangeOut]
    text: str = Field(description="the unified diff")
    untracked: list[str] = Field(description="files in the worktree git does not track (not in the diff)")


class MergeOut(Schema):
    task: TaskOut
    into: str = Field(description="the branch the shared checkout had out")
    commit: str = Field(description="where the merge left it")
    fast_forward: bool
    changed: bool = Field(description="false: the branch had nothing the checkout lacked")

    @classmethod
    def of(cls, task: Task, merged) -> MergeOut:
        return cls(task=TaskOut.of(task), **dataclasses.asdict(merged))


UsageBy = Literal["session", "task", "model", "day"]


class UsageFilter(Schema):
    by: UsageBy = Field("task", description="what the usage is summed per")


class UsageOut(Schema):
    key: str = Field(description="the session's name, the task's number, the model or the day (YYYY-MM-DD)")
    turns: int
    input: int = Field(description="input tokens, cache reads and writes not included")
    output: int
    cache_read: int
    cache_write: int
    cost: float = Field(description="US dollars at the prices in force when each turn was recorded")
    unpriced: int = Field(description="turns of a model the prices table does not know (counted at no cost)")


class UsageReportOut(Schema):
    by: UsageBy
    rows: list[UsageOut]
    today: float = Field(description="what today's turns cost, in US dollars")
    dispatch_paused: str | None = Field(description="why a budget pauses dispatch now (null: it does not)")

    @classmethod
    def of(cls, by: str) -> UsageReportOut:
        today = selectors.usage_of("day", selectors.today())
        pause = selectors.dispatch_pause()
        return cls(
            by=by,
            rows=[UsageOut.model_validate(row) for row in selectors.usage_totals(by)],
            today=today.cost if today else 0.0,
            dispatch_paused=pause.reason if pause else None,
        )


class ResumedOut(Schema):
    resumed: bool = Field(description="false when no budget paused dispatch")

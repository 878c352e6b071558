"""Read models of tasks, their labels, references, dispatches and agents' notes, of sessions' task slots and of live
path claims. Written only by tasks_app.projectors; rebuilt from the `task`, `assignment` and `claim` streams (notes
and denied edits: from the `agent` stream)."""

from __future__ import annotations

from django.db import models

from tasks_app.lifecycle import (  # noqa: F401  (the statuses, for the code that names them beside the models)
    ACTIVE,
    ASSIGNED,
    BACKLOG,
    CANCELLED,
    DONE,
    FAILED,
    FINISHED,
    IN_PROGRESS,
    READY,
    REVIEW,
    STATUSES,
)


class Task(models.Model):
    id = models.PositiveIntegerField(primary_key=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=0, db_index=True)
    labels = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=[(s, s) for s in STATUSES], db_index=True)
    archived = models.BooleanField(default=False, db_index=True)
    depends_on = models.JSONField(default=list)
    # the path claims the task declares (tasks_app.claims), live while it is at work or in review
    claims = models.JSONField(default=list)
    session = models.CharField(max_length=40, blank=True, db_index=True)
    dispatch_id = models.CharField(max_length=32, blank=True)
    message_id = models.CharField(max_length=40, blank=True)
    # position of the TaskAssigned event, and of the event that showed the agent at work (see TaskStarted)
    assigned_position = models.BigIntegerField(null=True)
    started_position = models.BigIntegerField(null=True)
    result_note = models.TextField(blank=True)
    # references ever added (names the next one) and those now stale or missing (filters, dispatch)
    references_added = models.PositiveIntegerField(default=0)
    stale_references = models.PositiveIntegerField(default=0, db_index=True)
    # where it works: "shared" (the project's checkout) or "worktree"; its worktree, once made (tasks_app.worktrees)
    isolation = models.CharField(max_length=8, default="shared")
    worktree_path = models.CharField(max_length=1000, blank=True, db_index=True)
    worktree_branch = models.CharField(max_length=100, blank=True)
    worktree_base = models.CharField(max_length=200, blank=True)
    worktree_base_commit = models.CharField(max_length=64, blank=True)
    # "" (none yet), active or removed; the commit its last merge left the shared checkout at
    worktree_state = models.CharField(max_length=8, blank=True)
    worktree_merged_commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    status_since = models.DateTimeField()
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_task"
        ordering = ["-priority", "id"]
        indexes = [
            # the board: an open column's most urgent, a finished one's last to finish, every column's count from
            # the index alone
            models.Index(fields=["status", "-priority", "id"], name="chorus_task_urgent"),
            models.Index(fields=["status", "status_since"], name="chorus_task_finished"),
            models.Index(fields=["status", "archived", "version"], name="chorus_task_counts"),
            models.Index(fields=["id"], condition=models.Q(archived=True), name="chorus_task_archived"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.title}"


class TaskLabel(models.Model):
    """One row per (task, label): SQLite cannot look inside a JSON list, and the admin and API filter by label."""

    key = models.CharField(max_length=60, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    label = models.CharField(max_length=40, db_index=True)

    class Meta:
        db_table = "chorus_task_label"
        ordering = ["label", "task_id"]
        # the board's list of labels from the index alone
        indexes = [models.Index(fields=["label", "task_id"], name="chorus_task_label_tasks")]

    def __str__(self) -> str:
        return self.label


class TaskDependency(models.Model):
    """One row per (task, task it waits for), indexed both ways: a task's dependents are found without reading
    every task (the JSON list on Task cannot be searched by an index)."""

    key = models.CharField(max_length=24, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    depends_on = models.PositiveIntegerField(db_index=True)

    class Meta:
        db_table = "chorus_task_dependency"
        ordering = ["task_id", "depends_on"]

    def __str__(self) -> str:
        return f"#{self.task_id} after #{self.depends_on}"


class Reference(models.Model):
    CURRENT, STALE, MISSING = "current", "stale", "missing"

    id = models.CharField(max_length=30, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    number = models.PositiveIntegerField()
    path = models.CharField(max_length=1000, db_index=True)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    snapshot = models.TextField()
    state = models.CharField(max_length=8, default=CURRENT, db_index=True)
    current_sha256 = models.CharField(max_length=64, blank=True)
    diff = models.TextField(blank=True)
    added_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "chorus_task_reference"
        ordering = ["task_id", "number"]

    def __str__(self) -> str:
        return f"{self.path}:{self.start}-{self.end}"


class Dispatch(models.Model):
    """The audit record of one assignment: what was sent to which session, and the repository before and after."""

    id = models.CharField(max_length=32, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    session = models.CharField(max_length=40, db_index=True)
    message_id = models.CharField(max_length=40)
    prompt = models.TextField()
    references = models.JSONField(default=list)
    via = models.CharField(max_length=10)
    actor = models.CharField(max_length=100, blank=True)
    # None, as in the events: PROJECT_ROOT was not in a git repository (or the task is not finished yet)
    git_head_at_dispatch = models.CharField(max_length=64, null=True)  # noqa: DJ001
    git_head_at_completion = models.CharField(max_length=64, null=True)  # noqa: DJ001
    # "" while the task is at work; then done, failed, cancelled or unassigned
    outcome = models.CharField(max_length=12, blank=True)
    outcome_note = models.TextField(blank=True)
    position = models.BigIntegerField(db_index=True)
    dispatched_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    review_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "chorus_task_dispatch"
        ordering = ["-position"]
        verbose_name_plural = "dispatches"

    def __str__(self) -> str:
        return f"task {self.task_id} -> {self.session}"


class SessionSlot(models.Model):
    """A session's task slot: the task it works on (None when free) and the `assignment` stream's version."""

    session = models.CharField(max_length=40, primary_key=True)
    task_id = models.PositiveIntegerField(null=True)
    since = models.DateTimeField()
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "chorus_task_session_slot"
        ordering = ["session"]

    def __str__(self) -> str:
        return f"{self.session}: {self.task_id or 'free'}"


class PathClaim(models.Model):
    """A live path claim: a glob held by a task (and so by its session) while it is at work or in review."""

    key = models.CharField(max_length=520, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    session = models.CharField(max_length=40, db_index=True)
    glob = models.CharField(max_length=500)
    source = models.CharField(max_length=10)
    reason = models.TextField(blank=True)
    since = models.DateTimeField()
    position = models.BigIntegerField()

    class Meta:
        db_table = "chorus_path_claim"
        ordering = ["glob", "task_id"]

    def __str__(self) -> str:
        return f"{self.glob} (task {self.task_id})"


class EditDenial(models.Model):
    """An edit a session's agent attempted on a path another task's claim covers: refused before it happened
    (EditDenied; `tool` the agent's file tool, or `git commit`), or found by git after the fact (ClaimedPathChanged;
    `tool` "git")."""

    position = models.BigIntegerField(primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    task_id = models.PositiveIntegerField(null=True)
    tool = models.CharField(max_length=40)
    path = models.CharField(max_length=1000)
    glob = models.CharField(max_length=500)
    holder_task = models.PositiveIntegerField(db_index=True)
    holder_session = models.CharField(max_length=40)
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_edit_denial"
        ordering = ["-position"]

    def __str__(self) -> str:
        return f"{self.session}: {self.path}"


class TaskNote(models.Model):
    """A progress note the task's agent wrote (its report_progress tool): the rows of the task's timeline that are
    neither transitions nor dispatches. Projected from the session's `agent` stream, so the task's version does not
    move with each note."""

    position = models.BigIntegerField(primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    session = models.CharField(max_length=40)
    note = models.TextField()
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_task_note"
        ordering = ["position"]

    def __str__(self) -> str:
        return f"task {self.task_id}: {self.note[:40]}"


class TaskChange(models.Model):
    """One file a task changed, as its FilesChanged events tell (the `review` stream): lines added and removed
    against HEAD when last seen, how it was seen (hook, git), and the other tasks it is shared with (none: the
    task's own)."""

    key = models.CharField(max_length=1020, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    path = models.CharField(max_length=1000)
    added = models.IntegerField(null=True)
    removed = models.IntegerField(null=True)
    sources = models.JSONField(default=list)
    shared_with = models.JSONField(default=list)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "chorus_task_change"
        ordering = ["task_id", "path"]

    def __str__(self) -> str:
        return f"task {self.task_id}: {self.path}"


class DispatchChange(models.Model):
    """One file a task changed during one of its dispatches (FilesChanged with its dispatch): the audit of that
    dispatch says what it touched."""

    key = models.CharField(max_length=1040, primary_key=True)
    dispatch_id = models.CharField(max_length=32, db_index=True)
    path = models.CharField(max_length=1000)
    added = models.IntegerField(null=True)
    removed = models.IntegerField(null=True)
    shared_with = models.JSONField(default=list)

    class Meta:
        db_table = "chorus_dispatch_change"
        ordering = ["dispatch_id", "path"]

    def __str__(self) -> str:
        return f"dispatch {self.dispatch_id}: {self.path}"


class ChangeSnapshot(models.Model):
    """The checkout when a task went to work (`start`) and when it last reached review (`review`)."""

    key = models.CharField(max_length=24, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    moment = models.CharField(max_length=8)
    dispatch_id = models.CharField(max_length=32)
    git_head = models.CharField(max_length=64, null=True)  # noqa: DJ001  (None outside a git repository)
    files = models.JSONField(default=list)
    taken_at = models.DateTimeField()

    class Meta:
        db_table = "chorus_task_change_snapshot"
        ordering = ["task_id", "moment"]

    def __str__(self) -> str:
        return f"task {self.task_id} at {self.moment}"


class ReviewComment(models.Model):
    """A person's comment on a line of a task's diff; `sent_in`: the message that took it to the agent ("" while
    it waits for the next request for changes)."""

    id = models.CharField(max_length=40, primary_key=True)
    task_id = models.PositiveIntegerField(db_index=True)
    path = models.CharField(max_length=1000)
    line = models.PositiveIntegerField()
    text = models.TextField()
    sent_in = models.CharField(max_length=40, blank=True)
    position = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_task_review_comment"
        ordering = ["task_id", "position"]

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class UsageTotal(models.Model):
    """Tokens and cost summed per session, task, model or day (`by`), for one `key` (its name, number or date)."""

    BY = ("session", "task", "model", "day")

    id = models.CharField(max_length=300, primary_key=True)  # "<by>:<key>"
    by = models.CharField(max_length=10, db_index=True)
    key = models.CharField(max_length=280)
    turns = models.PositiveIntegerField(default=0)
    input = models.BigIntegerField(default=0)
    output = models.BigIntegerField(default=0)
    cache_read = models.BigIntegerField(default=0)
    cache_write = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)
    unpriced = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "chorus_usage_total"
        ordering = ["by", "key"]

    def __str__(self) -> str:
        return self.id

    @property
    def cost(self) -> float:
        return self.cost_micros / 1_000_000


class UsageCursor(models.Model):
    """How far the worker has counted one record file of a session's agent (see tasks_app.events.UsageRecorded)."""

    path = models.CharField(max_length=1000, primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    inode = models.BigIntegerField(default=0)
    offset = models.BigIntegerField(default=0)
    memo = models.JSONField(default=dict)

    class Meta:
        db_table = "chorus_usage_cursor"

    def __str__(self) -> str:
        return f"{self.path}@{self.offset}"


class DispatchPause(models.Model):
    """The fleet's dispatch pause (one row, id 1) while a budget holds it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)
    budget = models.CharField(max_length=10, blank=True)
    day = models.CharField(max_length=10, blank=True)
    task = models.IntegerField(null=True)
    since = models.DateTimeField(null=True)

    class Meta:
        db_table = "chorus_dispatch_pause"

    def __str__(self) -> str:
        return self.reason or "dispatch running"


class ApprovalDecision(models.Model):
    """A permission request of a session's agent and what the approval policy or a person decided (ApprovalDecided)."""

    position = models.BigIntegerField(primary_key=True)
    session = models.CharField(max_length=40, db_index=True)
    task_id = models.PositiveIntegerField(null=True)
    tool = models.CharField(max_length=80)
    subject = models.TextField()
    decision = models.CharField(max_length=8)
    rule = models.CharField(max_length=80)
    reason = models.TextField()
    who = models.CharField(max_length=16)
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_approval_decision"
        ordering = ["-position"]

    def __str__(self) -> str:
        return f"{self.session}: {self.decision} {self.subject[:60]}"


class ApprovalSwitch(models.Model):
    """The fleet-wide pause of approval policies (one row once it was ever switched): while paused, every decision
    is the person's."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    paused = models.BooleanField(default=False)
    reason = models.TextField(default="")
    at = models.DateTimeField()

    class Meta:
        db_table = "chorus_approval_switch"

    def __str__(self) -> str:
        return "approvals paused" if self.paused else "approvals in force"

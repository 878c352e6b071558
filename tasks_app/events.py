"""Events of tasks (stream `task`, id = the task's number) and of sessions' task slots (stream `assignment`, id = the
session's name).

A task's references live in its own stream, so the task's version covers them: whoever edits a task with the
version they saw also saw its references. A session's slot has a stream of its own (not the session stream, whose
version the worker bumps on every status change): claiming it with the expected version is what makes "one task per
session" hold with several dispatchers and people assigning at the same moment.

Live path claims are one stream for the whole project (`claim`, id "all"): every claim is appended at the version
read beside the claims it was checked against, so two overlapping claims can never both be taken (design.md 5e.1).
"""

from __future__ import annotations

from events_app.domain import event

# --- task: what it is --------------------------------------------------------------------------------------------


@event("task")
class TaskCreated:
    title: str
    description: str
    priority: int
    labels: list
    status: str


@event("task")
class TaskRetitled:
    title: str


@event("task")
class TaskDescriptionChanged:
    description: str


@event("task")
class TaskReprioritised:
    priority: int


@event("task")
class TaskLabelAdded:
    label: str


@event("task")
class TaskLabelRemoved:
    label: str


@event("task")
class TaskDependencyAdded:
    """The task waits for task `depends_on` to be done."""

    depends_on: int


@event("task")
class TaskDependencyRemoved:
    depends_on: int


@event("task")
class TaskArchived:
    pass


@event("task")
class TaskUnarchived:
    pass


# --- task: its lifecycle -----------------------------------------------------------------------------------------


@event("task")
class TaskReadied:
    """backlog -> ready."""


@event("task")
class TaskShelved:
    """ready -> backlog."""


@event("task")
class TaskAssigned:
    """The prompt was built and queued for the session: the audit record of one dispatch.

    `references`: [{reference_id, path, start, end, sha256}] of the text that went into `prompt` (as queued);
    `git_head`: PROJECT_ROOT's HEAD at that moment (None outside a git repository); `via`: person, dispatch,
    handoff (another session's agent assigned it with its assign_task tool), or agent (the session's agent pulled
    it with its next_task tool: no prompt was queued, `message_id` is empty and `prompt` is what the tool gave the
    agent)."""

    dispatch_id: str
    session: str
    message_id: str
    prompt: str
    references: list
    git_head: str | None
    via: str


@event("task")
class TaskStarted:
    """assigned -> in_progress: the agent went busy after its prompt was typed (`evidence_position`: the event
    that showed it, after which the agent's return to idle means it finished)."""

    evidence: str
    evidence_position: int


@event("task")
class TaskSentToReview:
    """in_progress -> review: the agent is back at its prompt; a person decides."""

    evidence: str


@event("task")
class TaskFinished:
    """assigned / in_progress -> review: the task's agent said it is done (its finish_task tool), in its own words;
    a person decides."""

    summary: str
    git_head: str | None


@event("task")
class TaskChangesRequested:
    """review -> in_progress: a person's review comments (`comments`: their ids) were queued for the task's session
    as one message (`message_id`); the agent's return to idle after `evidence_position` sends it to review again."""

    message_id: str
    comments: list
    evidence_position: int


@event("task")
class TaskDone:
    note: str
    git_head: str | None


@event("task")
class TaskFailed:
    reason: str
    git_head: str | None


@event("task")
class TaskCancelled:
    reason: str


@event("task")
class TaskUnassigned:
    """assigned / in_progress -> ready: taken back from its session by a person."""

    reason: str


@event("task")
class TaskReopened:
    """review / done / failed / cancelled -> ready."""

    reason: str


# --- task: where it works (isolation; see tasks_app.worktrees) -------------------------------------------------


@event("task")
class TaskIsolationChosen:
    """ "shared" (the project's checkout, the default) or "worktree" (a git worktree and branch of its own)."""

    isolation: str


@event("task")
class WorktreeCreated:
    """`git worktree add` made `path` on the new `branch` from `base` (as the person named it; `base_commit`: what
    it named then)."""

    path: str
    branch: str
    base: str
    base_commit: str


@event("task")
class WorktreeMerged:
    """The branch was merged into `into`, the branch the shared checkout had out, leaving it at `commit`."""

    branch: str
    into: str
    commit: str
    fast_forward: bool


@event("task")
class WorktreeRemoved:
    """The worktree and its branch are gone; `branch_tip` was the branch's last commit (None: it was gone already),
    and `dropped` says what a forced removal threw away (empty when nothing was)."""

    path: str
    branch: str
    branch_tip: str | None
    forced: bool
    dropped: str


# --- task: its references to document line ranges ----------------------------------------------------------------


@event("task")
class ReferenceAdded:
    reference_id: str
    path: str
    start: int
    end: int
    sha256: str
    snapshot: str


@event("task")
class ReferenceReanchored:
    """The snapshot's text was found intact at other lines (or intact again at its own)."""

    reference_id: str
    start: int
    end: int


@event("task")
class ReferenceStale:
    """The snapshot's text is no longer in the document; `start`..`end` is where it most likely is now and `diff`
    compares the snapshot with the text there."""

    reference_id: str
    start: int
    end: int
    current_sha256: str
    diff: str


@event("task")
class ReferenceMissing:
    """The referenced document is gone."""

    reference_id: str


@event("task")
class ReferenceRefreshed:
    """A person accepted the document's current text at `start`..`end` as the reference's new snapshot."""

    reference_id: str
    start: int
    end: int
    sha256: str
    snapshot: str


@event("task")
class ReferenceRemoved:
    reference_id: str


# --- review: what a task changed, and a person's comments on it (its own stream, id = the task's number, so the
# worker noticing changes never makes a person's view of the task stale) --------------------------------------------


@event("review")
class FilesChanged:
    """Files changed while the task was at work: `files` [{path, added, removed}] (lines against HEAD; None for a
    binary file, or unknown); `source` hook (the agent's file tool named them, so they are the task's alone) or
    git (the worker saw the working tree change); `shared_with`: the other tasks at work then, which the change
    may equally be theirs (empty: the task's own); `dispatch_id`: the task's dispatch then, so the audit of a
    dispatch says what it touched ("" in events recorded before it was kept)."""

    files: list
    source: str
    shared_with: list
    dispatch_id: str = ""


@event("review")
class ChangesSnapshotTaken:
    """The checkout when the task went to work (`moment` start) or reached review: HEAD and `files`
    [{path, status, added, removed}], the paths git reported dirty then. The review's diff is against the start's
    HEAD."""

    moment: str
    dispatch_id: str
    git_head: str | None
    files: list


@event("review")
class ReviewCommented:
    """A person's comment on line `line` of `path` in the task's diff."""

    comment_id: str
    path: str
    line: int
    text: str


# --- assignment: one session's slot ------------------------------------------------------------------------------


@event("assignment")
class SessionSlotClaimed:
    task_id: int
    dispatch_id: str


@event("assignment")
class SessionSlotReleased:
    task_id: int
    reason: str


# --- task: the paths it declares it will touch -------------------------------------------------------------------


@event("task")
class TaskClaimDeclared:
    """The task will touch the paths `glob` covers (tasks_app.claims): claimed for it while it is at work or in
    review."""

    glob: str


@event("task")
class TaskClaimWithdrawn:
    glob: str


# --- claim: every live path claim, one stream (id "all") -------------------------------------------------------


@event("claim")
class PathsClaimed:
    """`globs` are held by task `task_id` (and so by its session) until it leaves work and review or releases
    them. `source`: declared (the task's own claims, when it went to work), agent (its claim_paths tool), auto (an
    edit of an unclaimed path by the task's agent), person (the task's claims edited while it held them)."""

    task_id: int
    session: str
    globs: list
    source: str
    reason: str


@event("claim")
class PathsReleased:
    task_id: int
    globs: list
    reason: str


# --- agent: an edit refused before it happened ------------------------------------------------------------------


@event("agent")
class EditDenied:
    """The session's agent tried to change `path` with `tool`, which a claim of another task covers (`glob`,
    held by task `holder_task` of session `holder_session`); its file tool was refused before the edit."""

    task_id: int | None
    tool: str
    path: str
    glob: str
    holder_task: int
    holder_session: str


@event("agent")
class ClaimedPathChanged:
    """Git saw `path` changed by the session's task `task_id` (attributed to it, maybe shared), though a claim of
    another task covers it (`glob`, held by task `holder_task` of session `holder_session`): an edit no hook guarded
    (Bash, an agent without a pre-edit hook), found after the fact."""

    task_id: int
    path: str
    glob: str
    holder_task: int
    holder_session: str


# --- usage: the tokens and cost of a session's turns (stream `usage`, id = the session's name) --------------------


@event("usage")
class UsageRecorded:
    """The turns one look at a session's records found, batched per session and tick: per model the number of
    turns, their tokens and cost (millionths of a dollar at the prices in force, `cost_micros`; `unpriced` turns of
    a model without a price count no cost). `task`: the task last dispatched to the session then (at work, or
    just finished; None: none); `day`: the
    local date of the look. `files`: each file's cursor after the look (path -> inode, offset, memo), so a worker
    that restarts reads on from there and counts nothing twice. `bad_lines`: lines skipped as not JSON."""

    task: int | None
    day: str
    models: dict
    files: dict
    bad_lines: int = 0


# --- dispatch: paused by a budget (stream `dispatch`, id = "fleet") ------------------------------------------------


@event("dispatch")
class DispatchPaused:
    """Spend crossed a budget: dispatch and next_task give no task until a person resumes (or, for the daily budget,
    until the next day). `budget`: "day" or "task"; `day`: the local date it was crossed; `task`: the task whose
    budget it was (None for the daily one). Nothing running is stopped."""

    reason: str
    budget: str
    day: str
    task: int | None = None


@event("dispatch")
class DispatchResumed:
    by: str


# --- approval: what the approval policy (or a person) decided about an agent's permission request ------------------


@event("approval")
class ApprovalDecided:
    """A permission request of the session's agent (stream id: the session) decided: `subject` is the exact command
    or path, `rule` the rule that decided (`guard.*`, `paused`, `default` or a rule of chorus.toml), `who` the
    policy or a person."""

    tool: str
    subject: str
    decision: str
    rule: str
    reason: str
    who: str
    task_id: int | None


# Stream `approvals`, id `fleet`: the fleet-wide switch that makes every decision ask.
@event("approvals")
class ApprovalsPaused:
    reason: str


@event("approvals")
class ApprovalsResumed:
    reason: str

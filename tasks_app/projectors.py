"""Projectors of the task read models. They apply what the services decided; they never read documents or tmux,
so a replay gives the same rows whatever the files say today. A transition's new status comes from the lifecycle
(tasks_app.lifecycle), never checked here: the log is what happened."""

from __future__ import annotations

from events_app.projection import Projector, Rows, handles, register
from events_app.store import RecordedEvent
from sessions_app.events import AgentProgressReported
from tasks_app import events as ev
from tasks_app import lifecycle
from tasks_app.models import (
    ApprovalDecision,
    ApprovalSwitch,
    ChangeSnapshot,
    Dispatch,
    DispatchChange,
    DispatchPause,
    EditDenial,
    PathClaim,
    Reference,
    ReviewComment,
    SessionSlot,
    Task,
    TaskChange,
    TaskDependency,
    TaskLabel,
    TaskNote,
    UsageCursor,
    UsageTotal,
)
from tasks_app.worktrees import ACTIVE_WORKTREE, REMOVED_WORKTREE

_UNSOUND = (Reference.STALE, Reference.MISSING)


def _label_key(task_id: int, label: str) -> str:
    return f"{task_id}:{label}"


def _dependency_key(task_id: int, depends_on: int) -> str:
    return f"{task_id}:{depends_on}"


@register
class TaskProjector(Projector):
    name = "tasks"
    models = (Task, TaskLabel, TaskDependency, Reference, Dispatch)

    def _task(self, recorded: RecordedEvent, rows: Rows) -> Task:
        task = rows.get(Task, int(recorded.stream_id))
        task.version = recorded.version
        task.updated_at = recorded.recorded_at
        return task

    def _moved(self, recorded: RecordedEvent, rows: Rows) -> Task:
        """The task after a transition's event: in the status the lifecycle says it leads to."""
        task = self._task(recorded, rows)
        task.status = lifecycle.status_after(recorded.event_type)
        task.status_since = recorded.recorded_at
        return task

    def _finish_dispatch(self, task: Task, recorded: RecordedEvent, rows: Rows, outcome: str, note: str) -> None:
        dispatch = rows.get(Dispatch, task.dispatch_id) if task.dispatch_id else None
        if dispatch is None or dispatch.outcome:
            return
        dispatch.outcome, dispatch.outcome_note = outcome, note
        dispatch.finished_at = recorded.recorded_at
        dispatch.git_head_at_completion = getattr(recorded.event, "git_head", None)
        rows.save(dispatch)

    @handles(ev.TaskCreated)
    def created(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task_id = int(recorded.stream_id)
        rows.save(
            Task(
                id=task_id,
                title=e.title,
                description=e.description,
                priority=e.priority,
                labels=sorted(e.labels),
                status=e.status,
                depends_on=[],
                created_at=recorded.recorded_at,
                updated_at=recorded.recorded_at,
                status_since=recorded.recorded_at,
                version=recorded.version,
            )
        )
        for label in e.labels:
            rows.save(TaskLabel(key=_label_key(task_id, label), task_id=task_id, label=label))

    @handles(ev.TaskRetitled)
    def retitled(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.title = recorded.event.title
        rows.save(task)

    @handles(ev.TaskDescriptionChanged)
    def described(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.description = recorded.event.description
        rows.save(task)

    @handles(ev.TaskReprioritised)
    def reprioritised(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.priority = recorded.event.priority
        rows.save(task)

    @handles(ev.TaskLabelAdded)
    def label_added(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        label = recorded.event.label
        task.labels = sorted({*task.labels, label})
        rows.save(task)
        rows.save(TaskLabel(key=_label_key(task.id, label), task_id=task.id, label=label))

    @handles(ev.TaskLabelRemoved)
    def label_removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        label = recorded.event.label
        task.labels = [existing for existing in task.labels if existing != label]
        rows.save(task)
        row = rows.get(TaskLabel, _label_key(task.id, label))
        if row is not None:
            rows.delete(row)

    @handles(ev.TaskDependencyAdded)
    def dependency_added(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.depends_on = sorted({*task.depends_on, recorded.event.depends_on})
        rows.save(task)
        key = _dependency_key(task.id, recorded.event.depends_on)
        rows.save(TaskDependency(key=key, task_id=task.id, depends_on=recorded.event.depends_on))

    @handles(ev.TaskDependencyRemoved)
    def dependency_removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.depends_on = [d for d in task.depends_on if d != recorded.event.depends_on]
        rows.save(task)
        row = rows.get(TaskDependency, _dependency_key(task.id, recorded.event.depends_on))
        if row is not None:
            rows.delete(row)

    @handles(ev.TaskClaimDeclared, ev.TaskClaimWithdrawn)
    def claims_declared(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        others = [glob for glob in task.claims if glob != recorded.event.glob]
        task.claims = (
            sorted([*others, recorded.event.glob]) if isinstance(recorded.event, ev.TaskClaimDeclared) else others
        )
        rows.save(task)

    @handles(ev.TaskArchived, ev.TaskUnarchived)
    def archived(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.archived = isinstance(recorded.event, ev.TaskArchived)
        rows.save(task)

    @handles(ev.TaskIsolationChosen)
    def isolation_chosen(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.isolation = recorded.event.isolation
        rows.save(task)

    @handles(ev.WorktreeCreated)
    def worktree_created(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task = self._task(recorded, rows)
        task.worktree_path, task.worktree_branch = e.path, e.branch
        task.worktree_base, task.worktree_base_commit = e.base, e.base_commit
        task.worktree_state, task.worktree_merged_commit = ACTIVE_WORKTREE, ""
        rows.save(task)

    @handles(ev.WorktreeMerged)
    def worktree_merged(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.worktree_merged_commit = recorded.event.commit
        rows.save(task)

    @handles(ev.WorktreeRemoved)
    def worktree_removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._task(recorded, rows)
        task.worktree_state = REMOVED_WORKTREE
        rows.save(task)

    @handles(ev.TaskReadied, ev.TaskShelved, ev.TaskReopened)
    def moved(self, recorded: RecordedEvent, rows: Rows) -> None:
        rows.save(self._moved(recorded, rows))

    @handles(ev.TaskAssigned)
    def assigned(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task = self._moved(recorded, rows)
        task.session, task.dispatch_id, task.message_id = e.session, e.dispatch_id, e.message_id
        task.assigned_position, task.started_position = recorded.position, None
        task.result_note = ""
        rows.save(task)
        rows.save(
            Dispatch(
                id=e.dispatch_id,
                task_id=task.id,
                session=e.session,
                message_id=e.message_id,
                prompt=e.prompt,
                references=e.references,
                via=e.via,
                actor=str(recorded.metadata.get("actor", ""))[:100],
                git_head_at_dispatch=e.git_head,
                position=recorded.position,
                dispatched_at=recorded.recorded_at,
            )
        )

    @handles(ev.TaskStarted)
    def started(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        task.started_position = recorded.event.evidence_position
        rows.save(task)
        dispatch = rows.get(Dispatch, task.dispatch_id)
        dispatch.started_at = recorded.recorded_at
        rows.save(dispatch)

    @handles(ev.TaskSentToReview)
    def sent_to_review(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        rows.save(task)
        dispatch = rows.get(Dispatch, task.dispatch_id)
        dispatch.review_at = recorded.recorded_at
        rows.save(dispatch)

    @handles(ev.TaskFinished)
    def finished(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        task.result_note = recorded.event.summary
        rows.save(task)
        dispatch = rows.get(Dispatch, task.dispatch_id)
        dispatch.review_at = recorded.recorded_at
        rows.save(dispatch)

    @handles(ev.TaskChangesRequested)
    def changes_requested(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        task.message_id = recorded.event.message_id
        task.started_position = recorded.event.evidence_position
        rows.save(task)

    @handles(ev.TaskDone)
    def done(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        task.result_note = recorded.event.note
        rows.save(task)
        self._finish_dispatch(task, recorded, rows, task.status, recorded.event.note)

    @handles(ev.TaskFailed, ev.TaskCancelled)
    def failed(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        task.result_note = recorded.event.reason
        rows.save(task)
        self._finish_dispatch(task, recorded, rows, task.status, recorded.event.reason)

    @handles(ev.TaskUnassigned)
    def unassigned(self, recorded: RecordedEvent, rows: Rows) -> None:
        task = self._moved(recorded, rows)
        rows.save(task)
        self._finish_dispatch(task, recorded, rows, "unassigned", recorded.event.reason)

    # references

    def _reference(self, recorded: RecordedEvent, rows: Rows) -> tuple[Task, Reference]:
        task = self._task(recorded, rows)
        reference = rows.get(Reference, recorded.event.reference_id)
        reference.changed_at = recorded.recorded_at
        return task, reference

    def _set_state(self, task: Task, reference: Reference, state: str) -> None:
        """Keep the task's count of unsound (stale or missing) references in step with each reference's state."""
        task.stale_references += (state in _UNSOUND) - (reference.state in _UNSOUND)
        reference.state = state

    @handles(ev.ReferenceAdded)
    def reference_added(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task = self._task(recorded, rows)
        task.references_added += 1
        rows.save(task)
        rows.save(
            Reference(
                id=e.reference_id,
                task_id=task.id,
                number=task.references_added,
                path=e.path,
                start=e.start,
                end=e.end,
                sha256=e.sha256,
                snapshot=e.snapshot,
                added_at=recorded.recorded_at,
                changed_at=recorded.recorded_at,
            )
        )

    @handles(ev.ReferenceReanchored)
    def reference_reanchored(self, recorded: RecordedEvent, rows: Rows) -> None:
        task, reference = self._reference(recorded, rows)
        self._set_state(task, reference, Reference.CURRENT)
        reference.start, reference.end = recorded.event.start, recorded.event.end
        reference.current_sha256, reference.diff = "", ""
        rows.save(task)
        rows.save(reference)

    @handles(ev.ReferenceStale)
    def reference_stale(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task, reference = self._reference(recorded, rows)
        self._set_state(task, reference, Reference.STALE)
        reference.start, reference.end = e.start, e.end
        reference.current_sha256, reference.diff = e.current_sha256, e.diff
        rows.save(task)
        rows.save(reference)

    @handles(ev.ReferenceMissing)
    def reference_missing(self, recorded: RecordedEvent, rows: Rows) -> None:
        task, reference = self._reference(recorded, rows)
        self._set_state(task, reference, Reference.MISSING)
        reference.current_sha256, reference.diff = "", ""
        rows.save(task)
        rows.save(reference)

    @handles(ev.ReferenceRefreshed)
    def reference_refreshed(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        task, reference = self._reference(recorded, rows)
        self._set_state(task, reference, Reference.CURRENT)
        reference.start, reference.end, reference.sha256, reference.snapshot = e.start, e.end, e.sha256, e.snapshot
        reference.current_sha256, reference.diff = "", ""
        rows.save(task)
        rows.save(reference)

    @handles(ev.ReferenceRemoved)
    def reference_removed(self, recorded: RecordedEvent, rows: Rows) -> None:
        task, reference = self._reference(recorded, rows)
        self._set_state(task, reference, Reference.CURRENT)
        rows.save(task)
        rows.delete(reference)


@register
class SessionSlotProjector(Projector):
    name = "task_slots"
    models = (SessionSlot,)

    @handles(ev.SessionSlotClaimed, ev.SessionSlotReleased)
    def changed(self, recorded: RecordedEvent, rows: Rows) -> None:
        slot = rows.get(SessionSlot, recorded.stream_id) or SessionSlot(session=recorded.stream_id)
        slot.task_id = recorded.event.task_id if isinstance(recorded.event, ev.SessionSlotClaimed) else None
        slot.since = recorded.recorded_at
        slot.version = recorded.version
        rows.save(slot)


@register
class TaskNoteProjector(Projector):
    name = "task_notes"
    models = (TaskNote,)

    @handles(AgentProgressReported)
    def noted(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        if e.task_id is None:
            return  # progress of an agent without a task: only its session's list of calls shows it
        rows.save(
            TaskNote(
                position=recorded.position,
                task_id=e.task_id,
                session=recorded.stream_id,
                note=e.note,
                at=recorded.recorded_at,
            )
        )


def claim_key(task_id: int, glob: str) -> str:
    return f"{task_id}:{glob}"


@register
class PathClaimProjector(Projector):
    name = "path_claims"
    models = (PathClaim,)

    @handles(ev.PathsClaimed)
    def claimed(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        for glob in e.globs:
            rows.save(
                PathClaim(
                    key=claim_key(e.task_id, glob),
                    task_id=e.task_id,
                    session=e.session,
                    glob=glob,
                    source=e.source,
                    reason=e.reason,
                    since=recorded.recorded_at,
                    position=recorded.position,
                )
            )

    @handles(ev.PathsReleased)
    def released(self, recorded: RecordedEvent, rows: Rows) -> None:
        for glob in recorded.event.globs:
            row = rows.get(PathClaim, claim_key(recorded.event.task_id, glob))
            if row is not None:
                rows.delete(row)


# The `tool` of an edit under another task's claim that git found after the fact (ClaimedPathChanged).
AFTER_THE_FACT = "git"


@register
class EditDenialProjector(Projector):
    name = "edit_denials"
    models = (EditDenial,)

    @handles(ev.EditDenied, ev.ClaimedPathChanged)
    def denied(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        rows.save(
            EditDenial(
                position=recorded.position,
                session=recorded.stream_id,
                task_id=e.task_id,
                tool=e.tool if isinstance(e, ev.EditDenied) else AFTER_THE_FACT,
                path=e.path,
                glob=e.glob,
                holder_task=e.holder_task,
                holder_session=e.holder_session,
                at=recorded.recorded_at,
            )
        )


@register
class ChangesProjector(Projector):
    """What each task changed, its snapshots and its review's comments (the `review` stream), and comments marked
    sent when a request for changes took them (the `task` stream)."""

    name = "task_changes"
    models = (TaskChange, DispatchChange, ChangeSnapshot, ReviewComment)

    @handles(ev.FilesChanged)
    def files_changed(self, recorded: RecordedEvent, rows: Rows) -> None:
        e, task_id = recorded.event, int(recorded.stream_id)
        for changed in e.files:
            key = f"{task_id}:{changed['path']}"
            row = rows.get(TaskChange, key) or TaskChange(key=key, task_id=task_id, path=changed["path"])
            row.added, row.removed = changed["added"], changed["removed"]
            row.sources = sorted({*row.sources, e.source})
            # a hook names the writer: the file is the task's own from then on; git only widens who may share it
            row.shared_with = [] if e.source == "hook" else sorted({*row.shared_with, *e.shared_with})
            row.changed_at = recorded.recorded_at
            rows.save(row)
            if e.dispatch_id:
                key = f"{e.dispatch_id}:{changed['path']}"
                touched = rows.get(DispatchChange, key) or DispatchChange(
                    key=key, dispatch_id=e.dispatch_id, path=changed["path"]
                )
                touched.added, touched.removed, touched.shared_with = (
                    changed["added"],
                    changed["removed"],
                    row.shared_with,
                )
                rows.save(touched)

    @handles(ev.ChangesSnapshotTaken)
    def snapshot_taken(self, recorded: RecordedEvent, rows: Rows) -> None:
        e, task_id = recorded.event, int(recorded.stream_id)
        # the latest of each moment: a new dispatch's start, or the task's next arrival in review, replaces it
        key = f"{task_id}:{e.moment}"
        row = rows.get(ChangeSnapshot, key) or ChangeSnapshot(key=key, task_id=task_id, moment=e.moment)
        row.dispatch_id, row.git_head = e.dispatch_id, e.git_head
        row.files, row.taken_at = e.files, recorded.recorded_at
        rows.save(row)

    @handles(ev.ReviewCommented)
    def commented(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        rows.save(
            ReviewComment(
                id=e.comment_id,
                task_id=int(recorded.stream_id),
                path=e.path,
                line=e.line,
                text=e.text,
                position=recorded.position,
                at=recorded.recorded_at,
            )
        )

    @handles(ev.TaskChangesRequested)
    def comments_sent(self, recorded: RecordedEvent, rows: Rows) -> None:
        for comment_id in recorded.event.comments:
            rows.update(ReviewComment, comment_id, sent_in=recorded.event.message_id)


TOKENS = ("turns", "input", "output", "cache_read", "cache_write", "cost_micros", "unpriced")


@register
class UsageProjector(Projector):
    """Usage summed per session, task, model and day, and the cursors of the files counted."""

    name = "usage"
    models = (UsageTotal, UsageCursor)

    @handles(ev.UsageRecorded)
    def recorded(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        for model, spent in e.models.items():
            keys = [("session", recorded.stream_id), ("model", model), ("day", e.day)]
            if e.task is not None:
                keys.append(("task", str(e.task)))
            for by, key in keys:
                total = rows.get(UsageTotal, f"{by}:{key}") or UsageTotal(id=f"{by}:{key}", by=by, key=key)
                for field in TOKENS:
                    setattr(total, field, getattr(total, field) + spent.get(field, 0))
                total.updated_at = recorded.recorded_at
                rows.save(total)
        for path, cursor in e.files.items():
            row = rows.get(UsageCursor, path) or UsageCursor(path=path)
            row.session, row.inode, row.offset, row.memo = (
                recorded.stream_id,
                cursor["inode"],
                cursor["offset"],
                cursor["memo"],
            )
            rows.save(row)


@register
class DispatchPauseProjector(Projector):
    name = "dispatch_pause"
    models = (DispatchPause,)

    @handles(ev.DispatchPaused)
    def paused(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        pause = rows.get(DispatchPause, 1) or DispatchPause(id=1)
        pause.paused, pause.reason, pause.budget, pause.day, pause.task = True, e.reason, e.budget, e.day, e.task
        pause.since = recorded.recorded_at
        rows.save(pause)

    @handles(ev.DispatchResumed)
    def resumed(self, recorded: RecordedEvent, rows: Rows) -> None:
        pause = rows.get(DispatchPause, 1) or DispatchPause(id=1)
        pause.paused, pause.reason, pause.budget, pause.day, pause.task, pause.since = False, "", "", "", None, None
        rows.save(pause)


@register
class ApprovalProjector(Projector):
    """The approval decisions of each session's agent, and the fleet-wide pause switch."""

    name = "approvals"
    models = (ApprovalDecision, ApprovalSwitch)

    @handles(ev.ApprovalDecided)
    def decided(self, recorded: RecordedEvent, rows: Rows) -> None:
        e = recorded.event
        rows.save(
            ApprovalDecision(
                position=recorded.position,
                session=recorded.stream_id,
                task_id=e.task_id,
                tool=e.tool,
                subject=e.subject,
                decision=e.decision,
                rule=e.rule,
                reason=e.reason,
                who=e.who,
                at=recorded.recorded_at,
            )
        )

    @handles(ev.ApprovalsPaused, ev.ApprovalsResumed)
    def switched(self, recorded: RecordedEvent, rows: Rows) -> None:
        values = {
            "paused": isinstance(recorded.event, ev.ApprovalsPaused),
            "reason": recorded.event.reason,
            "at": recorded.recorded_at,
        }
        if rows.get(ApprovalSwitch, 1) is None:
            rows.save(ApprovalSwitch(id=1, **values))
        else:
            rows.update(ApprovalSwitch, 1, **values)

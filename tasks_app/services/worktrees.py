"""Services of where a task works: its isolation ("shared", the project's checkout, or "worktree", a git worktree
and branch `chorus/task-N` of its own), and that worktree's life: made, a session started in it and given the
task, merged into the shared checkout, removed. git runs in tasks_app.worktrees; what it did is appended here.

git is a side effect that a rolled-back transaction cannot take back, so each service checks all it can first,
runs git, then records what git did: a worktree whose event could not be appended is removed again; a merge or a
removal that happened is recorded whatever else was appended to the task meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from events_app import store
from events_app.domain import DomainEvent
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from tasks_app import events as ev
from tasks_app import lifecycle, selectors, worktrees
from tasks_app.errors import TaskConflict
from tasks_app.models import BACKLOG, READY, Task
from tasks_app.services.assignment import NotAnAgent, check_task_assignable, task_assign
from tasks_app.services.stream import append, task_at


def task_set_isolation(task_id: int, isolation: str, *, expected_version: int) -> Task:
    """Choose where the task will work; not once it has a worktree (remove it first) or while it is at work."""
    task = task_at(task_id, expected_version)
    worktrees.check_isolation(isolation)
    if isolation == task.isolation:
        return task
    if worktrees.has_worktree(task):
        raise TaskConflict(f"task {task.id} has its worktree at {task.worktree_path}: remove it first")
    if lifecycle.holds_slot(task.status):
        raise TaskConflict(f"task {task.id} is {task.status}: where it works cannot change while it is at work")
    return append(task, expected_version, [ev.TaskIsolationChosen(isolation=isolation)])


def _active(task: Task) -> Task:
    if not worktrees.has_worktree(task):
        raise TaskConflict(f"task {task.id} has no worktree (make one with: tasks worktree create {task.id})")
    return task


def worktree_create(task_id: int, *, expected_version: int, base: str = "HEAD") -> Task:
    """Give a backlog or ready task its worktree: `git worktree add` on the new branch chorus/task-N from `base`
    (a branch, tag or commit; HEAD by default). The task's isolation becomes "worktree"."""
    task = task_at(task_id, expected_version)
    if worktrees.has_worktree(task):
        raise TaskConflict(f"task {task.id} has its worktree already, at {task.worktree_path}")
    if task.status not in (BACKLOG, READY):
        raise TaskConflict(f"task {task.id} is {task.status}: a worktree is made for a backlog or ready task")
    created = worktrees.create(task.id, base)
    events: list[DomainEvent] = []
    if task.isolation != worktrees.WORKTREE:
        events.append(ev.TaskIsolationChosen(isolation=worktrees.WORKTREE))
    events.append(
        ev.WorktreeCreated(path=created.path, branch=created.branch, base=created.base, base_commit=created.base_commit)
    )
    try:
        return append(task, expected_version, events)
    except Exception:
        worktrees.remove(created.path, created.branch, force=True)  # new and empty: nothing of anyone's is lost
        raise


def worktree_start(
    task_id: int,
    profile: str,
    *,
    expected_version: int,
    session: str | None = None,
    base: str = "HEAD",
    tools: str | None = None,
) -> Task:
    """Start a session of `profile` (named `session`, default task-N) in the task's worktree, made first from
    `base` if the task has none, and assign it the task. Each step that happened stays recorded if a later one is
    refused: the worktree (remove it, or start again), the session (assign the task to it by hand); what can be
    checked first is (the task assignable, the session's name, its profile an installed agent, the base)."""
    task = task_at(task_id, expected_version)
    check_task_assignable(task)
    name = session or f"task-{task.id}"
    session_services.session_check_start(name, profile)
    if not session_selectors.is_agent(profile):
        raise NotAnAgent(f"profile {profile} runs no agent: a task's prompt would be typed in as commands")
    if not worktrees.has_worktree(task):
        task = worktree_create(task.id, expected_version=expected_version, base=base)
    directory = worktrees.Repository.of_project().session_directory(Path(task.worktree_path))
    session_services.session_create(name, profile, tools=tools, worktree=directory)
    return task_assign(task.id, name, expected_version=task.version)


def _record(task_id: int, event: DomainEvent) -> Task:
    """Append what git did, at whatever version the task is now: it happened, whatever was appended meanwhile."""
    store.append("task", str(task_id), None, [event])
    return selectors.task(task_id)


def worktree_merge(task_id: int, *, expected_version: int, no_ff: bool = False) -> tuple[Task, worktrees.Merged]:
    """Merge the task's branch into the branch the shared checkout has out (fast-forward when it can, unless
    `no_ff`). Refused while the task is at work or its worktree holds uncommitted changes; a merge with conflicts
    is aborted and its files named (MergeConflict), the checkout and the branch as they were."""
    task = _active(task_at(task_id, expected_version))
    if lifecycle.holds_slot(task.status):
        raise TaskConflict(f"task {task.id} is {task.status}: merge it once its agent has finished (review or done)")
    left = worktrees.state(task.worktree_path, task.worktree_branch)
    if left.dirty:
        shown = "; ".join(left.dirty[:5]) + (" ..." if len(left.dirty) > 5 else "")
        raise TaskConflict(
            f"task {task.id}'s worktree has {len(left.dirty)} uncommitted change(s) ({shown}): commit them there "
            "first, or they would not be merged"
        )
    merged = worktrees.merge(task.worktree_branch, no_ff=no_ff)
    if not merged.changed:
        return task, merged
    event = ev.WorktreeMerged(
        branch=task.worktree_branch, into=merged.into, commit=merged.commit, fast_forward=merged.fast_forward
    )
    return _record(task.id, event), merged


def worktree_remove(task_id: int, *, expected_version: int, force: bool = False) -> Task:
    """Remove the task's worktree and its branch. Refused while a session works in it, and, unless `force`, when
    that would lose work (commits not merged into the shared checkout, uncommitted changes); a forced removal
    records what it dropped and the branch's last commit."""
    task = _active(task_at(task_id, expected_version))
    homes = selectors.worktree_homes()
    for found in session_selectors.sessions(include_ended=False):
        if selectors.worktree_owner(found.cwd, homes) == task.id:
            raise TaskConflict(f"session {found.name} works in task {task.id}'s worktree: stop it first")
    removed = worktrees.remove(task.worktree_path, task.worktree_branch, force=force)
    event = ev.WorktreeRemoved(
        path=task.worktree_path,
        branch=task.worktree_branch,
        branch_tip=removed.tip,
        forced=bool(removed.dropped),
        dropped=removed.dropped,
    )
    return _record(task.id, event)

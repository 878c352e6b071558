"""Services of change attribution: the only writers of FilesChanged and ChangesSnapshotTaken (the `review` stream).

- a snapshot of the checkout (HEAD, the dirty paths with their line counts) when a task goes to work and when it
  reaches review (worker policies, tasks_app.policies);
- the watch: a round of the worker (tasks_app.worker.ChangeWatch) that reads the agents' file-tool hooks and, when
  something could have changed, git's status, and records each change for the task in progress, or for all of
  them as shared when more than one was (tasks_app.changes.attribute).

Outside a git repository attribution is off: nothing is recorded, and the task page says why.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from sessions_app.errors import SessionError
from sessions_app.self_report import SelfReportPlugin
from tasks_app import changes, git, selectors, worktrees
from tasks_app import events as ev
from tasks_app.models import Task
from tasks_app.services.claims import claims_breached

log = logging.getLogger("chorus.worker.tasks")
START, REVIEW = "start", "review"
APPEND_ATTEMPTS = 3
# an agent in these statuses writes nothing (a task in progress whose agent is idle goes to review soon)
QUIET = ("idle", "waiting")


def review_append(task_id: int, events: Sequence[DomainEvent]) -> None:
    """Append to the task's `review` stream at its current version; a comment appended meanwhile is retried past."""
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            store.append("review", str(task_id), store.stream_version("review", str(task_id)), list(events))
            return
        except ConcurrencyError:
            if attempt == APPEND_ATTEMPTS:
                raise


def line_counts(paths: Iterable[str], prefix: str, reader: git.BlobReader | None = None) -> list[dict]:
    """[{path, added, removed}] of `paths` in the working tree against HEAD (a file not in HEAD: all its lines
    added); None where it cannot say (a binary file, one too long, or unreadable). `reader`: the watch's open
    cat-file, else one is started for the call."""
    wanted = sorted(set(paths))
    committed = (reader.blobs if reader else git.blobs)("HEAD", [prefix + path for path in wanted])
    counted = []
    for path in wanted:
        added, removed = changes.line_changes(committed[prefix + path], changes.working_bytes(path))
        counted.append({"path": path, "added": added, "removed": removed})
    return counted


def changes_snapshot(task_id: int, moment: str) -> bool:
    """Record the checkout as the task went to work (`start`) or reached review (`review`), once per dispatch and
    arrival: a worker policy, at least once. False when nothing was recorded (already taken, or no repository)."""
    task = selectors.task(task_id)
    taken = selectors.change_snapshot(task.id, moment)
    if (
        taken is not None
        and taken.dispatch_id == task.dispatch_id
        and (moment == START or taken.taken_at >= task.status_since)
    ):
        return False
    prefix = git.prefix()
    if prefix is None:
        return False
    status = changes.parse_status(git.status(prefix) or b"", prefix)
    counts = {c["path"]: c for c in line_counts(status, prefix)}
    files = [{**counts[path], "status": code} for path, code in sorted(status.items())]
    snapshot = ev.ChangesSnapshotTaken(
        moment=moment, dispatch_id=task.dispatch_id, git_head=git.git_head(), files=files
    )
    review_append(task.id, [snapshot])
    return True


# --- the watch -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Watch:
    """What the worker's watch keeps between rounds: the dirty paths' signatures and HEAD as last seen, the stamp
    of git's index and HEAD files, when git last ran, and the tasks then in progress. `prefix` None: not a
    repository (the watch is off)."""

    prefix: str | None = None
    git_dir: str = ""
    checked: bool = False
    signatures: dict[str, changes.Signature] | None = None
    head: str | None = None
    stamp: tuple | None = None
    since: datetime | None = None
    git_rounds: int = 0
    at_work: set[int] = dataclasses.field(default_factory=set)
    plugins: dict[str, SelfReportPlugin | None] = dataclasses.field(default_factory=dict)
    blobs: git.BlobReader = dataclasses.field(default_factory=git.BlobReader)


def _stamp(watch: Watch) -> tuple:
    """The modification times of git's index, HEAD and packed refs: a commit, a checkout or `git add` moves one."""
    if not watch.git_dir:
        return ()
    stamps = []
    for name in ("index", "HEAD", "packed-refs", "logs/HEAD"):
        try:
            stamps.append(os.stat(os.path.join(watch.git_dir, name)).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def _signatures(status: dict[str, str]) -> dict[str, changes.Signature]:
    root = os.path.realpath(settings.PROJECT_ROOT)
    signatures: dict[str, changes.Signature] = {}
    for path, code in status.items():
        try:
            info = os.lstat(os.path.join(root, path))
            signatures[path] = (code, info.st_size, info.st_mtime_ns)
        except OSError:
            signatures[path] = (code, None, None)
    return signatures


def _baseline(tasks: list[Task]) -> dict[str, changes.Signature] | None:
    """Where a new watch starts: the dirty paths the tasks' start snapshots recorded (their stat unknown), or None
    when none has one (then the checkout as it is now: what was dirty before cannot be told from what is new)."""
    snapshots = [selectors.change_snapshot(task.id, START) for task in tasks]
    found = [s for s, task in zip(snapshots, tasks, strict=True) if s is not None and s.dispatch_id == task.dispatch_id]
    if not found:
        return None
    return {f["path"]: (f["status"], None, None) for snapshot in found for f in snapshot.files}


def _plugin(watch: Watch, session) -> SelfReportPlugin | None:
    """The self-report plug-in of the session's profile (which reads its hooks), kept for the session."""
    if session.name not in watch.plugins:
        try:
            watch.plugins[session.name] = session_selectors.profile(session.profile).self_report
        except SessionError:
            watch.plugins[session.name] = None
    return watch.plugins[session.name]


def _hook_writes(watch: Watch, tasks: list[Task]) -> dict[int, set[str]]:
    """The files each task's agent said its file tools wrote since the last round (inside PROJECT_ROOT). Every
    live session's hook records are consumed: those of a session with no task in progress are nobody's."""
    task_of = {task.session: task.id for task in tasks}
    written: dict[int, set[str]] = {}
    for session in session_selectors.sessions(include_ended=False):
        plugin = _plugin(watch, session)
        if plugin is None:
            continue
        for write in plugin.files_written(session_services.hook_directory(session.name)):
            path = changes.project_path(write.path, write.cwd)
            if path is not None and session.name in task_of:
                written.setdefault(task_of[session.name], set()).add(path)
    return written


def _agents_quiet(tasks: list[Task], since: datetime | None) -> bool:
    """Whether every task's agent has been idle, or waiting for a person, since the last git round: then no agent
    changed anything."""
    if since is None:
        return False
    names = [task.session for task in tasks]
    sessions = session_selectors.sessions().filter(pk__in=names)
    return len(sessions) == len(set(names)) and all(s.status in QUIET and s.status_since < since for s in sessions)


def changes_watch(watch: Watch) -> list[ev.FilesChanged]:
    """One round of the watch: what changed since the last one, recorded for the task(s) in progress, and for those
    that left progress since the last round (their agent may have made the change just before). Git runs only when
    something could have changed: a task in progress whose agent was not idle throughout, a task that left, a hook
    that named a file, or git's own files touched (a commit, `git add`)."""
    # a task in a worktree of its own changes its worktree, not the shared checkout the watch looks at
    in_progress = [task for task in selectors.tasks_in_progress_here() if not worktrees.has_worktree(task)]
    gone = watch.at_work - {task.id for task in in_progress}
    left = list(selectors.tasks(archived=None).filter(pk__in=gone)) if gone else []
    tasks = sorted([*in_progress, *left], key=lambda task: task.id)
    watch.at_work = {task.id for task in in_progress}
    hooked = _hook_writes(watch, tasks)
    if not tasks:
        watch.signatures = None  # a change with no task in progress is nobody's: the next task starts afresh
        return []
    if not watch.checked:
        watch.prefix, watch.git_dir, watch.checked = git.prefix(), str(git.git_dir() or ""), True
    if watch.prefix is None:
        return []
    stamp = _stamp(watch)
    unchanged = watch.signatures is not None and not (hooked or left) and stamp == watch.stamp
    if unchanged and _agents_quiet(tasks, watch.since):
        return []
    started = timezone.now()
    output = git.status(watch.prefix)
    if output is None:
        return []
    status = changes.parse_status(output, watch.prefix)
    signatures = _signatures(status)
    # HEAD moves only with git's files, which the stamp covers: unchanged, it is the one last seen
    head = watch.head if watch.head is not None and stamp == watch.stamp else git.git_head()
    before = watch.signatures if watch.signatures is not None else _baseline(tasks)
    if before is None:
        before = signatures
    changed = changes.changed_paths(before, signatures)
    if watch.head is not None and head != watch.head:
        # committed since the last round: those paths left the status, but they changed all the same
        changed |= set(changes.parse_numstat(git.numstat(watch.head, to=head) or b""))
    watch.signatures, watch.head, watch.stamp, watch.since = signatures, head, stamp, started
    watch.git_rounds += 1
    return _record(tasks, hooked, changed, watch)


def _record(tasks: list[Task], hooked: dict[int, set[str]], changed: set[str], watch: Watch) -> list:
    """Append what changed: a hook's files to its task alone, git's (less those a hook named) to the task in
    progress or, shared, to each of those in progress."""
    by_hook = set().union(*hooked.values()) if hooked else set()
    seen_by_git = changed - by_hook
    counts = {c["path"]: c for c in line_counts(by_hook | seen_by_git, watch.prefix, watch.blobs)}
    recorded = []
    dispatch_of = {task.id: task.dispatch_id for task in tasks}
    for task_id, paths in sorted(hooked.items()):
        dispatch_id = dispatch_of[task_id] if task_id in dispatch_of else selectors.task(task_id).dispatch_id
        files = [counts[p] for p in sorted(paths)]
        recorded.append((task_id, ev.FilesChanged(files=files, source="hook", shared_with=[], dispatch_id=dispatch_id)))
    if seen_by_git:
        files = [counts[path] for path in sorted(seen_by_git)]
        for share in changes.attribute(task.id for task in tasks):
            shared = list(share.shared_with)
            dispatch_id = dispatch_of.get(share.task_id, "")
            recorded.append(
                (share.task_id, ev.FilesChanged(files=files, source="git", shared_with=shared, dispatch_id=dispatch_id))
            )
    with transaction.atomic():  # one commit for the round, whatever the number of tasks
        for task_id, event in recorded:
            review_append(task_id, [event])
            if event.source == "git":
                claims_breached(task_id, [f["path"] for f in event.files])
    return [event for _task_id, event in recorded]

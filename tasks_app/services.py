"""Task services: the only writers of task and assignment events. Entry points (API, admin, commands, the worker)
call these; each one validates, decides and appends, and a refused request writes nothing.

Every service that changes a task takes the version of it the caller saw (`expected_version`); a stale one raises
events_app.store.ConcurrencyError (HTTP 409). Decisions that need a document's current text (re-anchoring, the
prompt) are made here, never in a projector: a replay must not depend on what the files say today.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from sessions_app import services as session_services
from sessions_app.models import OutboxMessage, Session, StatusChange
from tasks_app import anchoring, documents, prompts
from tasks_app import events as ev
from tasks_app.errors import TaskConflict, TaskError, UnknownTask
from tasks_app.git import git_head
from tasks_app.models import (
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
    Reference,
    SessionSlot,
    Task,
)

TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
NOTE_MAX = 5_000
PRIORITY_LIMIT = 1_000_000
MAX_REFERENCE_CHARS = 100_000
LABEL = re.compile(r"^[\w.:/+-]{1,40}$")
RANGE = re.compile(r"^(?P<path>.+):(?P<start>\d+)-(?P<end>\d+)$")
# The task stream's id is its number: creators race for the next one with expected version 0.
CREATE_ATTEMPTS = 20


class SessionBusy(TaskConflict):
    """The session already works on a task (its slot is taken)."""


class LimitReached(TaskConflict):
    """CHORUS_MAX_ACTIVE_TASKS tasks are assigned or in progress."""


@dataclasses.dataclass(frozen=True)
class Range:
    """A line range of a document as a person gives it: `path:start-end`."""

    path: str
    start: int
    end: int

    @classmethod
    def parse(cls, spec: str) -> Range:
        found = RANGE.match(spec.strip()) if isinstance(spec, str) else None
        if found is None:
            raise TaskError(f"reference {spec!r} is not PATH:START-END (e.g. docs/design.md:10-24)")
        return cls(found["path"], int(found["start"]), int(found["end"]))


# --- reads the services decide on --------------------------------------------------------------------------------


def get_task(task_id: int | str) -> Task:
    try:
        number = int(task_id)
    except (TypeError, ValueError):
        raise UnknownTask(f"no task {task_id!r}: a task is named by its number") from None
    task = Task.objects.filter(pk=number).first()
    if task is None:
        raise UnknownTask(f"no task {number}")
    return task


def _current(task_id: int | str, expected_version: int) -> Task:
    """The task, if the caller saw its current version; checked here too so that a stale request fails before any
    document is read (the append checks it again, atomically)."""
    task = get_task(task_id)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TaskError("the task's version (the one you saw) is required")
    if task.version != expected_version:
        raise ConcurrencyError("task", str(task.id), expected_version, task.version)
    return task


def unfinished_dependencies(tasks: Iterable[Task]) -> dict[int, list[int]]:
    """For each task, the tasks it waits for that are not done yet; one query for all of them."""
    tasks = list(tasks)
    wanted = {number for task in tasks for number in task.depends_on}
    done = set(Task.objects.filter(pk__in=wanted, status=DONE).values_list("pk", flat=True)) if wanted else set()
    return {task.id: [number for number in task.depends_on if number not in done] for task in tasks}


# --- validation ----------------------------------------------------------------------------------------------


def _title(title: str) -> str:
    if not isinstance(title, str) or not title.strip():
        raise TaskError("a task needs a title")
    title = title.strip()
    if "\n" in title or len(title) > TITLE_MAX:
        raise TaskError(f"a title is one line of at most {TITLE_MAX} characters")
    return title


def _description(description: str) -> str:
    if not isinstance(description, str):
        raise TaskError("the description must be text (Markdown)")
    if len(description) > DESCRIPTION_MAX:
        raise TaskError(f"the description has {len(description):,} characters; the limit is {DESCRIPTION_MAX:,}")
    return description


def _priority(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > PRIORITY_LIMIT:
        raise TaskError(f"a priority is a whole number between -{PRIORITY_LIMIT:,} and {PRIORITY_LIMIT:,}")
    return priority


def _labels(labels: Iterable[str]) -> list[str]:
    if isinstance(labels, str):
        raise TaskError("labels are a list of names, not one string")
    cleaned = []
    for label in labels:
        if not isinstance(label, str) or not LABEL.match(label.strip()):
            raise TaskError(f"invalid label {label!r}: use 1-40 letters, digits or . : / + - _ (no spaces)")
        cleaned.append(label.strip())
    return sorted(set(cleaned))


def _note(note: str) -> str:
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise TaskError(f"a note is text of at most {NOTE_MAX:,} characters")
    return note.strip()


def _status_name(status: str) -> str:
    if status not in (BACKLOG, READY):
        raise TaskError(f"a new task is backlog or ready, not {status!r}")
    return status


def _new_range(path: str, start: int, end: int) -> tuple[Range, str]:
    """The normalised range and its current text; TaskError when the document or the range is not usable."""
    try:
        path = documents.normalise(path)
        lines = documents.read_lines(path)
        text = anchoring.check_range(path, lines, start, end)
    except (documents.DocumentUnavailable, ValueError) as exc:
        raise TaskError(f"reference {path}:{start}-{end}: {exc}") from None
    if len(text) > MAX_REFERENCE_CHARS:
        raise TaskError(
            f"reference {path}:{start}-{end} holds {len(text):,} characters; a reference quotes at most "
            f"{MAX_REFERENCE_CHARS:,}"
        )
    return Range(path, start, end), text


def _reference_added(reference_id: str, where: Range, text: str) -> ev.ReferenceAdded:
    return ev.ReferenceAdded(
        reference_id=reference_id,
        path=where.path,
        start=where.start,
        end=where.end,
        sha256=anchoring.digest(text),
        snapshot=text,
    )


def _as_range(spec: Range | str | Sequence) -> Range:
    if isinstance(spec, Range):
        return spec
    if isinstance(spec, str):
        return Range.parse(spec)
    path, start, end = spec
    return Range(path, start, end)


# --- create and edit -------------------------------------------------------------------------------------------


def task_create(
    title: str,
    description: str = "",
    priority: int = 0,
    labels: Iterable[str] = (),
    depends_on: Iterable[int] = (),
    references: Iterable[Range | str | Sequence] = (),
    status: str = READY,
) -> Task:
    """A new task, numbered after the last one, with its dependencies and references, in one append."""
    created = ev.TaskCreated(
        title=_title(title),
        description=_description(description),
        priority=_priority(priority),
        labels=_labels(labels),
        status=_status_name(status),
    )
    waits_for = []
    for number in depends_on:
        try:
            waits_for.append(get_task(number).id)
        except UnknownTask as exc:
            raise TaskError(f"cannot depend on it: {exc}") from None
    ranges = [_new_range(r.path, r.start, r.end) for r in map(_as_range, references)]
    for _attempt in range(CREATE_ATTEMPTS):
        number = (Task.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        events: list[DomainEvent] = [created]
        events += [ev.TaskDependencyAdded(depends_on=d) for d in sorted(set(waits_for))]
        events += [_reference_added(f"{number}.{i}", where, text) for i, (where, text) in enumerate(ranges, 1)]
        try:
            store.append("task", str(number), 0, events)
        except ConcurrencyError:
            continue  # another creator took this number; take the next
        return get_task(number)
    raise TaskConflict("could not find a free task number; try again")


def task_update(
    task_id: int,
    expected_version: int,
    *,
    title: str | None = None,
    description: str | None = None,
    priority: int | None = None,
    labels: Iterable[str] | None = None,
    add_labels: Iterable[str] = (),
    remove_labels: Iterable[str] = (),
) -> Task:
    """Change what a task says: each changed field is its own event, all in one append. `labels` replaces the
    set; `add_labels` and `remove_labels` change it."""
    task = _current(task_id, expected_version)
    events: list[DomainEvent] = []
    if title is not None and _title(title) != task.title:
        events.append(ev.TaskRetitled(title=_title(title)))
    if description is not None and _description(description) != task.description:
        events.append(ev.TaskDescriptionChanged(description=description))
    if priority is not None and _priority(priority) != task.priority:
        events.append(ev.TaskReprioritised(priority=priority))
    wanted = set(task.labels) if labels is None else set(_labels(labels))
    wanted = (wanted | set(_labels(add_labels))) - set(_labels(remove_labels))
    events += [ev.TaskLabelAdded(label=label) for label in sorted(wanted - set(task.labels))]
    events += [ev.TaskLabelRemoved(label=label) for label in sorted(set(task.labels) - wanted)]
    store.append("task", str(task.id), expected_version, events)
    return get_task(task.id)


def _cycle(task_id: int, depends_on: int) -> list[int] | None:
    """The path of dependencies from `depends_on` back to `task_id`, if there is one: adding the edge
    task_id -> depends_on would close it into a cycle."""
    graph = dict(Task.objects.values_list("id", "depends_on"))
    stack: list[tuple[int, list[int]]] = [(depends_on, [depends_on])]
    seen = set()
    while stack:
        node, path = stack.pop()
        if node == task_id:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((after, [*path, after]) for after in graph.get(node, ()))
    return None


def task_add_dependency(task_id: int, depends_on: int, expected_version: int) -> Task:
    """Make the task wait for task `depends_on` to be done; refused when that would make a cycle, which is named."""
    task = _current(task_id, expected_version)
    try:
        other = get_task(depends_on)
    except UnknownTask as exc:
        raise TaskError(f"cannot depend on it: {exc}") from None
    if other.id == task.id:
        raise TaskConflict(f"task {task.id} cannot depend on itself")
    if other.id in task.depends_on:
        return task
    path = _cycle(task.id, other.id)
    if path is not None:
        chain = " -> ".join(str(n) for n in [task.id, *path])
        raise TaskConflict(f"task {task.id} cannot depend on {other.id}: that makes a cycle {chain} (-> = waits for)")
    store.append("task", str(task.id), expected_version, [ev.TaskDependencyAdded(depends_on=other.id)])
    return get_task(task.id)


def task_remove_dependency(task_id: int, depends_on: int, expected_version: int) -> Task:
    task = _current(task_id, expected_version)
    if depends_on not in task.depends_on:
        raise TaskError(f"task {task.id} does not depend on {depends_on}")
    store.append("task", str(task.id), expected_version, [ev.TaskDependencyRemoved(depends_on=depends_on)])
    return get_task(task.id)


# --- references ------------------------------------------------------------------------------------------------


def get_reference(task: Task, reference_id: str) -> Reference:
    reference = Reference.objects.filter(pk=reference_id, task_id=task.id).first()
    if reference is None:
        raise UnknownTask(f"task {task.id} has no reference {reference_id!r}")
    return reference


def reference_add(task_id: int, path: str, start: int, end: int, expected_version: int) -> Reference:
    """Anchor the task to lines `start`..`end` of document `path`: their hash and a snapshot of their text."""
    task = _current(task_id, expected_version)
    where, text = _new_range(path, start, end)
    reference_id = f"{task.id}.{task.references_added + 1}"
    store.append("task", str(task.id), expected_version, [_reference_added(reference_id, where, text)])
    return Reference.objects.get(pk=reference_id)


def reference_remove(task_id: int, reference_id: str, expected_version: int) -> Task:
    task = _current(task_id, expected_version)
    reference = get_reference(task, reference_id)
    store.append("task", str(task.id), expected_version, [ev.ReferenceRemoved(reference_id=reference.id)])
    return get_task(task.id)


def reference_refresh(
    task_id: int, reference_id: str, expected_version: int, start: int | None = None, end: int | None = None
) -> Reference:
    """Take the document's current text at the reference's range (or at `start`..`end`) as its new snapshot."""
    task = _current(task_id, expected_version)
    reference = get_reference(task, reference_id)
    where, text = _new_range(reference.path, start or reference.start, end or reference.end)
    sha256 = anchoring.digest(text)
    unchanged = (where.start, where.end, sha256) == (reference.start, reference.end, reference.sha256)
    if not (unchanged and reference.state == Reference.CURRENT):
        refreshed = ev.ReferenceRefreshed(
            reference_id=reference.id, start=where.start, end=where.end, sha256=sha256, snapshot=text
        )
        store.append("task", str(task.id), expected_version, [refreshed])
    return Reference.objects.get(pk=reference.id)


def _followed(reference: Reference, lines: list[str] | None) -> list[DomainEvent]:
    """What becomes of a reference given its document's lines now (None: the document is gone)."""
    if lines is None:
        return [] if reference.state == Reference.MISSING else [ev.ReferenceMissing(reference_id=reference.id)]
    found = anchoring.locate(reference.snapshot, lines, reference.start)
    if found.kind == anchoring.INTACT and reference.state == Reference.CURRENT:
        return []
    if found.kind in (anchoring.INTACT, anchoring.MOVED):
        return [ev.ReferenceReanchored(reference_id=reference.id, start=found.start, end=found.end)]
    sha256 = anchoring.digest(found.text)
    if reference.state == Reference.STALE and (reference.start, reference.end, reference.current_sha256) == (
        found.start,
        found.end,
        sha256,
    ):
        return []
    diff = anchoring.unified_diff(reference.path, reference.snapshot, found.text, found.start, found.end)
    return [
        ev.ReferenceStale(reference_id=reference.id, start=found.start, end=found.end, current_sha256=sha256, diff=diff)
    ]


def _read_or_none(path: str) -> list[str] | None:
    try:
        return documents.read_lines(path)
    except documents.DocumentUnavailable:
        return None


def references_follow(path: str, lines: list[str] | None) -> None:
    """The document at `path` now holds `lines` (None: it is gone). References of tasks that are not archived
    follow moved text, turn stale when their text changed, or missing with the document; one append per task.
    Called by the policy reacting to the document's event, inside its transaction."""
    by_task: dict[int, list[Reference]] = {}
    for reference in Reference.objects.filter(path=path).order_by("task_id", "number"):
        by_task.setdefault(reference.task_id, []).append(reference)
    for task in Task.objects.filter(pk__in=by_task, archived=False).order_by("id"):
        events = [event for reference in by_task[task.id] for event in _followed(reference, lines)]
        if events:
            store.append("task", str(task.id), task.version, events)


def references_check(task_id: int, expected_version: int) -> Task:
    """Compare each reference with its document now, as following the document does: for when documents changed
    while nobody was watching them."""
    task = _current(task_id, expected_version)
    cache: dict[str, list[str] | None] = {}
    events = []
    for reference in Reference.objects.filter(task_id=task.id).order_by("number"):
        if reference.path not in cache:
            cache[reference.path] = _read_or_none(reference.path)
        events += _followed(reference, cache[reference.path])
    store.append("task", str(task.id), expected_version, events)
    return get_task(task.id)


# --- lifecycle -------------------------------------------------------------------------------------------------

# Which statuses each person's transition starts from.
_FROM = {
    "made ready": (BACKLOG,),
    "shelved": (READY,),
    "marked done": (ASSIGNED, IN_PROGRESS, REVIEW),
    "marked failed": (ASSIGNED, IN_PROGRESS, REVIEW),
    "cancelled": (BACKLOG, READY, ASSIGNED, IN_PROGRESS, REVIEW),
    "unassigned": ACTIVE,
    "reopened": (REVIEW, *FINISHED),
    "assigned": (BACKLOG, READY),
}


def _allowed(task: Task, verb: str) -> None:
    if task.status not in _FROM[verb]:
        allowed = ", ".join(_FROM[verb])
        raise TaskConflict(f"task {task.id} is {task.status}, so it cannot be {verb} (only from {allowed})")


def _leave_slot(task: Task, reason: str) -> None:
    """Free the session's slot held by this task, and withdraw its prompt if it is still queued; inside the
    caller's transaction, beside the task's own event."""
    slot = SessionSlot.objects.filter(pk=task.session, task_id=task.id).first()
    if slot is not None:
        store.append(
            "assignment", slot.session, slot.version, [ev.SessionSlotReleased(task_id=task.id, reason=reason[:500])]
        )
    message = OutboxMessage.objects.filter(pk=task.message_id, state=OutboxMessage.QUEUED).first()
    if message is not None:
        # Claimed for delivery meanwhile, it is being typed and can no longer be withdrawn.
        with contextlib.suppress(session_services.SessionError):
            session_services.message_cancel(message.id)


def _transition(task: Task, expected_version: int, events: list[DomainEvent], reason: str) -> Task:
    """Append the task's events; a task leaving assigned/in_progress frees its session in the same transaction."""
    with transaction.atomic():
        store.append("task", str(task.id), expected_version, events)
        if task.status in ACTIVE and get_task(task.id).status not in ACTIVE:
            _leave_slot(task, reason)
    return get_task(task.id)


def task_ready(task_id: int, expected_version: int) -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "made ready")
    return _transition(task, expected_version, [ev.TaskReadied()], "")


def task_shelve(task_id: int, expected_version: int) -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "shelved")
    return _transition(task, expected_version, [ev.TaskShelved()], "")


def task_done(task_id: int, expected_version: int, note: str = "") -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "marked done")
    note = _note(note)
    return _transition(task, expected_version, [ev.TaskDone(note=note, git_head=git_head())], "the task is done")


def task_fail(task_id: int, expected_version: int, reason: str = "") -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "marked failed")
    reason = _note(reason) or "marked failed by a person"
    return _transition(task, expected_version, [ev.TaskFailed(reason=reason, git_head=git_head())], reason)


def task_cancel(task_id: int, expected_version: int, reason: str = "") -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "cancelled")
    reason = _note(reason)
    return _transition(task, expected_version, [ev.TaskCancelled(reason=reason)], reason or "the task was cancelled")


def task_unassign(task_id: int, expected_version: int, reason: str = "") -> Task:
    """Take an assigned or working task back from its session; it is ready again."""
    task = _current(task_id, expected_version)
    _allowed(task, "unassigned")
    reason = _note(reason)
    return _transition(task, expected_version, [ev.TaskUnassigned(reason=reason)], reason or "unassigned")


def task_reopen(task_id: int, expected_version: int, reason: str = "") -> Task:
    task = _current(task_id, expected_version)
    _allowed(task, "reopened")
    return _transition(task, expected_version, [ev.TaskReopened(reason=_note(reason))], "")


def task_set_status(task_id: int, status: str, expected_version: int, note: str = "") -> Task:
    """Move a task to `status` by the person's transition that leads there (the admin's and the API's "set
    status"). assigned, in_progress and review are reached by assigning and by following the session."""
    task = _current(task_id, expected_version)
    if status == task.status:
        return task
    if status == READY:
        if task.status == BACKLOG:
            return task_ready(task.id, expected_version)
        if task.status in ACTIVE:
            return task_unassign(task.id, expected_version, note)
        return task_reopen(task.id, expected_version, note)
    if status == BACKLOG:
        return task_shelve(task.id, expected_version)
    finishing = {DONE: task_done, FAILED: task_fail, CANCELLED: task_cancel}
    if status not in finishing:
        raise TaskError(
            f"a person sets a task to backlog, ready, done, failed or cancelled, not {status!r}: assigned comes "
            "from assigning it, in_progress and review from following its session"
        )
    return finishing[status](task.id, expected_version, note)


def task_archive(task_id: int, expected_version: int) -> Task:
    """Hide a task from the lists and from dispatch (tasks are never deleted); not while it is at work."""
    task = _current(task_id, expected_version)
    if task.archived:
        return task
    if task.status in ACTIVE:
        raise TaskConflict(f"task {task.id} is {task.status}; unassign, cancel or finish it before archiving it")
    store.append("task", str(task.id), expected_version, [ev.TaskArchived()])
    return get_task(task.id)


def task_unarchive(task_id: int, expected_version: int) -> Task:
    """Bring an archived task back; its references, not followed while it was archived, are checked now."""
    task = _current(task_id, expected_version)
    if not task.archived:
        return task
    with transaction.atomic():
        store.append("task", str(task.id), expected_version, [ev.TaskUnarchived()])
        return references_check(task.id, expected_version + 1)


# --- assignment and dispatch -----------------------------------------------------------------------------------


def _checked_ranges(task: Task, cache: dict[str, list[str]]) -> tuple[list[Reference], list[DomainEvent]]:
    """The task's references where their text is now, and the re-anchoring events for those that moved;
    TaskConflict when one's text changed or its document is gone (a person must look at it first)."""
    placed, events = [], []
    for reference in Reference.objects.filter(task_id=task.id).order_by("number"):
        if reference.path not in cache:
            try:
                cache[reference.path] = documents.read_lines(reference.path)
            except documents.DocumentUnavailable as exc:
                raise TaskConflict(f"task {task.id}: reference {reference.id} ({reference}): {exc}") from None
        found = anchoring.locate(reference.snapshot, cache[reference.path], reference.start)
        if found.kind == anchoring.CHANGED:
            raise TaskConflict(
                f"task {task.id}: reference {reference.id} ({reference}) is stale: its text changed; "
                "refresh or remove it first"
            )
        if (found.start, found.end) != (reference.start, reference.end) or reference.state != Reference.CURRENT:
            events.append(ev.ReferenceReanchored(reference_id=reference.id, start=found.start, end=found.end))
            reference.start, reference.end = found.start, found.end
        placed.append(reference)
    return placed, events


def _check_assignable(task: Task, session: str) -> None:
    if task.archived:
        raise TaskConflict(f"task {task.id} is archived")
    _allowed(task, "assigned")
    waiting = unfinished_dependencies([task])[task.id]
    if waiting:
        raise TaskConflict(f"task {task.id} waits for task(s) {', '.join(map(str, waiting))}, not done yet")
    found = Session.objects.filter(pk=session).first() if isinstance(session, str) else None
    if found is None:
        raise UnknownTask(f"no session named {session!r}")
    if not found.is_live:
        raise TaskConflict(f"session {session} is {found.lifecycle}")


def task_assign(task_id: int, session: str, expected_version: int, *, via: str = "person") -> Task:
    """Build the task's prompt from the current text of its references and queue it for `session`.

    One transaction claims the session's slot (its `assignment` stream, at the version read before), queues the
    message and records the assignment with its audit (prompt, reference hashes, git HEAD). Whoever loses a race
    for the same session (SessionBusy) or the same task (ConcurrencyError) has nothing of theirs written."""
    if via not in ("person", "dispatch"):
        raise TaskError(f"unknown assignment route {via!r}")
    task = _current(task_id, expected_version)
    _check_assignable(task, session)
    slot = SessionSlot.objects.filter(pk=session).first()
    if slot is not None and slot.task_id is not None:
        raise SessionBusy(f"session {session} is already working on task {slot.task_id}")
    cache: dict[str, list[str]] = {}
    references, reanchored = _checked_ranges(task, cache)
    prompt = prompts.build_prompt(task, references, lines=cache)
    sent = [
        {
            "reference_id": r.id,
            "path": r.path,
            "start": r.start,
            "end": r.end,
            "sha256": anchoring.digest(anchoring.range_text(cache[r.path], r.start, r.end)),
        }
        for r in references
    ]
    head = git_head()
    dispatch_id = uuid.uuid4().hex
    claim = ev.SessionSlotClaimed(task_id=task.id, dispatch_id=dispatch_id)
    with transaction.atomic():
        # Counted under the write lock the transaction holds from its start (BEGIN IMMEDIATE), so two assignments
        # cannot both see room for one more.
        active = Task.objects.filter(status__in=ACTIVE).count()
        if active >= settings.CHORUS_MAX_ACTIVE_TASKS:
            raise LimitReached(
                f"{active} tasks are assigned or in progress: the limit is {settings.CHORUS_MAX_ACTIVE_TASKS} "
                "(CHORUS_MAX_ACTIVE_TASKS)"
            )
        try:
            store.append("assignment", session, slot.version if slot else 0, [claim])
        except ConcurrencyError:
            raise SessionBusy(f"session {session} was given another task meanwhile") from None
        try:
            message = session_services.session_send(session, prompt)
        except session_services.SessionError as exc:
            raise TaskConflict(f"cannot send task {task.id} to {session}: {exc}") from None
        assigned = ev.TaskAssigned(
            dispatch_id=dispatch_id,
            session=session,
            message_id=message.id,
            prompt=message.text,
            references=sent,
            git_head=head,
            via=via,
        )
        store.append("task", str(task.id), expected_version, [*reanchored, assigned])
    return get_task(task.id)


def dispatchable_tasks():
    """Ready, unarchived tasks whose references are sound, highest priority first, oldest first among equals;
    whether their dependencies are done is checked per task."""
    return Task.objects.filter(status=READY, archived=False, stale_references=0).order_by("-priority", "id")


def free_sessions() -> list[Session]:
    """Live sessions opted in to dispatch, idle, holding no task and with nothing queued for them; the ones idle
    the longest first."""
    taken = set(SessionSlot.objects.filter(task_id__isnull=False).values_list("session", flat=True))
    pending = set(
        OutboxMessage.objects.filter(state__in=[OutboxMessage.QUEUED, OutboxMessage.DELIVERING]).values_list(
            "session", flat=True
        )
    )
    sessions = Session.objects.filter(lifecycle="live", auto_dispatch=True, status="idle").order_by("status_since")
    return [s for s in sessions if s.name not in taken and s.name not in pending]


@dataclasses.dataclass
class DispatchRound:
    assigned: list[Task] = dataclasses.field(default_factory=list)
    # (task id, why it was passed over) for tasks that were next in line but could not go
    skipped: list[tuple[int, str]] = dataclasses.field(default_factory=list)


def dispatch_round() -> DispatchRound:
    """Give each free opted-in session the most urgent ready task whose dependencies are done, within
    CHORUS_MAX_ACTIVE_TASKS. Safe beside other rounds and people assigning: each assignment is one optimistic
    transaction, and a lost race only moves on to the next task or session."""
    result = DispatchRound()
    sessions = free_sessions()
    if not sessions:
        return result
    candidates = list(dispatchable_tasks())
    waiting = unfinished_dependencies(candidates)
    passed = {task.id for task in candidates if waiting[task.id]}
    for session in sessions:
        for task in candidates:
            if task.id in passed:
                continue
            try:
                result.assigned.append(task_assign(task.id, session.name, task.version, via="dispatch"))
            except SessionBusy:
                break  # someone else gave this session a task meanwhile
            except ConcurrencyError:
                passed.add(task.id)  # the task changed meanwhile; the next round sees it as it is now
                continue
            except LimitReached:
                return result
            except TaskError as exc:
                passed.add(task.id)
                result.skipped.append((task.id, str(exc)))
                continue
            passed.add(task.id)
            break
    return result


# --- following the session of an assigned task (the worker) ---------------------------------------------------


def _delivery_started(message_id: str) -> int | None:
    """The position at which the prompt's delivery began: whatever the session does after it answers the prompt."""
    started = next(store.read(stream_type="message", stream_id=message_id, event_types=["DeliveryStarted"]), None)
    return started.position if started else None


def _back_at_prompt(task: Task, session: Session, after: int) -> ev.TaskSentToReview | None:
    if session.status != "idle":
        return None
    returned = StatusChange.objects.filter(session=session.name, position__gt=after, to_status="idle").first()
    if returned is None:
        return None
    return ev.TaskSentToReview(evidence=f"{session.name} is back at its prompt: {returned.reason}"[:500])


def _follow(task: Task, now) -> list[DomainEvent]:
    """What the session's read models say about an assigned or working task now (level-triggered: a restarted
    worker reaches the same decision from the same rows)."""
    session = Session.objects.filter(pk=task.session).first()
    message = OutboxMessage.objects.filter(pk=task.message_id).first()
    if message is None or message.state in (OutboxMessage.FAILED, OutboxMessage.CANCELLED):
        why = (message.failure_reason or message.state) if message else "its message is gone"
        return [ev.TaskFailed(reason=f"the prompt did not reach {task.session}: {why}"[:500], git_head=git_head())]
    if session is None or not session.is_live:
        why = f"{session.lifecycle}: {session.status_reason}" if session else "gone"
        return [ev.TaskFailed(reason=f"session {task.session} {why}"[:500], git_head=git_head())]
    if task.status == IN_PROGRESS:
        review = _back_at_prompt(task, session, task.started_position)
        return [review] if review else []
    claimed = _delivery_started(message.id) if message.state != OutboxMessage.QUEUED else None
    if claimed is None:
        return []
    working = (
        StatusChange.objects.filter(session=session.name, position__gt=claimed, to_status__in=("busy", "waiting"))
        .order_by("position")
        .first()
    )
    if working is not None:
        started = ev.TaskStarted(
            evidence=f"{session.name} went {working.to_status} after its prompt was typed: {working.reason}"[:500],
            evidence_position=working.position,
        )
        review = _back_at_prompt(task, session, working.position)
        return [started, review] if review else [started]
    quiet = timedelta(seconds=settings.CHORUS_TASK_QUIET_SECONDS)
    if (
        message.state == OutboxMessage.DELIVERED
        and session.status == "idle"
        and not StatusChange.objects.filter(session=session.name, position__gt=claimed).exists()
        and now - message.finished_at >= quiet
    ):
        # Too quick to be seen busy (or seen by no worker): delivered, and idle ever since.
        return [
            ev.TaskStarted(
                evidence=f"its prompt was delivered ({message.confirmed_by}); {session.name} was never seen busy",
                evidence_position=claimed,
            ),
            ev.TaskSentToReview(evidence=f"{session.name} has been idle since its prompt was delivered"),
        ]
    return []


def tasks_follow() -> list[Task]:
    """Move each assigned or working task along with its session: in_progress once the agent works on the prompt,
    review when it is back at its prompt, failed when the session ended or the prompt was not delivered."""
    now = timezone.now()
    moved = []
    for task in Task.objects.filter(status__in=ACTIVE).order_by("id"):
        events = _follow(task, now)
        if not events:
            continue
        reason = events[-1].reason if isinstance(events[-1], ev.TaskFailed) else "sent to review"
        try:
            moved.append(_transition(task, task.version, events, reason))
        except ConcurrencyError:
            continue  # a person changed the task meanwhile; the next tick looks again
    return moved

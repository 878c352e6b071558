"""Services of what a task is and where a person moves it: create, edit, dependencies, archive, and the person's
transitions of the lifecycle (tasks_app.lifecycle). Each takes the task's version the caller saw
(`expected_version`, keyword-only); a stale one raises ConcurrencyError (HTTP 409) and writes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from django.db import transaction

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from tasks_app import events as ev
from tasks_app import lifecycle, selectors
from tasks_app.errors import TaskConflict, TaskError, UnknownTask
from tasks_app.git import git_head
from tasks_app.models import BACKLOG, READY, Task
from tasks_app.services.references import Range, new_range, reference_added, references_check
from tasks_app.services.stream import append, check_transition, task_at
from tasks_app.worktrees import SHARED, WORKTREE, check_isolation

TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
NOTE_MAX = 5_000
PRIORITY_LIMIT = 1_000_000
LABEL = re.compile(r"^[\w.:/+-]{1,40}$")
# The task stream's id is its number: creators race for the next one with expected version 0.
CREATE_ATTEMPTS = 20


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
        if not isinstance(label, str) or not LABEL.fullmatch(label.strip()):
            raise TaskError(f"invalid label {label!r}: use 1-40 letters, digits or . : / + - _ (no spaces)")
        cleaned.append(label.strip())
    return sorted(set(cleaned))


def _note(note: str) -> str:
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise TaskError(f"a note is text of at most {NOTE_MAX:,} characters")
    return note.strip()


def _new_status(status: str) -> str:
    if status not in (BACKLOG, READY):
        raise TaskError(f"a new task is backlog or ready, not {status!r}")
    return status


def _dependency(number: int) -> int:
    try:
        return selectors.task(number).id
    except UnknownTask as exc:
        raise UnknownTask(f"cannot depend on it: {exc}") from None


# --- create and edit -------------------------------------------------------------------------------------------


def task_create(
    title: str,
    description: str = "",
    priority: int = 0,
    labels: Iterable[str] = (),
    depends_on: Iterable[int] = (),
    references: Iterable[Range | str | Sequence] = (),
    status: str = READY,
    isolation: str = SHARED,
) -> Task:
    """A new task, numbered after the last one, with its dependencies and references, in one append; `isolation`
    "worktree" has it work in a git worktree of its own (tasks_app.services.worktrees)."""
    created = ev.TaskCreated(
        title=_title(title),
        description=_description(description),
        priority=_priority(priority),
        labels=_labels(labels),
        status=_new_status(status),
    )
    isolated = [ev.TaskIsolationChosen(isolation=WORKTREE)] if check_isolation(isolation) == WORKTREE else []
    waits_for = sorted({_dependency(number) for number in depends_on})
    ranges = [new_range(Range.of(spec)) for spec in references]
    for _attempt in range(CREATE_ATTEMPTS):
        number = selectors.last_task_number() + 1
        events: list[DomainEvent] = [created, *isolated]
        events += [ev.TaskDependencyAdded(depends_on=d) for d in waits_for]
        events += [reference_added(f"{number}.{i}", where, text) for i, (where, text) in enumerate(ranges, 1)]
        try:
            store.append("task", str(number), 0, events)
        except ConcurrencyError:
            continue  # another creator took this number; take the next
        return selectors.task(number)
    raise TaskConflict("could not find a free task number; try again")


def task_update(
    task_id: int,
    *,
    expected_version: int,
    title: str | None = None,
    description: str | None = None,
    priority: int | None = None,
    labels: Iterable[str] | None = None,
    add_labels: Iterable[str] = (),
    remove_labels: Iterable[str] = (),
) -> Task:
    """Change what a task says: each changed field is its own event, all in one append. `labels` replaces the
    set; `add_labels` and `remove_labels` change it."""
    task = task_at(task_id, expected_version)
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
    return append(task, expected_version, events)


def _cycle(task_id: int, depends_on: int) -> list[int] | None:
    """The path of dependencies from `depends_on` back to `task_id`, if there is one: adding the edge
    task_id -> depends_on would close it into a cycle."""
    graph = selectors.dependency_graph()
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


def task_add_dependency(task_id: int, depends_on: int, *, expected_version: int) -> Task:
    """Make the task wait for task `depends_on` to be done; refused when that would make a cycle, which is named."""
    task = task_at(task_id, expected_version)
    other = _dependency(depends_on)
    if other == task.id:
        raise TaskConflict(f"task {task.id} cannot depend on itself")
    if other in task.depends_on:
        return task
    path = _cycle(task.id, other)
    if path is not None:
        chain = " -> ".join(str(n) for n in [task.id, *path])
        raise TaskConflict(f"task {task.id} cannot depend on {other}: that makes a cycle {chain} (-> = waits for)")
    return append(task, expected_version, [ev.TaskDependencyAdded(depends_on=other)])


def task_remove_dependency(task_id: int, depends_on: int, *, expected_version: int) -> Task:
    task = task_at(task_id, expected_version)
    if depends_on not in task.depends_on:
        raise UnknownTask(f"task {task.id} does not depend on {depends_on}")
    return append(task, expected_version, [ev.TaskDependencyRemoved(depends_on=depends_on)])


def task_archive(task_id: int, *, expected_version: int) -> Task:
    """Hide a task from the lists and from dispatch (tasks are never deleted); not while it is at work."""
    task = task_at(task_id, expected_version)
    if task.archived:
        return task
    if lifecycle.holds_slot(task.status):
        raise TaskConflict(f"task {task.id} is {task.status}; unassign, cancel or finish it before archiving it")
    return append(task, expected_version, [ev.TaskArchived()])


def task_unarchive(task_id: int, *, expected_version: int) -> Task:
    """Bring an archived task back; its references, not followed while it was archived, are checked now."""
    task = task_at(task_id, expected_version)
    if not task.archived:
        return task
    with transaction.atomic():
        append(task, expected_version, [ev.TaskUnarchived()])
        return references_check(task.id, expected_version=expected_version + 1)


# --- a person's transitions (leaving assigned/in_progress frees the session: see tasks_app.policies) ----------


def _move(task_id: int, expected_version: int, verb: str, event: Callable[[], DomainEvent]) -> Task:
    """The person's transition `verb`, if the task is where it starts; `event` is made only then (it may run git)."""
    task = task_at(task_id, expected_version)
    check_transition(task, verb)
    return append(task, expected_version, [event()])


def task_ready(task_id: int, *, expected_version: int) -> Task:
    return _move(task_id, expected_version, "made ready", ev.TaskReadied)


def task_shelve(task_id: int, *, expected_version: int) -> Task:
    return _move(task_id, expected_version, "moved to the backlog", ev.TaskShelved)


def task_done(task_id: int, *, expected_version: int, note: str = "") -> Task:
    def done() -> ev.TaskDone:
        return ev.TaskDone(note=_note(note), git_head=git_head(selectors.task(task_id)))

    return _move(task_id, expected_version, "marked done", done)


def task_fail(task_id: int, *, expected_version: int, reason: str = "") -> Task:
    def failed() -> ev.TaskFailed:
        reason_given = _note(reason) or "marked failed by a person"
        return ev.TaskFailed(reason=reason_given, git_head=git_head(selectors.task(task_id)))

    return _move(task_id, expected_version, "marked failed", failed)


def task_cancel(task_id: int, *, expected_version: int, reason: str = "") -> Task:
    return _move(task_id, expected_version, "cancelled", lambda: ev.TaskCancelled(reason=_note(reason)))


def task_unassign(task_id: int, *, expected_version: int, reason: str = "") -> Task:
    """Take an assigned or working task back from its session; it is ready again."""
    return _move(task_id, expected_version, "unassigned", lambda: ev.TaskUnassigned(reason=_note(reason)))


def task_reopen(task_id: int, *, expected_version: int, reason: str = "") -> Task:
    return _move(task_id, expected_version, "reopened", lambda: ev.TaskReopened(reason=_note(reason)))


# The person's transition that leads to each status, when more than one could (ready) or none can (the error).
_TO = {
    BACKLOG: "moved to the backlog",
    lifecycle.DONE: "marked done",
    lifecycle.FAILED: "marked failed",
    lifecycle.CANCELLED: "cancelled",
}


def task_set_status(task_id: int, status: str, *, expected_version: int, note: str = "") -> Task:
    """Move a task to `status` by the person's transition that leads there (the admin's and the API's "set
    status"). assigned, in_progress and review are reached by assigning and by following the session."""
    task = task_at(task_id, expected_version)
    if status == task.status:
        return task
    if status != READY and status not in _TO:
        raise TaskError(
            f"a person sets a task to backlog, ready, done, failed or cancelled, not {status!r}: assigned comes "
            "from assigning it, in_progress and review from following its session"
        )
    transition = lifecycle.person_transition(task.status, status)
    verb = transition.verb if transition is not None else _TO[status]
    moves = {
        "made ready": lambda: task_ready(task.id, expected_version=expected_version),
        "moved to the backlog": lambda: task_shelve(task.id, expected_version=expected_version),
        "marked done": lambda: task_done(task.id, expected_version=expected_version, note=note),
        "marked failed": lambda: task_fail(task.id, expected_version=expected_version, reason=note),
        "cancelled": lambda: task_cancel(task.id, expected_version=expected_version, reason=note),
        "unassigned": lambda: task_unassign(task.id, expected_version=expected_version, reason=note),
        "reopened": lambda: task_reopen(task.id, expected_version=expected_version, reason=note),
    }
    return moves[verb]()

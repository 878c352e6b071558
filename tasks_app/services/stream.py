"""The task stream as every task service writes it: the task at the version its caller saw, a transition checked
against the lifecycle, and the append."""

from __future__ import annotations

from collections.abc import Sequence

from events_app import store
from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from tasks_app import lifecycle, selectors
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import Task


def task_at(task_id: int | str, expected_version: int) -> Task:
    """The task, if the caller saw its current version; checked here too so that a stale request fails before any
    document is read (the append checks it again, atomically)."""
    task = selectors.task(task_id)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TaskError("the task's version (the one you saw) is required")
    if task.version != expected_version:
        raise ConcurrencyError("task", str(task.id), expected_version, task.version)
    return task


def check_transition(task: Task, verb: str) -> None:
    """TaskConflict, with the lifecycle's words, when the transition `verb` cannot start from the task's status."""
    try:
        lifecycle.check(task.status, verb, task_id=task.id)
    except lifecycle.NotAllowed as exc:
        raise TaskConflict(str(exc)) from None


def append(task: Task, expected_version: int, events: Sequence[DomainEvent]) -> Task:
    """Append the task's events at `expected_version` and return the task as they left it."""
    store.append("task", str(task.id), expected_version, list(events))
    return selectors.task(task.id)

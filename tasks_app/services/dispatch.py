"""Dispatch: each free opted-in session gets the most urgent ready task whose dependencies are done, within
CHORUS_MAX_ACTIVE_TASKS. Run by the worker's dispatch policy whenever something made a dispatch possible (see
tasks_app.policies), and by hand from the API and the command line."""

from __future__ import annotations

import dataclasses

from events_app.store import ConcurrencyError
from tasks_app import selectors
from tasks_app.errors import TaskError
from tasks_app.models import Task
from tasks_app.services.assignment import LimitReached, SessionBusy, task_assign


@dataclasses.dataclass
class DispatchRound:
    assigned: list[Task] = dataclasses.field(default_factory=list)
    # (task id, why it was passed over) for tasks that were next in line but could not go
    skipped: list[tuple[int, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class DispatchView:
    """What a round decides from, read once at its start: the free sessions (idle the longest first) and the ready
    tasks (most urgent first). Another dispatcher's view may be stale by the time it writes; that is safe."""

    sessions: list
    tasks: list

    @classmethod
    def now(cls) -> DispatchView:
        """No free sessions while a budget pauses dispatch: nothing is given out until a person resumes it."""
        sessions = [] if selectors.dispatch_pause() is not None else selectors.free_sessions()
        return cls(sessions, list(selectors.dispatchable_tasks()) if sessions else [])


def dispatch_round(view: DispatchView | None = None) -> DispatchRound:
    """Give each free opted-in session the most urgent ready task whose dependencies are done. Safe beside other
    rounds and people assigning: each assignment is one optimistic transaction, and a lost race only moves on to
    the next task or session."""
    result = DispatchRound()
    view = view or DispatchView.now()
    sessions, candidates = view.sessions, view.tasks
    if not sessions:
        return result
    waiting = selectors.blocked_by(candidates)
    passed = {task.id for task in candidates if waiting[task.id]}
    for session in sessions:
        for task in candidates:
            if task.id in passed:
                continue
            try:
                assigned = task_assign(task.id, session.name, expected_version=task.version, via="dispatch")
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
            result.assigned.append(assigned)
            passed.add(task.id)
            break
    return result

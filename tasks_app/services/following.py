"""A task at work follows its session: assigned -> in_progress once the agent works on the prompt, -> review when it
is back at its prompt, -> failed when the session ended or the prompt did not reach it.

The policies in tasks_app.policies call these inside the transaction of the session's or the message's event (the
read models already show it), so the task moves in the order the log says things happened. Only the quiet period
is a matter of time: the worker's timer (tasks_app.worker) calls tasks_review_quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from events_app.domain import DomainEvent
from events_app.store import ConcurrencyError
from sessions_app import selectors as session_selectors
from sessions_app.models import LIVE
from tasks_app import events as ev
from tasks_app import lifecycle, selectors
from tasks_app.git import git_head
from tasks_app.models import Task
from tasks_app.services.stream import append

WORKING = ("busy", "waiting")


def _can(task: Task, verb: str) -> bool:
    return task.status in lifecycle.BY_VERB[verb].sources


def _move(task: Task, verb: str, events: Sequence[DomainEvent]) -> Task | None:
    """The session's transition `verb` if it may start from the task's status; None (nothing written) if not."""
    return append(task, task.version, events) if _can(task, verb) else None


def task_follow_status(task_id: int, *, to_status: str, reason: str, position: int) -> Task | None:
    """The task's session changed its status at `position`. An assigned task whose prompt's delivery had begun,
    with the agent now busy or waiting, is in progress (what the agent did before its prompt was typed does not
    count); a task in progress whose agent is idle again goes to review."""
    task = selectors.task(task_id)
    if to_status in WORKING and _can(task, "started"):
        if session_selectors.delivery_started(task.message_id) is None:
            return None
        started = ev.TaskStarted(
            evidence=f"{task.session} went {to_status} after its prompt was typed: {reason}"[:500],
            evidence_position=position,
        )
        return _move(task, "started", [started])
    if to_status == "idle" and task.started_position is not None and position > task.started_position:
        review = ev.TaskSentToReview(evidence=f"{task.session} is back at its prompt: {reason}"[:500])
        return _move(task, "sent to review", [review])
    return None


def _failed(task: Task, reason: str) -> Task | None:
    return _move(task, "marked failed", [ev.TaskFailed(reason=reason[:500], git_head=git_head(task))])


def task_follow_session_end(task_id: int) -> Task | None:
    """The task's session was killed or stopped: the task failed, with the session's reason."""
    task = selectors.task(task_id)
    session = session_selectors.session_named(task.session)
    return _failed(task, f"session {task.session} {session.lifecycle}: {session.status_reason}")


def task_follow_prompt_lost(task_id: int, *, why: str) -> Task | None:
    """The task's prompt will never be typed (its delivery failed, or it was cancelled): the task failed. When its
    session has ended, that is why, whichever reaction to the end came first: the task says the session's reason."""
    task = selectors.task(task_id)
    session = session_selectors.session_named(task.session)
    if session is not None and session.lifecycle != LIVE:
        return task_follow_session_end(task_id)
    return _failed(task, f"the prompt did not reach {task.session}: {why}")


def tasks_review_quiet(now: datetime | None = None) -> list[Task]:
    """Assigned tasks whose prompt was delivered to an agent never seen busy, idle ever since, for
    CHORUS_TASK_QUIET_SECONDS: too quick to be seen at work (or seen by no worker), so they go to review."""
    now = now or timezone.now()
    quiet = timedelta(seconds=settings.CHORUS_TASK_QUIET_SECONDS)
    moved = []
    for task in selectors.tasks_at_work().filter(status=lifecycle.ASSIGNED):
        delivery = session_selectors.quiet_delivery(task.message_id)
        if delivery is None or now - delivery[0].finished_at < quiet:
            continue
        message, started = delivery
        events = [
            ev.TaskStarted(
                evidence=f"its prompt was delivered ({message.confirmed_by}); {task.session} was never seen busy",
                evidence_position=started,
            ),
            ev.TaskSentToReview(evidence=f"{task.session} has been idle since its prompt was delivered"),
        ]
        try:
            moved.append(_move(task, "started", events))
        except ConcurrencyError:
            continue  # a person changed the task meanwhile; the next tick looks again
    return moved

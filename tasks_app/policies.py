"""Every reaction of tasks to an event, its own or another app's (events_app.policies). Each decides which task is
concerned and calls a service; the services decide and append.

In the event's transaction (the read models already show the event; a reaction that raises rolls the event back):
- references follow their document (DocumentChanged, DocumentRemoved, DocumentAdded of a path that was one before);
- a task at work follows its session and its prompt (status changes, the session's end, a prompt that was lost):
  in the log's order, so whichever the log says happened first decides;
- a task leaving work frees its session's slot and withdraws its prompt if it is still queued;
- a task leaving work and review releases its path claims.

In the worker, after the commit (at least once, and when the worker starts):
- a snapshot of the checkout when a task goes to work and when it reaches review (change attribution);
- dispatch, on whatever can make one possible: a session idle, opted in or freed, a task made ready, a dependency
  done, a reference sound again, claims released, dispatch resumed;
- the desktop hears that a budget paused dispatch, and of an edit under another task's claim.
In the transaction: spend recorded that crosses a budget pauses dispatch.
"""

from __future__ import annotations

import logging

from django.conf import settings

from documents_app import selectors as document_selectors
from documents_app.events import DocumentAdded, DocumentChanged, DocumentRemoved
from events_app.policies import policy, worker_policy
from events_app.store import RecordedEvent
from sessions_app import notify
from sessions_app.events import (
    MessageCancelled,
    PromptDelivered,
    PromptDeliveryFailed,
    SessionAutoDispatchSet,
    SessionKilled,
    SessionStatusChanged,
    SessionStopped,
)
from tasks_app import events as ev
from tasks_app import lifecycle, selectors, services

log = logging.getLogger("chorus.worker.tasks")


@policy(DocumentChanged, DocumentRemoved, DocumentAdded)
def references_follow_their_document(recorded: RecordedEvent) -> None:
    event, path = recorded.event, recorded.stream_id
    if isinstance(event, DocumentAdded) and recorded.version == 1:
        return  # a path that was never a document: nothing refers to it yet
    if not selectors.references_for_document(path):
        return
    if isinstance(event, DocumentRemoved):
        services.references_follow(path, None)
        return
    sha256 = event.new_sha256 if isinstance(event, DocumentChanged) else event.sha256
    lines = document_selectors.document_current_lines(path, sha256)
    if lines is not None:  # None: the file changed again since; the event that records it brings its text
        services.references_follow(path, lines)


@policy(SessionStatusChanged)
def tasks_follow_their_session(recorded: RecordedEvent) -> None:
    for task in selectors.tasks_at_work(recorded.stream_id):
        services.task_follow_status(
            task.id, to_status=recorded.event.to_status, reason=recorded.event.reason, position=recorded.position
        )


@policy(SessionKilled, SessionStopped)
def tasks_fail_with_their_session(recorded: RecordedEvent) -> None:
    for task in selectors.tasks_at_work(recorded.stream_id):
        services.task_follow_session_end(task.id)


@policy(PromptDeliveryFailed, MessageCancelled)
def tasks_fail_with_their_prompt(recorded: RecordedEvent) -> None:
    task = selectors.task_waiting_on(recorded.stream_id)
    if task is None:
        return
    failed = isinstance(recorded.event, PromptDeliveryFailed)
    services.task_follow_prompt_lost(task.id, why=(recorded.event.reason or "failed") if failed else "cancelled")


# The events of the transitions that take a task out of work, and what its session's slot is released for when the
# event gives no reason of its own.
LEAVING_WORK = tuple(
    transition.event_type
    for transition in lifecycle.TRANSITIONS
    if any(map(lifecycle.holds_slot, transition.sources)) and not lifecycle.holds_slot(transition.target)
)
RELEASED = {
    "TaskSentToReview": "sent to review",
    "TaskFinished": "its agent finished it",
    "TaskDone": "the task is done",
    "TaskFailed": "the task failed",
    "TaskCancelled": "the task was cancelled",
    "TaskUnassigned": "unassigned",
}


@policy(*(getattr(ev, name) for name in LEAVING_WORK))
def a_task_leaving_work_frees_its_session(recorded: RecordedEvent) -> None:
    reason = getattr(recorded.event, "reason", "") or RELEASED[recorded.event_type]
    services.slot_release(int(recorded.stream_id), reason=reason)


@policy(*(getattr(ev, name) for name in LEAVING_WORK))
def a_task_leaving_work_withdraws_its_prompt(recorded: RecordedEvent) -> None:
    services.prompt_withdraw(int(recorded.stream_id))


# The events of the transitions that take a task out of work and review: it no longer holds its path claims.
LEAVING_CLAIMS = tuple(
    transition.event_type
    for transition in lifecycle.TRANSITIONS
    if any(map(lifecycle.holds_claims, transition.sources)) and not lifecycle.holds_claims(transition.target)
)


@policy(*(getattr(ev, name) for name in LEAVING_CLAIMS))
def a_task_leaving_work_and_review_releases_its_claims(recorded: RecordedEvent) -> None:
    task_id = int(recorded.stream_id)
    if selectors.live_claims(task_id=task_id):
        services.claims_release(task_id, reason=f"task {lifecycle.status_after(recorded.event_type)}")


@worker_policy(ev.ClaimedPathChanged, per_host=True)
def both_sessions_hear_of_an_edit_under_another_tasks_claim(batch: list[RecordedEvent]) -> None:
    """A desktop notice per change git found under another task's claim (said once per event)."""
    notifier = notify.notifier()
    for recorded in batch:
        e = recorded.event
        body = f"task {e.task_id} changed {e.path}, claimed by task {e.holder_task} (session {e.holder_session})"
        notifier.notify(
            recorded.stream_id, "claim", f"{recorded.stream_id} edited a claimed file", body, key=recorded.position
        )


@worker_policy(ev.TaskAssigned, ev.TaskSentToReview, ev.TaskFinished, per_host=True)
def the_checkout_is_recorded_at_start_and_review(batch: list[RecordedEvent]) -> None:
    """By the worker of the host whose checkout the task's session works in."""
    for recorded in batch:
        if not selectors.works_here(int(recorded.stream_id)):
            continue
        moment = "start" if isinstance(recorded.event, ev.TaskAssigned) else "review"
        services.changes_snapshot(int(recorded.stream_id), moment)


# What was last said about a task passed over, so a task that cannot go is reported once, not every round.
passed_over: dict[int, str] = {}


@worker_policy(
    SessionStatusChanged,
    SessionAutoDispatchSet,
    PromptDelivered,
    PromptDeliveryFailed,
    MessageCancelled,
    ev.SessionSlotReleased,
    ev.PathsReleased,
    ev.TaskCreated,
    ev.TaskReadied,
    ev.TaskReopened,
    ev.TaskUnassigned,
    ev.TaskUnarchived,
    ev.TaskDone,
    ev.TaskDependencyRemoved,
    ev.ReferenceReanchored,
    ev.ReferenceRefreshed,
    ev.ReferenceRemoved,
    ev.DispatchResumed,
    at_start=True,
)
def ready_tasks_go_to_free_sessions(batch: list[RecordedEvent]) -> None:
    if settings.CHORUS_READ_ONLY:
        return  # a dispatch types a prompt into a terminal
    dispatched = services.dispatch_round()
    for task in dispatched.assigned:
        log.info("task %s dispatched to %s", task.id, task.session)
        passed_over.pop(task.id, None)
    for task_id, reason in dispatched.skipped:
        if passed_over.get(task_id) != reason:
            log.warning("task %s was not dispatched: %s", task_id, reason)
            passed_over[task_id] = reason


@policy(ev.UsageRecorded)
def spend_over_a_budget_pauses_dispatch(recorded: RecordedEvent) -> None:
    paused = services.budget_crossed(recorded.event)
    if paused is not None:
        services.dispatch_pause(paused)


@worker_policy(ev.DispatchPaused, per_host=True)
def the_desktop_hears_when_a_budget_pauses_dispatch(batch: list[RecordedEvent]) -> None:
    notifier = notify.notifier()
    for recorded in batch:
        body = f"{recorded.event.reason}: no task is given out until you resume dispatch"
        notifier.notify(
            "dispatch", "budget", "Chorus paused dispatch", body, key=(recorded.position, recorded.recorded_at)
        )

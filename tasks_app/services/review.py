"""Services of a task's review: a person's comments on lines of its diff (the `review` stream), changes requested
(the comments go to the task's session as one queued message, and the task is back in progress holding the
session's slot) and approval (done, with HEAD recorded)."""

from __future__ import annotations

import uuid

from django.db import transaction

from events_app import store
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from tasks_app import changes, lifecycle, selectors
from tasks_app import events as ev
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import ReviewComment, Task
from tasks_app.services.assignment import SessionBusy, slot_claim
from tasks_app.services.changes import review_append
from tasks_app.services.stream import append, check_transition, task_at
from tasks_app.services.tasks import task_done

COMMENT_MAX = 5_000
LINE_MAX = 10_000_000


def _in_review(task: Task, verb: str) -> None:
    if task.status != lifecycle.REVIEW:
        raise TaskConflict(f"task {task.id} is {task.status}, so it cannot be {verb} (only in review)")


def review_comment(task_id: int, path: str, line: int, text: str) -> ReviewComment:
    """A person's comment on line `line` of `path`, one of the files the task changed, while it is in review."""
    task = selectors.task(task_id)
    _in_review(task, "commented on")
    if not isinstance(text, str) or not text.strip() or len(text) > COMMENT_MAX:
        raise TaskError(f"a comment is text of 1 to {COMMENT_MAX:,} characters")
    if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= LINE_MAX:
        raise TaskError("a comment names a line by its number (1 or more)")
    if not isinstance(path, str) or path not in {change.path for change in selectors.changed_files(task.id)}:
        raise TaskError(f"task {task.id} did not change {path!r}: comment on one of the files it changed")
    comment_id = uuid.uuid4().hex
    review_append(task.id, [ev.ReviewCommented(comment_id=comment_id, path=path, line=line, text=text.strip())])
    return selectors.review_comment(comment_id)


def task_request_changes(task_id: int, *, expected_version: int) -> Task:
    """Send the review's comments not sent yet to the task's session as one queued message (file:line with each),
    and put the task back in progress, holding the session's slot again: all in one transaction, or nothing."""
    task = task_at(task_id, expected_version)
    check_transition(task, "sent back with changes requested")
    comments = selectors.review_comments(task.id, pending=True)
    if not comments:
        raise TaskConflict(f"task {task.id} has no comment to send: comment on a line of its diff first")
    session = session_selectors.session_named(task.session)
    if session is None or not session.is_live:
        raise TaskConflict(f"task {task.id}'s session {task.session or '(none)'} is not live: reopen the task instead")
    slot = selectors.slot(task.session)
    if slot is not None and slot.task_id is not None:
        raise SessionBusy(f"session {task.session} is working on task {slot.task_id} now")
    text = changes.review_message(task.id, [(c.path, c.line, c.text) for c in comments])
    with transaction.atomic():
        slot_claim(task.session, slot, ev.SessionSlotClaimed(task_id=task.id, dispatch_id=task.dispatch_id))
        try:
            message = session_services.session_send(task.session, text)
        except session_services.SessionError as exc:
            raise TaskConflict(f"cannot send the comments to {task.session}: {exc}") from None
        requested = ev.TaskChangesRequested(
            message_id=message.id, comments=[c.id for c in comments], evidence_position=store.last_position()
        )
        return append(task, expected_version, [requested])


def task_approve(task_id: int, *, expected_version: int, note: str = "") -> Task:
    """The person approves the task in review: it is done, and HEAD is recorded (TaskDone)."""
    task = task_at(task_id, expected_version)
    _in_review(task, "approved")
    return task_done(task.id, expected_version=expected_version, note=note or "approved in review")

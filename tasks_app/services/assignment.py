"""Services of assignment: a task's prompt queued for a session, holding the session's slot (its `assignment`
stream) while the task is at work, and the slot and the prompt given back when it leaves work. A session's agent
may also pull a task itself (task_pull, its next_task tool): the same claim, without a queued prompt.

A task's declared path claims become live in the same transaction (tasks_app.services.claims): a task whose claims
overlap another task's live ones is refused, and so passed over by dispatch and next_task.

One task per session and one session per task, whoever races: the slot is claimed at the version read before the
transaction (SessionBusy otherwise) and the task is recorded at the version its caller saw (ConcurrencyError), in
one transaction with the queued prompt, so whoever loses has nothing of theirs written.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from events_app import store
from events_app.store import ConcurrencyError
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from tasks_app import anchoring, lifecycle, prompts, selectors
from tasks_app import events as ev
from tasks_app.errors import TaskConflict, TaskError, UnknownTask
from tasks_app.git import git_head
from tasks_app.models import SessionSlot, Task
from tasks_app.services.claims import claims_on_assignment
from tasks_app.services.references import references_placed
from tasks_app.services.stream import append, check_transition, task_at
from tasks_app.worktrees import WORKTREE


class SessionBusy(TaskConflict):
    """The session already works on a task (its slot is taken)."""


class LimitReached(TaskConflict):
    """CHORUS_MAX_ACTIVE_TASKS tasks are assigned or in progress."""


class NotAnAgent(TaskConflict):
    """The session runs a program that is no agent (a shell): its prompt would be typed in as commands."""


def _check_agent(session, via: str, confirmed: bool) -> None:
    """Only agents take tasks, unless a person says they mean it (dispatch and agents never can)."""
    if session_selectors.is_agent(session.profile) or (confirmed and via == "person"):
        return
    why = (
        f"session {session.name} runs {session.profile}, which is not an agent: "
        "its prompt would be typed in as commands"
    )
    if via == "person":
        raise NotAnAgent(f"{why}; confirm to assign it anyway")
    raise NotAnAgent(why)


def _check_place(task: Task, session) -> None:
    """A task with isolation "worktree" goes only to a session working in its worktree, and a session working in
    a task's worktree takes only that task."""
    owner = selectors.worktree_owner(session.cwd)
    if owner is not None and owner != task.id:
        raise TaskConflict(f"session {session.name} works in task {owner}'s worktree: it takes only task {owner}")
    if task.isolation == WORKTREE and owner != task.id:
        raise TaskConflict(
            f"task {task.id} works in a worktree of its own and session {session.name} does not work there: start a "
            f"session for it there (tasks worktree start {task.id} --profile PROFILE)"
        )


def check_task_assignable(task: Task) -> None:
    """What the task itself must be for an assignment: unarchived, where assigning may start, its dependencies
    done."""
    if task.archived:
        raise TaskConflict(f"task {task.id} is archived")
    check_transition(task, "assigned")
    waiting = selectors.blocked_by([task])[task.id]
    if waiting:
        raise TaskConflict(f"task {task.id} waits for task(s) {', '.join(map(str, waiting))}, not done yet")


def _check_assignable(task: Task, session: str, via: str, confirm_not_agent: bool) -> None:
    check_task_assignable(task)
    found = session_selectors.session_named(session)
    if found is None:
        raise UnknownTask(f"no session named {session!r}")
    if not found.is_live:
        raise TaskConflict(f"session {session} is {found.lifecycle}")
    _check_agent(found, via, confirm_not_agent)
    _check_place(task, found)


def task_assign(
    task_id: int, session: str, *, expected_version: int, via: str = "person", confirm_not_agent: bool = False
) -> Task:
    """Build the task's prompt from the current text of its references and queue it for `session`, which must run
    an agent (a person may confirm a session that does not: `confirm_not_agent`).

    One transaction claims the session's slot, queues the message and records the assignment with its audit
    (prompt, reference hashes, git HEAD). Moved text is re-anchored in the same append; a stale or missing
    reference refuses the assignment."""
    if via not in ("person", "dispatch", "handoff"):
        raise TaskError(f"unknown assignment route {via!r}")
    return _assign(task_id, session, expected_version=expected_version, via=via, confirm_not_agent=confirm_not_agent)


def task_pull(task_id: int, session: str, *, expected_version: int) -> Task:
    """The session's agent takes the task itself (its next_task tool): assigned as task_assign does, under the
    same slot rules and limit, but no prompt is queued (the tool gives it to the agent, recorded in the
    assignment) and the task is in progress at once, since the agent is at work on it."""
    return _assign(task_id, session, expected_version=expected_version, via=lifecycle.AGENT)


def _assign(task_id: int, session: str, *, expected_version: int, via: str, confirm_not_agent: bool = False) -> Task:
    task = task_at(task_id, expected_version)
    _check_assignable(task, session, via, confirm_not_agent)
    slot = selectors.slot(session)
    if slot is not None and slot.task_id is not None:
        raise SessionBusy(f"session {session} is already working on task {slot.task_id}")
    cache: dict[str, list[str]] = {}
    references, reanchored = references_placed(task, cache)
    tools = session_selectors.agent_credential(session) is not None
    prompt = prompts.build_prompt(task, references, lines=cache, tools=tools)
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
    head = git_head(task)
    dispatch_id = uuid.uuid4().hex
    claim = ev.SessionSlotClaimed(task_id=task.id, dispatch_id=dispatch_id)
    with transaction.atomic():
        slot_claim(session, slot, claim)
        # Its declared claims become live in the same transaction, checked against the live ones: of two tasks
        # whose claims overlap, only one goes to work (ClaimConflict names the holder; nothing is written).
        claims_on_assignment(task, session)
        audit = {"dispatch_id": dispatch_id, "session": session, "references": sent, "git_head": head, "via": via}
        if via == lifecycle.AGENT:
            # Whatever the session shows after this moment is its work on the task (see TaskStarted).
            now = store.last_position()
            started = ev.TaskStarted(evidence=f"{session} took it with next_task", evidence_position=now)
            events = [ev.TaskAssigned(message_id="", prompt=prompt, **audit), started]
        else:
            try:
                message = session_services.session_send(session, prompt)
            except session_services.SessionError as exc:
                raise TaskConflict(f"cannot send task {task.id} to {session}: {exc}") from None
            events = [ev.TaskAssigned(message_id=message.id, prompt=message.text, **audit)]
        return append(task, expected_version, [*reanchored, *events])


def slot_claim(session: str, slot: SessionSlot | None, claim: ev.SessionSlotClaimed) -> None:
    """Take the session's slot, as `slot` (read before the transaction) showed it, inside the caller's transaction;
    refused when the limit of tasks at work is reached or another claim came first."""
    # Counted under the write lock the transaction holds from its start (BEGIN IMMEDIATE), so two assignments
    # cannot both see room for one more.
    active = selectors.tasks_at_work().count()
    if active >= settings.CHORUS_MAX_ACTIVE_TASKS:
        raise LimitReached(
            f"{active} tasks are assigned or in progress: the limit is {settings.CHORUS_MAX_ACTIVE_TASKS} "
            "(CHORUS_MAX_ACTIVE_TASKS)"
        )
    try:
        store.append("assignment", session, slot.version if slot else 0, [claim])
    except ConcurrencyError:
        raise SessionBusy(f"session {session} was given another task meanwhile") from None


def slot_release(task_id: int, *, reason: str) -> None:
    """Free the session slot the task holds, once the task is no longer at work."""
    task = selectors.task(task_id)
    slot = selectors.slot(task.session) if task.session else None
    if lifecycle.holds_slot(task.status) or slot is None or slot.task_id != task.id:
        return
    released = ev.SessionSlotReleased(task_id=task.id, reason=reason[:500])
    store.append("assignment", slot.session, slot.version, [released])


def prompt_withdraw(task_id: int) -> None:
    """Cancel the task's prompt if it still waits in the outbox, once the task is no longer at work (a prompt
    claimed for delivery is being typed and can no longer be withdrawn). A prompt whose session has ended is left
    to that end, which fails its queued messages with its reason, whichever of the two reactions runs first."""
    task = selectors.task(task_id)
    if (
        task.message_id
        and not lifecycle.holds_slot(task.status)
        and session_selectors.message_waiting(task.message_id)
        and session_selectors.sessions(include_ended=False).filter(pk=task.session).exists()
    ):
        session_services.message_cancel(task.message_id)

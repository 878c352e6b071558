"""The task state machine, written once: the statuses, every transition (its event, where it starts, where it
leads, who makes it) and what a person may do from each status. Services check requests against it, projectors
take a task's new status from it, pages and templates offer the moves it allows. Pure: no database, no Django.
"""

from __future__ import annotations

import dataclasses

BACKLOG, READY, ASSIGNED, IN_PROGRESS, REVIEW, DONE, FAILED, CANCELLED = (
    "backlog",
    "ready",
    "assigned",
    "in_progress",
    "review",
    "done",
    "failed",
    "cancelled",
)
STATUSES = (BACKLOG, READY, ASSIGNED, IN_PROGRESS, REVIEW, DONE, FAILED, CANCELLED)
# A task in one of these holds its session's slot and counts against CHORUS_MAX_ACTIVE_TASKS.
ACTIVE = (ASSIGNED, IN_PROGRESS)
FINISHED = (DONE, FAILED, CANCELLED)
# A task in one of these holds its path claims (tasks_app.claims): at work, and in review until a person decides.
HOLDS_CLAIMS = (ASSIGNED, IN_PROGRESS, REVIEW)
LABELS = {
    BACKLOG: "Backlog",
    READY: "Ready",
    ASSIGNED: "Assigned",
    IN_PROGRESS: "In progress",
    REVIEW: "Review",
    DONE: "Done",
    FAILED: "Failed",
    CANCELLED: "Cancelled",
}

# Who makes a transition: a person (page, API, admin, command), an assignment (a person's or dispatch's), the
# worker following the task's session, or the task's agent itself through its Chorus tools.
# A reviewer is a person acting through the review (its comments go to the agent), not a plain move of the board.
PERSON, ASSIGNMENT, SESSION, AGENT, REVIEWER = "person", "assignment", "session", "agent", "reviewer"


@dataclasses.dataclass(frozen=True)
class Transition:
    verb: str  # as messages say it: "task 3 is done, so it cannot be {verb}"
    event_type: str
    sources: tuple[str, ...]
    target: str
    by: tuple[str, ...]


TRANSITIONS = (
    Transition("made ready", "TaskReadied", (BACKLOG,), READY, (PERSON,)),
    Transition("moved to the backlog", "TaskShelved", (READY,), BACKLOG, (PERSON,)),
    Transition("assigned", "TaskAssigned", (BACKLOG, READY), ASSIGNED, (ASSIGNMENT,)),
    Transition("started", "TaskStarted", (ASSIGNED,), IN_PROGRESS, (SESSION, AGENT)),
    Transition("sent to review", "TaskSentToReview", ACTIVE, REVIEW, (SESSION,)),
    Transition("finished", "TaskFinished", ACTIVE, REVIEW, (AGENT,)),
    Transition("sent back with changes requested", "TaskChangesRequested", (REVIEW,), IN_PROGRESS, (REVIEWER,)),
    Transition("marked done", "TaskDone", (*ACTIVE, REVIEW), DONE, (PERSON,)),
    Transition("marked failed", "TaskFailed", (*ACTIVE, REVIEW), FAILED, (PERSON, SESSION, AGENT)),
    Transition("cancelled", "TaskCancelled", (BACKLOG, READY, *ACTIVE, REVIEW), CANCELLED, (PERSON,)),
    Transition("unassigned", "TaskUnassigned", ACTIVE, READY, (PERSON,)),
    Transition("reopened", "TaskReopened", (REVIEW, *FINISHED), READY, (PERSON,)),
)
BY_VERB = {t.verb: t for t in TRANSITIONS}
BY_EVENT = {t.event_type: t for t in TRANSITIONS}


class NotAllowed(ValueError):
    """The transition does not start from the task's status; the message names both."""


def check(status: str, verb: str, *, task_id: int | str) -> Transition:
    """The transition named by `verb`, if it may start from `status`; NotAllowed says why not."""
    transition = BY_VERB[verb]
    if status not in transition.sources:
        raise NotAllowed(
            f"task {task_id} is {status}, so it cannot be {verb} (only from {', '.join(transition.sources)})"
        )
    return transition


def status_after(event_type: str) -> str:
    """The status a task is in after a transition's event."""
    return BY_EVENT[event_type].target


def person_transition(status: str, target: str) -> Transition | None:
    """The person's transition that leads from `status` to `target`, if there is one (at most one is)."""
    return next(
        (t for t in TRANSITIONS if PERSON in t.by and t.target == target and status in t.sources),
        None,
    )


def person_targets(status: str) -> tuple[str, ...]:
    """Where a person may move a task that is `status`, in board order."""
    return tuple(target for target in STATUSES if person_transition(status, target) is not None)


def assignable(status: str) -> bool:
    return status in BY_VERB["assigned"].sources


def holds_slot(status: str) -> bool:
    """Whether a task in `status` holds its session's slot (and counts against the limit of active tasks)."""
    return status in ACTIVE


def holds_claims(status: str) -> bool:
    """Whether a task in `status` holds its path claims."""
    return status in HOLDS_CLAIMS

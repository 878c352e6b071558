"""One task: its references with their state and diff, dependencies, its timeline (dispatches with their prompts and
its agents' progress notes), the agent's own summary or reason, the moves a person may make, assignment while
the state machine allows it, and its path claims (held, declared, overlapping others', edits they refused). Events
of the task, of the tasks it waits for and of those waiting for it re-render it; its agents' calls re-render the
timeline, and every claim event its claims."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from chorus_site.pages.base import AGENT, CLAIM, MESSAGE, SESSION, TASK, Fragment, LivePage, found
from chorus_site.pages.usage import USAGE, task_cost
from documents_app import selectors as document_selectors
from events_app.errors import DomainError
from sessions_app import selectors as session_selectors
from tasks_app import changes, lifecycle
from tasks_app import selectors as task_selectors

DISPATCHES_SHOWN = 20
REVIEW = "review"
DOCUMENTS_OFFERED = 500
# the agent tool whose words a task's result note is, by the status the tool leaves the task in
RESULT_TOOLS = {lifecycle.REVIEW: "finish_task", lifecycle.FAILED: "fail_task"}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of a task's timeline, newest first: a dispatch or a progress note, at its event's position."""

    position: int
    dispatch: object = None
    note: object = None


def timeline(dispatches: list, notes: list) -> list[Entry]:
    entries = [*(Entry(d.position, dispatch=d) for d in dispatches), *(Entry(n.position, note=n) for n in notes)]
    return sorted(entries, key=lambda entry: entry.position, reverse=True)


def by_agent(task, dispatches: list) -> bool:
    """Whether the task's result note is its agent's own words: its finish_task or fail_task call during the
    current dispatch (a person's note and the session ending leave no such call)."""
    tool = RESULT_TOOLS.get(task.status)
    current = next((d for d in dispatches if d.id == task.dispatch_id), None)
    if not task.result_note or tool is None or current is None:
        return False
    try:
        calls = session_selectors.agent_calls(current.session)
    except DomainError:
        return False
    return any(c.tool == tool and c.task_id == task.id and c.position > current.position for c in calls)


def detail(task) -> dict:
    related = task_selectors.tasks(archived=None).filter(pk__in=[*task.depends_on])
    dependents = task_selectors.dependents(task.id)
    waiting = set(task_selectors.blocked_by([task]).get(task.id, []))
    prompt, why_not = task_selectors.prompt_preview(task)
    dispatches = list(task_selectors.dispatches(task.id, DISPATCHES_SHOWN))
    touched = task_selectors.dispatch_changes(d.id for d in dispatches)
    for dispatch in dispatches:
        dispatch.touched = touched.get(dispatch.id, [])
    return {
        "task": task,
        "timeline": timeline(dispatches, list(task_selectors.task_notes(task.id))),
        "dispatches": dispatches,
        "references": task_selectors.references(task.id),
        "depends": [(t, t.id in waiting) for t in related.order_by("id")],
        "dependents": list(task_selectors.tasks(archived=None).filter(pk__in=dependents).order_by("id")),
        "moves": lifecycle.person_targets(task.status),
        "prompt_preview": prompt,
        "prompt_problem": why_not,
        "status_labels": lifecycle.LABELS,
        "result_by_agent": by_agent(task, dispatches),
        "document_paths": document_paths(),
        **review(task),
        **worktree_panel(),
    }


def review(task) -> dict:
    """What the task changed (files, their diff, who else changed them) and the review's comments; in review, the
    person may comment on lines, request changes or approve."""
    files = changes.review_diff(task)
    comments = task_selectors.review_comments(task.id)
    return {
        "task": task,
        "review_files": files,
        "review_comments": comments,
        "review_pending": [c for c in comments if not c.sent_in],
        "in_review": task.status == lifecycle.REVIEW,
        "attribution_off": changes.attribution_off() if task.dispatch_id else None,
    }


def worktree_panel() -> dict:
    """What the "where it works" panel offers (templates/tasks/worktree.html): the agents a session may be started
    with in the task's worktree, and the statuses a worktree is made or started from. No git runs to render it."""
    try:
        agents = [p.name for p in session_selectors.profiles() if p.agent]
    except DomainError:
        agents = []  # a broken profiles file: the new-session form says what is wrong with it
    return {"agent_profiles": agents, "worktree_from": (lifecycle.BACKLOG, lifecycle.READY)}


def document_paths() -> list[str]:
    """The documents a reference may name, offered as the task page's reference form is typed in."""
    return list(document_selectors.documents().values_list("path", flat=True)[:DOCUMENTS_OFFERED])


def claims(task) -> dict:
    """The claims the task holds, those it declares that are not live yet, which of those overlap another task's
    live claims, and the edits its claims refused."""
    live = task_selectors.live_claims()
    held = [claim for claim in live if claim.task_id == task.id]
    waiting = [glob for glob in task.claims if glob not in {claim.glob for claim in held}]
    return {
        "task": task,
        "task_claims": held,
        "declared_waiting": waiting,
        "claim_clashes": task_selectors.claim_clashes(task.id, waiting, live),
        "claim_denials": task_selectors.edit_denials(holder_task=task.id, limit=10),
    }


def assignment(task) -> dict:
    sessions = list(session_selectors.sessions(include_ended=False))
    return {
        "task": task,
        "assignable": lifecycle.assignable(task.status),
        "assignable_from": [status for status in lifecycle.STATUSES if lifecycle.assignable(status)],
        "sessions": sessions,
        # sessions whose program is no agent: assigning to one needs the person's confirmation
        "not_agents": {s.name for s in sessions if not session_selectors.is_agent(s.profile)},
    }


class TaskPage(LivePage):
    name = "task"
    template = "task.html"
    section = "tasks"
    parameters = ("id",)
    topics = (TASK, MESSAGE, AGENT, CLAIM, f"{REVIEW}:{{id}}", USAGE)

    def __init__(self, params: Mapping[str, str]):
        super().__init__(params)
        self.task_id = self.params.get("id", "")
        self.related = {self.task_id}  # this task and those it waits for or that wait for it, as last read
        self.agents: set[str] = set()  # the sessions it was dispatched to, whose agents may write on its timeline

    def read_task(self):
        return found(task_selectors.task, self.task_id)

    def read_detail(self) -> list[Fragment]:
        context = detail(self.read_task())
        task = context["task"]
        self.related = {str(task.id), *(str(n) for n in task.depends_on), *(str(t.id) for t in context["dependents"])}
        self.agents = {d.session for d in context["dispatches"]}
        touched = tuple(len(d.touched) for d in context["dispatches"])
        shown = (task.version, tuple(entry.position for entry in context["timeline"]), touched)
        history = Fragment("task.html#timeline", context, key=shown)
        changed = Fragment("task_review.html#review", context)
        return [Fragment("task.html#task-detail", context, covers=[history, changed]), history, changed]

    def read_review(self) -> list[Fragment]:
        return [Fragment("task_review.html#review", review(self.read_task()))]

    def read_assignment(self) -> list[Fragment]:
        return [Fragment("task.html#assign", assignment(self.read_task()))]

    def read_claims(self) -> list[Fragment]:
        context = claims(self.read_task())
        shown = (
            tuple((c.glob, c.position) for c in context["task_claims"]),
            tuple(context["declared_waiting"]),
            tuple((glob, c.key) for glob, c in context["claim_clashes"]),
            tuple(d.position for d in context["claim_denials"]),
        )
        return [Fragment("task_claims.html#task-claims", context, key=shown)]

    def read_cost(self) -> list[Fragment]:
        return [task_cost(self.read_task().id)]

    partials = {
        "task-detail": read_detail,
        "timeline": read_detail,
        "assign": read_assignment,
        "task-claims": read_claims,
        "review": read_review,
        "task-cost": read_cost,
    }
    # a progress note is an event of its session's agent stream (the task's version does not move with it)
    renders = {
        "task:{related}": ("task-detail", "assign", "task-claims"),
        CLAIM: ("task-claims",),
        AGENT: ("task-claims",),  # an edit refused under its claims, by any session
        MESSAGE: ("task-detail",),
        SESSION: ("assign",),
        f"{AGENT}:{{agents}}": ("timeline",),
        f"{REVIEW}:{{id}}": ("review", "timeline"),
        USAGE: ("task-cost",),
    }

    def context(self) -> dict:
        task = self.read_task()
        return {
            **super().context(),
            **detail(task),
            **assignment(task),
            **claims(task),
            "task_cost": task_cost(task.id).context,
        }

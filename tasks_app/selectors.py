"""Reads of tasks for the services, the policies, the API, the admin, commands and pages: read-model queries, plus
the prompt a task would send now. Sessions are read through sessions_app.selectors, documents through tasks_app's
document reads; nothing here writes or calls a service."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from events_app import store
from sessions_app import selectors as session_selectors
from tasks_app import approvals, claims, prompts
from tasks_app.errors import TaskError, UnknownTask
from tasks_app.models import (
    ACTIVE,
    DONE,
    IN_PROGRESS,
    READY,
    STATUSES,
    ApprovalDecision,
    ApprovalSwitch,
    ChangeSnapshot,
    Dispatch,
    DispatchChange,
    DispatchPause,
    EditDenial,
    PathClaim,
    Reference,
    ReviewComment,
    SessionSlot,
    Task,
    TaskChange,
    TaskDependency,
    TaskLabel,
    TaskNote,
    UsageCursor,
    UsageTotal,
)
from tasks_app.worktrees import ACTIVE_WORKTREE, WORKTREE

# The one stream of every live path claim (tasks_app.events: PathsClaimed, PathsReleased).
CLAIMS_STREAM = "all"

if TYPE_CHECKING:
    from sessions_app.models import Session


def tasks(
    *,
    status: str | None = None,
    label: str | None = None,
    session: str | None = None,
    archived: bool | None = False,
    stale: bool | None = None,
    search: str | None = None,
) -> QuerySet[Task]:
    """Tasks, most urgent first; `archived=None` includes archived ones, `stale` filters on unsound references."""
    if status is not None and status not in STATUSES:
        raise TaskError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    queryset = Task.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    if label:
        queryset = queryset.filter(pk__in=TaskLabel.objects.filter(label=label).values("task_id"))
    if session:
        queryset = queryset.filter(session=session)
    if archived is not None:
        queryset = queryset.filter(archived=archived)
    if stale is not None:
        queryset = queryset.filter(stale_references__gt=0) if stale else queryset.filter(stale_references=0)
    if search:
        queryset = queryset.filter(Q(title__icontains=search) | Q(description__icontains=search))
    return queryset


def labels() -> list[str]:
    """Every label some task not archived carries, in order: from the label rows, no task's JSON decoded."""
    archived = Task.objects.filter(archived=True).values("id")
    rows = TaskLabel.objects.exclude(task_id__in=archived).order_by("label").values_list("label", flat=True)
    return list(rows.distinct())


def status_counts(queryset: QuerySet[Task]) -> dict[str, tuple[int, int]]:
    """How many of these tasks are in each status, counted by the database, each with the sum of their versions:
    any change to one of them changes that sum, so two equal readings read the same tasks."""
    summary = queryset.order_by().values_list("status").annotate(count=Count("*"), versions=Sum("version"))
    return {status: (count, versions) for status, count, versions in summary}


def task(task_id: int | str) -> Task:
    try:
        number = int(task_id)
    except (TypeError, ValueError):
        raise UnknownTask(f"no task {task_id!r}: a task is named by its number") from None
    found = Task.objects.filter(pk=number).first()
    if found is None:
        raise UnknownTask(f"no task {number}")
    return found


def last_task_number() -> int:
    return Task.objects.order_by("-id").values_list("id", flat=True).first() or 0


def tasks_at_work(session: str | None = None) -> QuerySet[Task]:
    """Tasks assigned or in progress (holding their session's slot), in one session or in all."""
    queryset = Task.objects.filter(status__in=ACTIVE).order_by("id")
    return queryset if session is None else queryset.filter(session=session)


def task_waiting_on(message_id: str) -> Task | None:
    """The task at work whose prompt is this message, if there is one."""
    return Task.objects.filter(status__in=ACTIVE, message_id=message_id).first()


def references(task_id: int | str) -> list[Reference]:
    return list(Reference.objects.filter(task_id=task(task_id).id).order_by("number"))


def reference(found: Task, reference_id: str) -> Reference:
    """One of the task's references; UnknownTask when it has no such reference."""
    result = Reference.objects.filter(pk=reference_id, task_id=found.id).first()
    if result is None:
        raise UnknownTask(f"task {found.id} has no reference {reference_id!r}")
    return result


def references_for_document(path: str) -> list[Reference]:
    """The references of unarchived tasks into one document, in line order."""
    archived = set(Task.objects.filter(archived=True).values_list("id", flat=True))
    found = Reference.objects.filter(path=path).order_by("start", "task_id")
    return [item for item in found if item.task_id not in archived]


def dependents(task_id: int) -> list[int]:
    """The tasks that wait for this one."""
    return list(TaskDependency.objects.filter(depends_on=task_id).order_by("task_id").values_list("task_id", flat=True))


def dependency_graph() -> dict[int, list[int]]:
    """Every task's dependencies, by task number."""
    return dict(Task.objects.values_list("id", "depends_on"))


def blocked_by(tasks: list[Task]) -> dict[int, list[int]]:
    """For each task, the tasks it waits for that are not done yet; one query for all of them."""
    wanted = {number for found in tasks for number in found.depends_on}
    done = set(Task.objects.filter(pk__in=wanted, status=DONE).values_list("pk", flat=True)) if wanted else set()
    return {found.id: [number for number in found.depends_on if number not in done] for found in tasks}


def dispatches(task_id: int | str | None = None, limit: int | None = 100) -> QuerySet[Dispatch]:
    """Dispatches, newest first (the `limit` newest; None: all): each with its exact prompt, references, session,
    message and git HEADs."""
    queryset = Dispatch.objects.all()
    if task_id is not None:
        queryset = queryset.filter(task_id=task(task_id).id)
    return queryset.order_by("-position")[:limit]


def task_notes(task_id: int | str) -> QuerySet[TaskNote]:
    """The progress notes its agents wrote on the task, oldest first."""
    return TaskNote.objects.filter(task_id=task(task_id).id).order_by("position")


def task_of_session(session: str) -> Task | None:
    """The task the session works on (assigned or in progress), if it has one: at most one holds its slot."""
    return tasks_at_work(session).first()


def prompt_preview(found: Task) -> tuple[str | None, str | None]:
    """The prompt assigning the task would send now, or None and why it cannot be built."""
    try:
        return prompts.build_prompt(found, Reference.objects.filter(task_id=found.id).order_by("number")), None
    except TaskError as exc:
        return None, str(exc)


def slot(session: str) -> SessionSlot | None:
    """The session's task slot, None if it was never given a task."""
    return SessionSlot.objects.filter(pk=session).first()


def dispatchable_tasks() -> QuerySet[Task]:
    """Ready, unarchived tasks whose references are sound, highest priority first, oldest first among equals;
    whether their dependencies are done is checked per task. Not the tasks that work in a worktree of their own:
    those go to the session started in it (tasks_app.services.worktrees)."""
    return (
        Task.objects.filter(status=READY, archived=False, stale_references=0)
        .exclude(isolation=WORKTREE)
        .order_by("-priority", "id")
    )


def free_sessions() -> list[Session]:
    """Live sessions opted in to dispatch, idle, holding no task and with nothing queued for them; the ones idle
    the longest first. Not the sessions working in a task's worktree: they take that task only."""
    taken = set(SessionSlot.objects.filter(task_id__isnull=False).values_list("session", flat=True))
    homes = worktree_homes()
    return [
        s
        for s in session_selectors.sessions_free_for_work()
        if s.name not in taken and worktree_owner(s.cwd, homes) is None
    ]


def worktree_homes() -> dict[str, int]:
    """The directory of each task's worktree that exists now, and its task's number."""
    return dict(Task.objects.filter(worktree_state=ACTIVE_WORKTREE).values_list("worktree_path", "id"))


def worktree_owner(directory: str, homes: dict[str, int] | None = None) -> int | None:
    """The number of the task whose worktree holds `directory` (a session's working directory), if one does."""
    for home, task_id in (worktree_homes() if homes is None else homes).items():
        if directory == home or directory.startswith(home.rstrip("/") + "/"):
            return task_id
    return None


def live_claims(task_id: int | None = None, session: str | None = None) -> list[PathClaim]:
    """The live path claims, by pattern; of one task, or of the tasks of one session."""
    queryset = PathClaim.objects.all()
    if task_id is not None:
        queryset = queryset.filter(task_id=task_id)
    if session is not None:
        queryset = queryset.filter(session=session)
    return list(queryset)


def claim_clashes(
    task_id: int, globs: Iterable[str], live: Iterable[PathClaim] | None = None
) -> list[tuple[str, PathClaim]]:
    """(pattern, the live claim of another task it overlaps) for each of `globs` that overlaps one (tasks_app.claims:
    conservative, never missing an overlap); `live`: the live claims, if the caller read them already."""
    others = [claim for claim in (live_claims() if live is None else live) if claim.task_id != task_id]
    return [(glob, claim) for glob in globs for claim in others if claims.overlap(glob, claim.glob)]


def claims_version() -> int:
    """The version of the `claim` stream, read beside the live claims a new claim is checked against."""
    return store.stream_version("claim", CLAIMS_STREAM)


def edit_denials(
    session: str | None = None,
    holder_task: int | None = None,
    limit: int | None = 20,
    *,
    task_id: int | None = None,
    involving: str | None = None,
) -> list[EditDenial]:
    """The latest edits under another task's claim (refused, or found by git after the fact): of one session's agent,
    against one task's claims, by one task, or `involving` a session on either side."""
    queryset = EditDenial.objects.all()
    if session is not None:
        queryset = queryset.filter(session=session)
    if holder_task is not None:
        queryset = queryset.filter(holder_task=holder_task)
    if task_id is not None:
        queryset = queryset.filter(task_id=task_id)
    if involving is not None:
        queryset = queryset.filter(Q(session=involving) | Q(holder_session=involving))
    return list(queryset[:limit] if limit is not None else queryset)


def changed_files(task_id: int | str) -> list[TaskChange]:
    """The files a task changed, by path."""
    return list(TaskChange.objects.filter(task_id=task_id).order_by("path"))


def changed_file_count(task_id: int | str) -> int:
    return TaskChange.objects.filter(task_id=task_id).count()


def dispatch_changes(dispatch_ids: Iterable[str]) -> dict[str, list[DispatchChange]]:
    """The files each of these dispatches touched, by path."""
    found: dict[str, list[DispatchChange]] = {}
    for change in DispatchChange.objects.filter(dispatch_id__in=list(dispatch_ids)).order_by("path"):
        found.setdefault(change.dispatch_id, []).append(change)
    return found


def change_snapshot(task_id: int | str, moment: str) -> ChangeSnapshot | None:
    """The task's latest snapshot of the checkout at `moment` (start, review)."""
    return ChangeSnapshot.objects.filter(task_id=task_id, moment=moment).first()


def review_comments(task_id: int | str, *, pending: bool | None = None) -> list[ReviewComment]:
    """The comments on a task's diff, oldest first; `pending`: only those not yet sent (True) or only sent ones."""
    queryset = ReviewComment.objects.filter(task_id=task_id).order_by("position")
    if pending is not None:
        queryset = queryset.filter(sent_in="") if pending else queryset.exclude(sent_in="")
    return list(queryset)


def review_comment(comment_id: str) -> ReviewComment:
    return ReviewComment.objects.get(pk=comment_id)


def tasks_here():
    """The tasks of this host's checkout: those whose session is not another host's (a task without a session, or
    whose session is gone from the read model, is every host's)."""
    return Task.objects.exclude(session__in=session_selectors.names_elsewhere())


def tasks_in_progress_here() -> list[Task]:
    """Tasks whose agents are at work on them in this host's checkout (assigned ones have not started: their prompt
    may not be typed)."""
    return list(tasks_here().filter(status=IN_PROGRESS).order_by("id"))


def works_here(task_id: int) -> bool:
    return tasks_here().filter(pk=task_id).exists()


# --- usage and budgets -------------------------------------------------------------------------------------------


def today() -> str:
    """The local date usage is counted under."""
    return timezone.localdate().isoformat()


def usage_totals(by: str) -> QuerySet[UsageTotal]:
    """The usage summed per session, task, model or day; the most recent days first, else by key."""
    queryset = UsageTotal.objects.filter(by=by)
    return queryset.order_by("-key") if by == "day" else queryset.order_by("key")


def usage_of(by: str, key: object) -> UsageTotal | None:
    """The usage of one session, task, model or day; None when nothing was counted for it."""
    return UsageTotal.objects.filter(pk=f"{by}:{key}").first()


def task_of_turns(session: str) -> int | None:
    """The task a session's turns count for: the one last dispatched to it, at work or just finished (its last
    reply is often read after it went to review); None for a session never given a task."""
    return Dispatch.objects.filter(session=session).order_by("-position").values_list("task_id", flat=True).first()


def usage_cursors(session: str) -> list[UsageCursor]:
    return list(UsageCursor.objects.filter(session=session))


def usage_cursor(path: str) -> UsageCursor | None:
    """How far a file was counted, for whichever session counted it."""
    return UsageCursor.objects.filter(pk=path).first()


def dispatch_pause() -> DispatchPause | None:
    """The budget pause that holds dispatch now, if one does: a daily one holds only on the day it was crossed."""
    pause = DispatchPause.objects.filter(pk=1, paused=True).first()
    if pause is None or (pause.budget == "day" and pause.day != today()):
        return None
    return pause


# --- approval policies ------------------------------------------------------------------------------------------

_POLICY_SOURCES: dict[tuple[str, str], approvals.PolicySource] = {}


def approval_policy_source() -> approvals.PolicySource:
    """The policy file of this project (PROJECT_ROOT/chorus.toml), read again when it changes; its last valid
    policy kept in Chorus's data directory."""
    path, keep = (
        Path(settings.PROJECT_ROOT) / approvals.POLICY_FILE,
        Path(settings.DATA_DIR) / "approvals-in-force.toml",
    )
    key = (str(path), str(keep))
    if key not in _POLICY_SOURCES:
        _POLICY_SOURCES[key] = approvals.PolicySource(path, keep)
    return _POLICY_SOURCES[key]


def approval_policy() -> approvals.Policy:
    """The approval policy in force (the last valid one when the file has problems)."""
    return approval_policy_source().current()


def approvals_paused() -> ApprovalSwitch | None:
    """The fleet-wide switch when approvals are paused, else None."""
    return ApprovalSwitch.objects.filter(id=1, paused=True).first()


def approval_decisions(session: str | None = None, limit: int | None = 20) -> list[ApprovalDecision]:
    """The latest approval decisions, newest first; of one session's agent."""
    queryset = ApprovalDecision.objects.all()
    if session is not None:
        queryset = queryset.filter(session=session)
    return list(queryset[:limit] if limit is not None else queryset)


def approval_policy_text() -> str:
    """The policy file's text as it is now (empty when there is none)."""
    try:
        return approval_policy_source().path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""

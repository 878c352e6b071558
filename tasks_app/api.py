"""Tasks API: endpoints parse, call one service or selector, and serialise with the schemas. Domain errors go
through the site's exception handlers (chorus_site/api.py)."""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.http import HttpRequest
from ninja import P, Path, Query, Router, Status

from events_app.errors import DomainError
from events_app.schemas import LARGEST_INTEGER, answers
from events_app.store import event_context
from tasks_app import selectors, services, worktrees
from tasks_app.errors import BulkRefused, UnknownTask
from tasks_app.schemas import (
    AssignIn,
    BranchDiffOut,
    BulkIn,
    ClaimOut,
    CommentIn,
    CommentOut,
    DependenciesOut,
    DependencyIn,
    DispatchFilter,
    DispatchOut,
    DispatchRoundOut,
    IsolationIn,
    MergeIn,
    MergeOut,
    PromptOut,
    ReferenceIn,
    ReferenceOut,
    RefreshIn,
    ResumedOut,
    ReviewOut,
    StatusIn,
    TaskDetailOut,
    TaskFilter,
    TaskIn,
    TaskOut,
    TaskUpdateIn,
    UsageFilter,
    UsageReportOut,
    VersionIn,
    WorktreeIn,
    WorktreeRemoveIn,
    WorktreeStartIn,
)

router = Router(tags=["tasks"])
# The live path claims of every task, mounted at /api/claims.
claims_router = Router(tags=["tasks"])
usage_router = Router(tags=["usage"])

# Path and query parameters, bounded as the schemas bound them (a task's number, the version you saw).
TaskId = Path[int, P(ge=1, le=LARGEST_INTEGER, description="the task's number")]
DependencyId = Path[int, P(ge=1, le=LARGEST_INTEGER, description="the number of the task it waits for")]
VersionQuery = Query[int, P(ge=0, le=LARGEST_INTEGER, description="the task's version you saw; a stale one is 409")]


def _as(request: HttpRequest):
    return event_context(actor="api-token" if getattr(request, "chorus_bearer", False) else "browser", source="api")


def _references(task_id: int) -> list[ReferenceOut]:
    return [ReferenceOut.model_validate(r) for r in selectors.references(task_id)]


@router.get("", response=answers({200: list[TaskOut]}, 422), summary="Tasks, most urgent first, filtered")
def list_tasks(request: HttpRequest, filters: Query[TaskFilter]):
    tasks = selectors.tasks(
        status=filters.status,
        label=filters.label,
        session=filters.session,
        archived=None if filters.include_archived else filters.archived,
        stale=filters.stale,
        search=filters.q,
    )
    return TaskOut.many(tasks[: filters.limit])


@router.post(
    "",
    response=answers({201: TaskDetailOut}, 400, 404, 409, 422, write=True),
    summary="Create a task (with dependencies and references)",
)
def create_task(request: HttpRequest, body: TaskIn):
    with _as(request):
        task = services.task_create(
            body.title,
            body.description,
            body.priority,
            body.labels,
            body.depends_on,
            [services.Range(r.path, r.start, r.end) for r in body.references],
            body.status,
            claims=body.claims,
            isolation=body.isolation,
        )
    return Status(201, TaskDetailOut.of(task))


@router.post("/dispatch", response=answers({200: DispatchRoundOut}, write=True), summary="Run one dispatch round now")
def dispatch(request: HttpRequest):
    with _as(request):
        return DispatchRoundOut.of(services.dispatch_round())


@router.post(
    "/bulk",
    response=answers({200: list[TaskOut]}, 400, 404, 409, 422, write=True),
    summary="Change many tasks at once: all of them, or none",
)
def bulk_update(request: HttpRequest, body: BulkIn):
    changed = []
    with _as(request), transaction.atomic():
        for item in body.items:
            try:
                changed.append(_bulk_change(body, item.id, item.version))
            except DomainError as exc:
                raise BulkRefused(item.id, exc) from exc
    return TaskOut.many(selectors.task(task_id) for task_id in changed)


def _bulk_change(body: BulkIn, task_id: int, version: int) -> int:
    """One task's part of a bulk change, at the version the caller saw; its number."""
    task = selectors.task(task_id)
    if body.status is not None:
        task = services.task_set_status(task.id, body.status, expected_version=version, note=body.note)
        version = task.version
    if body.priority is not None or body.add_labels or body.remove_labels:
        task = services.task_update(
            task.id,
            expected_version=version,
            priority=body.priority,
            add_labels=body.add_labels,
            remove_labels=body.remove_labels,
        )
        version = task.version
    if body.archived is not None:
        change = services.task_archive if body.archived else services.task_unarchive
        task = change(task.id, expected_version=version)
    return task.id


@router.get(
    "/references", response=answers({200: list[ReferenceOut]}, 422), summary="Every task's references into one document"
)
def document_references(request: HttpRequest, document: str):
    return [ReferenceOut.model_validate(r) for r in selectors.references_for_document(document)]


@router.get(
    "/dispatches",
    response=answers({200: list[DispatchOut]}, 422),
    summary="Dispatches, newest first, with their exact prompts",
)
def list_dispatches(request: HttpRequest, filters: Query[DispatchFilter]):
    return DispatchOut.many(selectors.dispatches(limit=filters.limit))


@router.get(
    "/{task_id}",
    response=answers({200: TaskDetailOut}, 404, 422),
    summary="A task with its references and the prompt it would send",
)
def get_task(request: HttpRequest, task_id: TaskId):
    return TaskDetailOut.of(selectors.task(task_id))


@router.patch(
    "/{task_id}",
    response=answers({200: TaskDetailOut}, 400, 404, 409, 422, write=True),
    summary="Change title, description, priority, labels or declared path claims",
)
def update_task(request: HttpRequest, task_id: TaskId, body: TaskUpdateIn):
    with _as(request):
        task = services.task_update(
            task_id,
            expected_version=body.version,
            title=body.title,
            description=body.description,
            priority=body.priority,
            labels=body.labels,
            add_labels=body.add_labels,
            remove_labels=body.remove_labels,
            claims=body.claims,
        )
    return TaskDetailOut.of(task)


@router.post(
    "/{task_id}/status",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="A person's transition: ready, backlog, done, failed...",
)
def set_status(request: HttpRequest, task_id: TaskId, body: StatusIn):
    with _as(request):
        return TaskOut.of(services.task_set_status(task_id, body.status, expected_version=body.version, note=body.note))


@router.post(
    "/{task_id}/archive",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Archive (tasks are never deleted)",
)
def archive(request: HttpRequest, task_id: TaskId, body: VersionIn):
    with _as(request):
        return TaskOut.of(services.task_archive(task_id, expected_version=body.version))


@router.post(
    "/{task_id}/unarchive",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Bring an archived task back",
)
def unarchive(request: HttpRequest, task_id: TaskId, body: VersionIn):
    with _as(request):
        return TaskOut.of(services.task_unarchive(task_id, expected_version=body.version))


@router.post(
    "/{task_id}/assign",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Send the task's prompt to a session",
)
def assign(request: HttpRequest, task_id: TaskId, body: AssignIn):
    with _as(request):
        return TaskOut.of(
            services.task_assign(
                task_id, body.session, expected_version=body.version, confirm_not_agent=body.confirm_not_agent
            )
        )


@router.get(
    "/{task_id}/prompt",
    response=answers({200: PromptOut}, 404, 422),
    summary="The prompt assigning the task would send now",
)
def prompt(request: HttpRequest, task_id: TaskId):
    text, error = selectors.prompt_preview(selectors.task(task_id))
    return PromptOut(prompt=text, error=error)


@router.get(
    "/{task_id}/references",
    response=answers({200: list[ReferenceOut]}, 404, 422),
    summary="References with stale/missing flags",
)
def list_references(request: HttpRequest, task_id: TaskId):
    return _references(task_id)


@router.post(
    "/{task_id}/references",
    response=answers({201: ReferenceOut}, 400, 404, 409, 422, write=True),
    summary="Anchor the task to a line range",
)
def add_reference(request: HttpRequest, task_id: TaskId, body: ReferenceIn):
    with _as(request):
        reference = services.reference_add(task_id, body.path, body.start, body.end, expected_version=body.version)
    return Status(201, ReferenceOut.model_validate(reference))


@router.post(
    "/{task_id}/references/check",
    response=answers({200: list[ReferenceOut]}, 400, 404, 409, 422, write=True),
    summary="Compare every reference with its file now",
)
def check_references(request: HttpRequest, task_id: TaskId, body: VersionIn):
    with _as(request):
        services.references_check(task_id, expected_version=body.version)
    return _references(task_id)


@router.post(
    "/{task_id}/references/{reference_id}/refresh",
    response=answers({200: ReferenceOut}, 400, 404, 409, 422, write=True),
    summary="Accept the document's current text as the reference's snapshot",
)
def refresh_reference(request: HttpRequest, task_id: TaskId, reference_id: str, body: RefreshIn):
    with _as(request):
        reference = services.reference_refresh(
            task_id, reference_id, expected_version=body.version, start=body.start, end=body.end
        )
    return ReferenceOut.model_validate(reference)


@router.delete(
    "/{task_id}/references/{reference_id}",
    response=answers({200: TaskOut}, 404, 409, 422, write=True),
    summary="Remove a reference",
)
def remove_reference(request: HttpRequest, task_id: TaskId, reference_id: str, version: VersionQuery):
    with _as(request):
        return TaskOut.of(services.reference_remove(task_id, reference_id, expected_version=version))


@router.get(
    "/{task_id}/dependencies",
    response=answers({200: DependenciesOut}, 404, 422),
    summary="What the task waits for, and what waits",
)
def dependencies(request: HttpRequest, task_id: TaskId):
    task = selectors.task(task_id)
    return DependenciesOut(
        depends_on=task.depends_on,
        blocked_by=selectors.blocked_by([task])[task.id],
        dependents=selectors.dependents(task.id),
    )


@router.post(
    "/{task_id}/dependencies",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Make the task wait for another (no cycles)",
)
def add_dependency(request: HttpRequest, task_id: TaskId, body: DependencyIn):
    with _as(request):
        return TaskOut.of(services.task_add_dependency(task_id, body.depends_on, expected_version=body.version))


@router.delete(
    "/{task_id}/dependencies/{depends_on}",
    response=answers({200: TaskOut}, 404, 409, 422, write=True),
    summary="Stop waiting for a task",
)
def remove_dependency(request: HttpRequest, task_id: TaskId, depends_on: DependencyId, version: VersionQuery):
    with _as(request):
        return TaskOut.of(services.task_remove_dependency(task_id, depends_on, expected_version=version))


@router.get(
    "/{task_id}/dispatches",
    response=answers({200: list[DispatchOut]}, 404, 422),
    summary="The task's dispatches with exact prompts",
)
def task_dispatches(request: HttpRequest, task_id: TaskId, filters: Query[DispatchFilter]):
    return DispatchOut.many(selectors.dispatches(task_id, limit=filters.limit))


@router.get(
    "/{task_id}/review",
    response=answers({200: ReviewOut}, 404, 422),
    summary="What the task changed, the agent's summary and the review's comments",
)
def review(request: HttpRequest, task_id: TaskId):
    return ReviewOut.of(selectors.task(task_id))


@router.post(
    "/{task_id}/comments",
    response=answers({200: CommentOut}, 400, 404, 409, 422, write=True),
    summary="Comment on a line of the diff of a task in review",
)
def comment(request: HttpRequest, task_id: TaskId, body: CommentIn):
    with _as(request):
        return services.review_comment(task_id, body.path, body.line, body.text)


@router.post(
    "/{task_id}/request-changes",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Send the comments to the task's session as one message; the task is in progress again",
)
def request_changes(request: HttpRequest, task_id: TaskId, body: VersionIn):
    with _as(request):
        return TaskOut.of(services.task_request_changes(task_id, expected_version=body.version))


@router.post(
    "/{task_id}/approve",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Approve a task in review: it is done, HEAD recorded",
)
def approve(request: HttpRequest, task_id: TaskId, body: VersionIn):
    with _as(request):
        return TaskOut.of(services.task_approve(task_id, expected_version=body.version))


@router.post(
    "/{task_id}/isolation",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Choose where the task works: the shared checkout or a worktree of its own",
)
def set_isolation(request: HttpRequest, task_id: TaskId, body: IsolationIn):
    with _as(request):
        return TaskOut.of(services.task_set_isolation(task_id, body.isolation, expected_version=body.version))


@router.post(
    "/{task_id}/worktree",
    response=answers({201: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Give the task its git worktree, on branch chorus/task-N from a base",
)
def create_worktree(request: HttpRequest, task_id: TaskId, body: WorktreeIn):
    with _as(request):
        return Status(201, TaskOut.of(services.worktree_create(task_id, expected_version=body.version, base=body.base)))


@router.post(
    "/{task_id}/worktree/start",
    response=answers({201: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Start a session in the task's worktree (made first if need be) and assign it the task",
)
def start_in_worktree(request: HttpRequest, task_id: TaskId, body: WorktreeStartIn):
    with _as(request):
        task = services.worktree_start(
            task_id, body.profile, expected_version=body.version, session=body.session, base=body.base
        )
        return Status(201, TaskOut.of(task))


@router.post(
    "/{task_id}/worktree/remove",
    response=answers({200: TaskOut}, 400, 404, 409, 422, write=True),
    summary="Remove the task's worktree and branch (refused if that loses work, unless forced)",
)
def remove_worktree(request: HttpRequest, task_id: TaskId, body: WorktreeRemoveIn):
    with _as(request):
        return TaskOut.of(services.worktree_remove(task_id, expected_version=body.version, force=body.force))


@router.get(
    "/{task_id}/worktree/diff",
    response=answers({200: BranchDiffOut}, 404, 409, 422),
    summary="The task's branch against its base",
)
def worktree_diff(request: HttpRequest, task_id: TaskId):
    found = worktrees.branch_diff(selectors.task(task_id))
    if found is None:
        raise UnknownTask(f"task {task_id} has no worktree or branch to compare")
    return BranchDiffOut.model_validate(dataclasses.asdict(found))


@router.post(
    "/{task_id}/merge",
    response=answers({200: MergeOut}, 400, 404, 409, 422, write=True),
    summary="Merge the task's branch into the shared checkout (conflicts: aborted, files named)",
)
def merge(request: HttpRequest, task_id: TaskId, body: MergeIn):
    with _as(request):
        return MergeOut.of(*services.worktree_merge(task_id, expected_version=body.version, no_ff=body.no_ff))


@claims_router.get("", response=answers({200: list[ClaimOut]}), summary="The live path claims, with their tasks")
def list_claims(request: HttpRequest):
    return ClaimOut.many(selectors.live_claims())


@usage_router.get(
    "", response=answers({200: UsageReportOut}, 422), summary="Tokens and cost per task, session, model or day"
)
def usage(request: HttpRequest, filters: Query[UsageFilter]):
    return UsageReportOut.of(filters.by)


@usage_router.post(
    "/resume", response=answers({200: ResumedOut}, write=True), summary="Resume dispatch paused by a budget"
)
def resume_dispatch(request: HttpRequest):
    with _as(request):
        return ResumedOut(resumed=services.dispatch_resume())

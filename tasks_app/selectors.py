"""Reads of tasks for the API, the admin and commands: read-model queries, plus the prompt a task would send now."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tasks_app import prompts, services
from tasks_app.errors import TaskError
from tasks_app.models import STATUSES, Dispatch, Reference, Task, TaskLabel


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


def task(task_id: int | str) -> Task:
    return services.get_task(task_id)


def references(task_id: int | str) -> list[Reference]:
    return list(Reference.objects.filter(task_id=services.get_task(task_id).id).order_by("number"))


def references_for_document(path: str) -> list[Reference]:
    """The references of unarchived tasks into one document, in line order."""
    archived = set(Task.objects.filter(archived=True).values_list("id", flat=True))
    found = Reference.objects.filter(path=path).order_by("start", "task_id")
    return [reference for reference in found if reference.task_id not in archived]


def dependents(task_id: int) -> list[int]:
    """The tasks that wait for this one."""
    return sorted(t.id for t in Task.objects.only("id", "depends_on") if task_id in t.depends_on)


def blocked_by(tasks: list[Task]) -> dict[int, list[int]]:
    """For each task, its dependencies not done yet."""
    return services.unfinished_dependencies(tasks)


def dispatches(task_id: int | str | None = None, limit: int = 100) -> QuerySet[Dispatch]:
    """Dispatches, newest first: each with its exact prompt, references, session, message and git HEADs."""
    queryset = Dispatch.objects.all()
    if task_id is not None:
        queryset = queryset.filter(task_id=services.get_task(task_id).id)
    return queryset.order_by("-position")[:limit]


def prompt_preview(task: Task) -> tuple[str | None, str | None]:
    """The prompt assigning the task would send now, or None and why it cannot be built."""
    try:
        return prompts.build_prompt(task, Reference.objects.filter(task_id=task.id).order_by("number")), None
    except TaskError as exc:
        return None, str(exc)

"""The task board and task pages, and what a person does to tasks from them (and from a document's lines). Every
change names the version of the task the form showed (`expected_version`), so a stale page is refused, not obeyed."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chorus_site.pages.base import flatten
from chorus_site.pages.board import BoardPage
from chorus_site.pages.task import TaskPage
from chorus_site.views.base import act, page
from events_app.errors import ConcurrencyError, DomainError
from tasks_app import lifecycle
from tasks_app import selectors as task_selectors
from tasks_app import services as task_services
from tasks_app.errors import TaskConflict


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        raise DomainError("the form did not say which version of the task it showed; reload the page") from None


def _number(request: HttpRequest, field: str) -> int:
    try:
        return int(request.POST.get(field, ""))
    except ValueError:
        raise DomainError(f"{field.replace('_', ' ')} must be a whole number") from None


def _labels(request: HttpRequest) -> list[str]:
    return [label for label in request.POST.get("labels", "").replace(",", " ").split() if label]


def _claims(request: HttpRequest) -> list[str]:
    return [glob for glob in request.POST.get("claims", "").replace(",", " ").split() if glob]


def _as_seen(task_id: int, action: Callable[[], object], kept: str = "") -> Callable[[], object]:
    """`action`, with a stale form's conflict said in the person's words: what the page showed is not the task
    any more, so nothing was saved (and, for a form that keeps what was typed, that it is still there)."""

    def run():
        try:
            return action()
        except ConcurrencyError as exc:
            raise TaskConflict(
                f"Task #{task_id} was changed since this page showed it (it is at version {exc.actual}, the page "
                f"showed {exc.expected}), so nothing was saved. {kept or 'The page shows the task as it is now.'}"
            ) from None

    return run


def _task_link(task) -> tuple[str, str]:
    return (reverse("task", args=[task.id]), f"Open task #{task.id}")


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Tasks in columns by status, filtered; quick create; moves by buttons or drag and drop."""
    return page(request, BoardPage(flatten(request.GET)))


@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task: references with their state and diff, dependencies, dispatches with their prompts, assignment."""
    return page(request, TaskPage({"id": str(task_id)}))


@require_POST
def task_create(request: HttpRequest) -> HttpResponse:
    def create():
        labels = _labels(request)
        references = []
        if request.POST.get("reference_path"):
            start, end = _number(request, "reference_start"), _number(request, "reference_end")
            references.append((request.POST["reference_path"], start, end))
        priority = _number(request, "priority") if request.POST.get("priority", "").strip() else 0
        return task_services.task_create(
            request.POST.get("title", ""),
            description=request.POST.get("description", ""),
            priority=priority,
            labels=labels,
            references=references,
            claims=_claims(request),
            isolation="worktree" if request.POST.get("worktree") in ("1", "on", "true") else "shared",
        )

    return act(request, create, lambda t: f"Task #{t.id} created: {t.title}", back=reverse("board"), link=_task_link)


@require_POST
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    """Change what the task says (title, description, priority, labels, claims) at the version the form showed."""

    def edit():
        priority = _number(request, "priority") if request.POST.get("priority", "").strip() else 0
        return task_services.task_update(
            task_id,
            expected_version=_version(request),
            title=request.POST.get("title", ""),
            description=request.POST.get("description", "").replace("\r\n", "\n"),
            priority=priority,
            labels=_labels(request),
            claims=_claims(request) if "claims" in request.POST else None,
        )

    kept = "What you typed is still in the form: copy what you need, then press Discard to see the task as it is now."
    return act(
        request,
        _as_seen(task_id, edit, kept),
        lambda t: f"Task #{t.id} saved.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_reference_add(request: HttpRequest, task_id: int) -> HttpResponse:
    """Anchor the task to lines of a document named on the task page (the document page selects them instead)."""

    def add():
        start = _number(request, "start")
        end = _number(request, "end") if request.POST.get("end", "").strip() else start
        path = request.POST.get("path", "").strip()
        return task_services.reference_add(task_id, path, start, end, expected_version=_version(request))

    return act(
        request,
        _as_seen(task_id, add),
        lambda r: f"Reference {r.path}:{r.start}-{r.end} added.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def reference_add(request: HttpRequest) -> HttpResponse:
    """Add the selected lines of a document to an existing task (chosen from a list, at its current version)."""

    def add():
        task = task_selectors.task(request.POST.get("task", ""))
        start, end = _number(request, "start"), _number(request, "end")
        task_services.reference_add(task.id, request.POST.get("path", ""), start, end, expected_version=task.version)
        return task

    return act(request, add, lambda t: f"Lines added to task #{t.id}.", link=_task_link)


@require_POST
def task_status(request: HttpRequest, task_id: int) -> HttpResponse:
    status = request.POST.get("status", "")
    return act(
        request,
        _as_seen(task_id, lambda: task_services.task_set_status(task_id, status, expected_version=_version(request))),
        lambda t: f"Task #{t.id} moved to {lifecycle.LABELS[t.status]}.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_assign(request: HttpRequest, task_id: int) -> HttpResponse:
    session = request.POST.get("session", "")
    confirmed = request.POST.get("confirm_not_agent") in ("1", "on", "true")
    return act(
        request,
        _as_seen(
            task_id,
            lambda: task_services.task_assign(
                task_id, session, expected_version=_version(request), confirm_not_agent=confirmed
            ),
        ),
        lambda t: f"Task #{t.id} assigned to {t.session}; its prompt is queued.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_dependency_add(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        lambda: task_services.task_add_dependency(
            task_id, _number(request, "depends_on"), expected_version=_version(request)
        ),
        "Dependency added.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_dependency_remove(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        lambda: task_services.task_remove_dependency(
            task_id, _number(request, "depends_on"), expected_version=_version(request)
        ),
        "Dependency removed.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def reference_refresh(request: HttpRequest, task_id: int, reference_id: str) -> HttpResponse:
    return act(
        request,
        lambda: task_services.reference_refresh(task_id, reference_id, expected_version=_version(request)),
        "The reference now quotes the document as it is.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def reference_remove(request: HttpRequest, task_id: int, reference_id: str) -> HttpResponse:
    return act(
        request,
        lambda: task_services.reference_remove(task_id, reference_id, expected_version=_version(request)),
        "Reference removed.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_review_comment(request: HttpRequest, task_id: int) -> HttpResponse:
    """A comment on a line of the task's diff, kept until the person requests changes."""
    return act(
        request,
        lambda: task_services.review_comment(
            task_id, request.POST.get("path", ""), _number(request, "line"), request.POST.get("text", "")
        ),
        lambda c: f"Comment on {c.path}:{c.line} added; Request changes sends it to the agent.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_request_changes(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        _as_seen(task_id, lambda: task_services.task_request_changes(task_id, expected_version=_version(request))),
        lambda t: f"The comments are queued for {t.session}; task #{t.id} is in progress again.",
        back=reverse("task", args=[task_id]),
    )


@require_POST
def task_approve(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        _as_seen(task_id, lambda: task_services.task_approve(task_id, expected_version=_version(request))),
        lambda t: f"Task #{t.id} approved: it is done.",
        back=reverse("task", args=[task_id]),
    )

"""The pages and their actions. A page view renders its LivePage's context (chorus_site.pages); an action parses
the form, calls one service inside the request's event context, and answers with a flash message (htmx) or a
redirect back (plain form). What the action changed reaches every open page through the page websocket."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from chorus_site import pages, task_pages
from documents_app import services as document_services
from events_app import audit
from events_app.store import ConcurrencyError, event_context
from sessions_app import services as session_services
from tasks_app import selectors as task_selectors
from tasks_app import services as task_services
from tasks_app.errors import TaskError

# Domain errors an action may raise; each is shown with its HTTP status (`status`, else 400).
DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    session_services.SessionError,
    TaskError,
    document_services.DocumentError,
    ConcurrencyError,
)


def _status(exc: Exception) -> int:
    if isinstance(exc, ConcurrencyError):
        return 409
    return getattr(exc, "status", None) or 400


def _page(request: HttpRequest, page: pages.LivePage) -> HttpResponse:
    return render(request, page.template, page.context())


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or fallback
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def act(
    request: HttpRequest,
    action: Callable[[], object],
    done: str | Callable[[object], str],
    *,
    back: str = "/",
    link: Callable[[object], tuple[str, str]] | None = None,
):
    """Run one service call as the browser; report how it went as a flash message (with a link, if given)."""
    try:
        with event_context(actor="browser", source="web", correlation_id=uuid.uuid4().hex):
            result = action()
    except DOMAIN_ERRORS as exc:
        return _report(request, messages.ERROR, str(exc), _status(exc), back)
    text = done(result) if callable(done) else done
    return _report(request, messages.SUCCESS, text, 200, back, link(result) if link else None)


def _report(
    request: HttpRequest, level: int, text: str, status: int, back: str, link: tuple[str, str] | None = None
) -> HttpResponse:
    if request.htmx:
        tag = "error" if level == messages.ERROR else "success"
        return render(request, "base.html#flash", {"flash": [(tag, text, link)]}, status=status)
    messages.add_message(request, level, text)
    return HttpResponseRedirect(_back(request, back))


# --- pages ------------------------------------------------------------------------------------------------------


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """Every session as a card, waiting ones first, with counts by status and the new-session form."""
    return _page(request, pages.OverviewPage({}))


@require_GET
def session_detail(request: HttpRequest, name: str) -> HttpResponse:
    """One session: its terminal mirrored live, a message box, dialog answers and keys, outbox, history."""
    return _page(request, pages.SessionPage({"name": name}))


@require_GET
def event_log(request: HttpRequest) -> HttpResponse:
    """The event log, filtered and paged; the newest page follows the log live."""
    return _page(request, pages.EventsPage(pages.flatten(request.GET)))


@require_GET
def events_verify(request: HttpRequest) -> HttpResponse:
    """Walk the hash chain now and say whether it holds (a read: allowed in read-only mode too)."""
    result = audit.verify_events()
    return render(request, "events.html#verify-result", {"result": result})


# --- session actions ----------------------------------------------------------------------------------------------


@require_POST
def session_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    profile = request.POST.get("profile", "").strip() or "claude"
    subdir = request.POST.get("subdir", "").strip() or None
    return act(
        request,
        lambda: session_services.session_create(name, profile, subdir),
        lambda s: f"Session {s.name} started ({s.profile}).",
    )


@require_POST
def session_kill(request: HttpRequest, name: str) -> HttpResponse:
    return act(request, lambda: session_services.session_kill(name), f"Session {name} killed.")


@require_POST
def session_restart(request: HttpRequest, name: str) -> HttpResponse:
    return act(request, lambda: session_services.session_restart(name), f"Session {name} restarted.")


@require_POST
def session_send(request: HttpRequest, name: str) -> HttpResponse:
    text = request.POST.get("text", "")
    return act(
        request,
        lambda: session_services.session_send(name, text),
        "Message queued; it is typed when the agent is idle.",
        back=f"/sessions/{name}/",
    )


@require_POST
def session_keys(request: HttpRequest, name: str) -> HttpResponse:
    keys = request.POST.getlist("key")
    return act(
        request,
        lambda: session_services.session_send_keys(name, keys),
        f"Pressed {' '.join(keys)}.",
        back=f"/sessions/{name}/",
    )


@require_POST
def session_auto_dispatch(request: HttpRequest, name: str) -> HttpResponse:
    enabled = request.POST.get("enabled") in ("1", "on", "true")
    return act(
        request,
        lambda: session_services.session_set_auto_dispatch(name, enabled),
        f"Auto-dispatch {'on' if enabled else 'off'} for {name}.",
        back=f"/sessions/{name}/",
    )


@require_POST
def message_cancel(request: HttpRequest, name: str, message_id: str) -> HttpResponse:
    return act(
        request,
        lambda: session_services.message_cancel(message_id, session=name),
        "Message cancelled.",
        back=f"/sessions/{name}/",
    )


# --- tasks ------------------------------------------------------------------------------------------------------


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        raise TaskError("the form did not say which version of the task it showed; reload the page") from None


def _number(request: HttpRequest, field: str) -> int:
    try:
        return int(request.POST.get(field, ""))
    except ValueError:
        raise TaskError(f"{field.replace('_', ' ')} must be a whole number") from None


def _task_link(task) -> tuple[str, str]:
    return (f"/tasks/{task.id}/", f"Open task #{task.id}")


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    """Tasks in columns by status, filtered; quick create; moves by buttons or drag and drop."""
    return _page(request, task_pages.BoardPage(pages.flatten(request.GET)))


@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task: references with their state and diff, dependencies, dispatches with their prompts, assignment."""
    return _page(request, task_pages.TaskPage({"id": str(task_id)}))


@require_POST
def task_create(request: HttpRequest) -> HttpResponse:
    def create():
        labels = [label for label in request.POST.get("labels", "").replace(",", " ").split() if label]
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
        )

    return act(request, create, lambda t: f"Task #{t.id} created: {t.title}", back="/tasks/", link=_task_link)


@require_POST
def reference_add(request: HttpRequest) -> HttpResponse:
    """Add the selected lines of a document to an existing task (chosen from a list, at its current version)."""

    def add():
        task = task_selectors.task(request.POST.get("task", ""))
        start, end = _number(request, "start"), _number(request, "end")
        task_services.reference_add(task.id, request.POST.get("path", ""), start, end, task.version)
        return task

    return act(request, add, lambda t: f"Lines added to task #{t.id}.", link=_task_link)


@require_POST
def task_status(request: HttpRequest, task_id: int) -> HttpResponse:
    status = request.POST.get("status", "")
    return act(
        request,
        lambda: task_services.task_set_status(task_id, status, _version(request)),
        lambda t: f"Task #{t.id} is {t.status.replace('_', ' ')}.",
        back=f"/tasks/{task_id}/",
    )


@require_POST
def task_assign(request: HttpRequest, task_id: int) -> HttpResponse:
    session = request.POST.get("session", "")
    return act(
        request,
        lambda: task_services.task_assign(task_id, session, _version(request)),
        lambda t: f"Task #{t.id} assigned to {t.session}; its prompt is queued.",
        back=f"/tasks/{task_id}/",
    )


@require_POST
def task_dependency_add(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        lambda: task_services.task_add_dependency(task_id, _number(request, "depends_on"), _version(request)),
        "Dependency added.",
        back=f"/tasks/{task_id}/",
    )


@require_POST
def task_dependency_remove(request: HttpRequest, task_id: int) -> HttpResponse:
    return act(
        request,
        lambda: task_services.task_remove_dependency(task_id, _number(request, "depends_on"), _version(request)),
        "Dependency removed.",
        back=f"/tasks/{task_id}/",
    )


@require_POST
def reference_refresh(request: HttpRequest, task_id: int, reference_id: str) -> HttpResponse:
    return act(
        request,
        lambda: task_services.reference_refresh(task_id, reference_id, _version(request)),
        "The reference now quotes the document as it is.",
        back=f"/tasks/{task_id}/",
    )


@require_POST
def reference_remove(request: HttpRequest, task_id: int, reference_id: str) -> HttpResponse:
    return act(
        request,
        lambda: task_services.reference_remove(task_id, reference_id, _version(request)),
        "Reference removed.",
        back=f"/tasks/{task_id}/",
    )


# --- documents --------------------------------------------------------------------------------------------------


@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    """The project's documents as a tree of folders."""
    return _page(request, task_pages.DocumentsPage({}))


@require_GET
def document_detail(request: HttpRequest, path: str) -> HttpResponse:
    """A document with line numbers: select lines, attach them to a task; references beside their lines."""
    return _page(request, task_pages.DocumentPage({"path": path}))

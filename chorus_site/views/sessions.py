"""The overview and session pages, and what a person does to sessions from them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chorus_site.pages.base import flatten
from chorus_site.pages.overview import OverviewPage
from chorus_site.pages.session import SessionPage
from chorus_site.views.base import act, page
from sessions_app import agent_reports
from sessions_app import selectors as session_selectors
from sessions_app import services as session_services
from tasks_app import services as task_services


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The sessions as cards, waiting ones first, with counts by status and the new-session form (`?all=1`: every
    card of every section)."""
    return page(request, OverviewPage(flatten(request.GET)))


@require_GET
def session_detail(request: HttpRequest, name: str) -> HttpResponse:
    """One session: its terminal mirrored live, a message box, dialog answers and keys, outbox, history."""
    return page(request, SessionPage({"name": name}))


@require_POST
def session_create(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    profile = request.POST.get("profile", "").strip() or session_selectors.default_profile()
    subdir = request.POST.get("subdir", "").strip() or None
    host = request.POST.get("host", "").strip() or None
    return act(
        request,
        lambda: session_services.session_create(name, profile, subdir, host=host),
        lambda s: f"Session {s.name} started ({s.profile}).",
    )


@require_POST
def session_kill(request: HttpRequest, name: str) -> HttpResponse:
    return act(request, lambda: session_services.session_kill(name), f"Session {name} killed.")


@require_POST
def session_remove(request: HttpRequest, name: str) -> HttpResponse:
    """Forget an ended session; from its own page, the person lands on the overview (the page is gone)."""
    return act(
        request,
        lambda: session_services.session_remove(name),
        f"Session {name} removed; its name is free, and its history stays in the event log.",
        back=reverse("overview"),
    )


@require_POST
def session_restart(request: HttpRequest, name: str) -> HttpResponse:
    """Restart; with `resume=1` its agent continues its conversation."""
    resume = request.POST.get("resume") == "1"
    done = f"Session {name} restarted{', resuming its conversation' if resume else ''}."
    return act(request, lambda: session_services.session_restart(name, resume=resume), done)


@require_POST
def sessions_recover(request: HttpRequest) -> HttpResponse:
    """Start again the sessions that were live when tmux or the machine went away."""
    return act(request, session_services.sessions_recover, session_services.recovery_report)


@require_POST
def session_send(request: HttpRequest, name: str) -> HttpResponse:
    text = request.POST.get("text", "")
    return act(
        request,
        lambda: session_services.session_send(name, text),
        "Message queued; it is typed when the agent is idle.",
        back=reverse("session", args=[name]),
    )


@require_POST
def session_keys(request: HttpRequest, name: str) -> HttpResponse:
    keys = request.POST.getlist("key")
    return act(
        request,
        lambda: task_services.approval_keys_send(name, keys),
        f"Pressed {' '.join(keys)}.",
        back=reverse("session", args=[name]),
    )


@require_POST
def session_clear_input(request: HttpRequest, name: str) -> HttpResponse:
    return act(
        request,
        lambda: session_services.session_clear_input(name),
        f"Cleared the input line of {name}.",
        back=reverse("session", args=[name]),
    )


@require_POST
def request_cancel(request: HttpRequest, request_id: str) -> HttpResponse:
    """Withdraw a request its host's worker has not taken (its host is offline, say)."""
    return act(request, lambda: session_services.request_cancel(request_id), f"Request {request_id} cancelled.")


@require_POST
def session_auto_dispatch(request: HttpRequest, name: str) -> HttpResponse:
    enabled = request.POST.get("enabled") in ("1", "on", "true")
    return act(
        request,
        lambda: session_services.session_set_auto_dispatch(name, enabled),
        f"Auto-dispatch {'on' if enabled else 'off'} for {name}.",
        back=reverse("session", args=[name]),
    )


@require_POST
def message_cancel(request: HttpRequest, name: str, message_id: str) -> HttpResponse:
    return act(
        request,
        lambda: session_services.message_cancel(message_id, session=name),
        "Message cancelled.",
        back=reverse("session", args=[name]),
    )


@require_POST
def session_answer(request: HttpRequest, name: str) -> HttpResponse:
    """A person's answer to the agent's question (an option's button or their own words): queued for the agent."""
    answer = request.POST.get("answer", "")
    question_id = request.POST.get("question_id") or None
    return act(
        request,
        lambda: agent_reports.question_answer(name, answer, question_id=question_id),
        "Answer queued; it is typed when the agent is idle.",
        back=reverse("session", args=[name]),
    )

"""What every view shares: a page rendered from its LivePage, and an action run as the browser. `act` is the one
place a domain error becomes what the person sees: the flash message, answered with the error's HTTP status. What
an action changed reaches every open page through the page websocket. `server_error` (Django's handler500) says
what is wrong when the database cannot be written, on an error page or in the flash of an htmx request."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults

from chorus_site.pages.base import LivePage
from events_app.database import unwritable
from events_app.errors import DomainError
from events_app.store import event_context


def page(request: HttpRequest, live_page: LivePage) -> HttpResponse:
    return render(request, live_page.template, live_page.context())


def act(
    request: HttpRequest,
    action: Callable[[], object],
    done: str | Callable[[object], str],
    *,
    back: str | None = None,
    link: Callable[[object], tuple[str, str]] | None = None,
) -> HttpResponse:
    """Run one service call as the browser; report how it went as a flash message (with a link, if given)."""
    back = back or reverse("overview")
    try:
        with event_context(actor="browser", source="web", correlation_id=uuid.uuid4().hex):
            result = action()
    except DomainError as exc:
        return _report(request, messages.ERROR, str(exc), exc.status, back)
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


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or fallback
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def server_error(request: HttpRequest) -> HttpResponse:
    """A database that cannot be written (read-only, its disk full) answers 503 saying so; nothing was written.
    Any other crash is Django's plain 500. Django calls this inside its handling of the exception."""
    exc = sys.exc_info()[1]
    problem = unwritable(exc) if isinstance(exc, DatabaseError) else None
    if problem is None:
        return defaults.server_error(request)
    if getattr(request, "htmx", False):
        flash = [("error", f"{problem}: nothing was changed.", None)]
        return render(request, "base.html#flash", {"flash": flash}, status=503)
    return render(request, "error.html", {"problem": problem}, status=503)

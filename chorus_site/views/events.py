"""The event log page and the hash chain's check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chorus_site.pages.base import flatten
from chorus_site.pages.events import EventsPage
from chorus_site.views.base import page
from events_app import audit


@require_GET
def event_log(request: HttpRequest) -> HttpResponse:
    """The event log, filtered and paged; the newest page follows the log live."""
    return page(request, EventsPage(flatten(request.GET)))


@require_GET
def events_verify(request: HttpRequest) -> HttpResponse:
    """Walk the hash chain now and say whether it holds (a read: allowed in read-only mode too)."""
    return render(request, "events.html#verify-result", {"result": audit.verify_events()})

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from events_app import selectors


def home(request: HttpRequest) -> HttpResponse:
    """The start page: the latest events, refreshed live (the dashboard pages build on this)."""
    context = {"events": selectors.recent_events(50), "position": selectors.last_position()}
    if request.htmx:
        return render(request, "home.html#event-rows", context)
    return render(request, "home.html", context)

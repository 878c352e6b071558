"""Reads of sessions for pages, the API and commands."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from sessions_app import services
from sessions_app import tmux as tmux_adapter
from sessions_app.models import OutboxMessage, Session, StatusChange
from sessions_app.profiles import load_profiles


def sessions(include_ended: bool = True):
    queryset = Session.objects.all()
    return queryset if include_ended else queryset.filter(lifecycle="live")


def session(name: str) -> Session:
    return services.get_session(name)


def outbox(name: str, include_finished: bool = False):
    services.get_session(name)
    queryset = OutboxMessage.objects.filter(session=name)
    if not include_finished:
        queryset = queryset.filter(state__in=[OutboxMessage.QUEUED, OutboxMessage.DELIVERING])
    return queryset.order_by("queued_position")


def status_history(name: str, limit: int = 100):
    services.get_session(name)
    return StatusChange.objects.filter(session=name).order_by("-position")[:limit]


def attach_command(name: str) -> str:
    return services.tmux().attach_command(name)


def screen(name: str) -> str:
    """The session's screen as tmux shows it now (plain text)."""
    current = services.get_session(name)
    if not current.is_live:
        raise services.SessionConflict(f"session {name!r} is {current.lifecycle}")
    try:
        return services.tmux().capture(current.pane_id).text
    except tmux_adapter.TmuxError as exc:
        raise services.SessionConflict(f"cannot read the screen: {exc}") from None


def profiles():
    try:
        return sorted(load_profiles(Path(settings.PROJECT_ROOT)).values(), key=lambda p: p.name)
    except ValueError as exc:
        raise services.SessionError(str(exc)) from None

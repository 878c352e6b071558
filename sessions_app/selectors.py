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


# --- Reads for tasks_app, which follows sessions and their messages through these and never queries their models.


def session_named(name: str) -> Session | None:
    """The session called `name`, or None: the caller says what a missing session means to it."""
    return Session.objects.filter(pk=name).first() if isinstance(name, str) else None


def sessions_free_for_work() -> list[Session]:
    """Live sessions opted in to dispatch, idle, with nothing queued for them or being delivered to them; the ones
    idle the longest first."""
    pending = OutboxMessage.objects.filter(state__in=[OutboxMessage.QUEUED, OutboxMessage.DELIVERING])
    return list(
        Session.objects.filter(lifecycle="live", auto_dispatch=True, status="idle")
        .exclude(name__in=pending.values("session"))
        .order_by("status_since")
    )


def message_waiting(message_id: str) -> bool:
    """Whether the message is still queued: not claimed for delivery yet, so it can be withdrawn."""
    return OutboxMessage.objects.filter(pk=message_id, state=OutboxMessage.QUEUED).exists()


def delivery_started(message_id: str) -> int | None:
    """The position of the message's DeliveryStarted: what its session does after that answers the message."""
    from events_app import store  # this block adds nothing to the module's own imports

    started = next(store.read(stream_type="message", stream_id=message_id, event_types=["DeliveryStarted"]), None)
    return started.position if started else None


def quiet_delivery(message_id: str) -> tuple[OutboxMessage, int] | None:
    """The message and the position its delivery began, if it was delivered to a live session that is idle and has
    not changed status since the delivery began (an agent never seen at work on it); None otherwise."""
    message = OutboxMessage.objects.filter(pk=message_id, state=OutboxMessage.DELIVERED).first()
    started = delivery_started(message_id) if message else None
    if started is None:
        return None
    if not Session.objects.filter(pk=message.session, lifecycle="live", status="idle").exists():
        return None
    if StatusChange.objects.filter(session=message.session, position__gt=started).exists():
        return None
    return message, started

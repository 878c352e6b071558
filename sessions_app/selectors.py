"""Reads of sessions for pages, the API and commands: read models, profiles, and what tmux shows now."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings

from sessions_app import hosts as hosts_
from sessions_app import requests as requests_
from sessions_app import tmux as tmux_adapter
from sessions_app.agents import DEFAULT_PROFILE
from sessions_app.catalog import get_profile, load_profiles
from sessions_app.dialogs import Dialog, Menu
from sessions_app.errors import SessionConflict, SessionError, UnknownSession
from sessions_app.models import (
    AgentCall,
    AgentCredential,
    AgentQuestion,
    MirroredScreen,
    OutboxMessage,
    Session,
    SessionRequest,
    StatusChange,
)
from sessions_app.profiles import Profile


def sessions(include_ended: bool = True, host: str = ""):
    """The sessions (live only unless `include_ended`), of one host when `host` is given."""
    queryset = Session.objects.all() if include_ended else Session.objects.filter(lifecycle="live")
    return queryset.filter(host=host) if host else queryset


def sessions_here(include_ended: bool = False):
    """The sessions of this host (CHORUS_HOST_NAME): the ones its worker looks at, types into and reads files of."""
    return sessions(include_ended, host=settings.CHORUS_HOST_NAME)


def names_elsewhere():
    """The names of the sessions of other hosts (a subquery)."""
    return Session.objects.exclude(host=settings.CHORUS_HOST_NAME).values("name")


def hosts() -> list[hosts_.Host]:
    """Every host, online or not, with its live sessions counted."""
    return hosts_.hosts()


def offline_hosts() -> dict[str, str]:
    """The offline hosts, each with what its sessions say instead of a status that may be stale."""
    return hosts_.offline()


def request(request_id: str) -> SessionRequest:
    found = SessionRequest.objects.filter(pk=request_id).first()
    if found is None:
        raise UnknownSession(f"no request {request_id!r}")
    found.waits_for = requests_.waits_for(found)
    return found


def requests(session: str | None = None, *, open_only: bool = False, host: str = "", limit: int = 50) -> list:
    """Requests to hosts' workers, the latest first: of one session, of one host, only those not finished. Each
    has `waits_for`: what an open one waits for (requests_.waits_for), "" once finished."""
    queryset = SessionRequest.objects.all()
    if session is not None:
        queryset = queryset.filter(session=session)
    if host:
        queryset = queryset.filter(host=host)
    if open_only:
        queryset = queryset.filter(state__in=[SessionRequest.PENDING, SessionRequest.CLAIMED])
    found = list(queryset.order_by("-requested_position")[:limit])
    for request in found:
        request.waits_for = requests_.waits_for(request)
    return found


def pending_requests(host: str) -> list:
    """What the worker of `host` has to carry out, oldest first."""
    return list(SessionRequest.objects.filter(host=host, state=SessionRequest.PENDING).order_by("requested_position"))


def session(name: str) -> Session:
    found = Session.objects.filter(pk=name).first()
    if found is None:
        raise UnknownSession(f"no session named {name!r}")
    return found


def outbox(name: str, include_finished: bool = False):
    session(name)
    queryset = OutboxMessage.objects.filter(session=name)
    if not include_finished:
        queryset = queryset.filter(state__in=[OutboxMessage.QUEUED, OutboxMessage.DELIVERING])
    return queryset.order_by("queued_position")


def status_history(name: str, limit: int = 100):
    session(name)
    return StatusChange.objects.filter(session=name).order_by("-position")[:limit]


def attach_command(name: str) -> str:
    return tmux_adapter.configured().attach_command(name)


def screen(name: str) -> str:
    """The session's screen as tmux shows it now (plain text). A stopped agent's pane stays, dead, until the
    session is restarted or killed (remain-on-exit), and still shows its last screen: that is answered too."""
    current = session(name)
    adapter = tmux_adapter.configured()
    try:
        if current.is_live or _pane_kept(adapter, current):
            return adapter.capture(current.pane_id).text
    except tmux_adapter.TmuxError as exc:
        raise SessionConflict(f"cannot read the screen: {exc}") from None
    raise SessionConflict(f"session {name!r} is {current.lifecycle} and its pane has gone")


def _pane_kept(adapter: tmux_adapter.Tmux, current: Session) -> bool:
    """Whether the pane of a session that is not live is still there. Pane ids start again at %0 with a new
    server, so only a pane still tagged as this session's is its own."""
    if not current.pane_id:
        return False
    try:
        return adapter.pane(current.pane_id).tag == current.name
    except tmux_adapter.PaneGone:
        return False


def screens(names: Iterable[str]) -> dict[str, MirroredScreen]:
    """The last screen the worker captured of each session named that has one (sessions_app.mirror): what pages
    show. A page that shows a screen must say so with mirror.watch, or the worker stops capturing it."""
    return {row.session: row for row in MirroredScreen.objects.filter(session__in=list(names)).exclude(seq=0)}


def missing_program(profile: Profile) -> str | None:
    """Why `profile`'s program cannot start on this machine (not on PATH), else None."""
    return profile.missing_program(os.environ)


def installed(profile: Profile) -> bool:
    return missing_program(profile) is None


def default_profile() -> str:
    """The profile a new session gets when none is chosen: the built-in default if its program is installed, else
    the first installed agent by name (else the default still, whose refusal then says what to install)."""
    try:
        known = profiles()
    except SessionError:
        return DEFAULT_PROFILE
    preferred = [p for p in known if p.name == DEFAULT_PROFILE] + [p for p in known if p.name != DEFAULT_PROFILE]
    return next((p.name for p in preferred if p.agent and installed(p)), DEFAULT_PROFILE)


def profiles() -> list[Profile]:
    """Every profile of the project (built-in and the user's), by name."""
    return sorted(load_profiles(Path(settings.PROJECT_ROOT)).values(), key=lambda p: p.name)


def is_agent(profile_name: str) -> bool:
    """Whether sessions of this profile run an AI agent that takes tasks; a profile that cannot be loaded is not
    trusted to be one."""
    try:
        return profile(profile_name).agent
    except SessionError:
        return False


def profile(name: str) -> Profile:
    """The project's profile `name`; UnknownProfile or ProfileConfigError (both SessionErrors) if it cannot be used."""
    return get_profile(name, Path(settings.PROJECT_ROOT))


def dialog(name: str, screen: str) -> Menu | None:
    """The dialog on `screen` (plain text) as the profile of session `name` draws it: its question and options
    (key to press, label), in order; None when no dialog shows. A profile that cannot be loaded reads it with the
    common markers, so a person can still answer."""
    current = session(name)
    try:
        drawn = profile(current.profile).dialog
    except SessionError:
        drawn = Dialog()
    return drawn.menu(screen)


def dialog_options(name: str, screen: str) -> list[tuple[str, str]]:
    """The options of the dialog on `screen` (see `dialog`); empty when no dialog shows."""
    menu = dialog(name, screen)
    return list(menu.options) if menu else []


# --- Agent tools: credentials, calls and questions (written by sessions_app.credentials and agent_reports).


def agent_credential(name: str) -> AgentCredential | None:
    """The session's agent credential in force, if it has one (its tier says what its agent may call)."""
    return AgentCredential.objects.filter(session=name, revoked_at__isnull=True).first()


def agent_credential_of(digest: str) -> AgentCredential | None:
    """The credential whose secret hashes to `digest`, in force or revoked."""
    return AgentCredential.objects.filter(pk=digest).first()


def agent_calls(name: str, limit: int = 100):
    """The session's calls of its agent tools, newest first."""
    session(name)
    return AgentCall.objects.filter(session=name).order_by("-position")[:limit]


def agent_call_times(name: str, since: datetime) -> list[datetime]:
    """When the session called its agent tools since `since`, oldest first: what its rate limit counts."""
    return list(AgentCall.objects.filter(session=name, at__gte=since).order_by("at").values_list("at", flat=True))


def progress_reported_since(position: int) -> set[str]:
    """The sessions whose agents reported progress in an event after `position`."""
    reports = AgentCall.objects.filter(position__gt=position, tool="report_progress")
    return set(reports.values_list("session", flat=True))


def questions(name: str, include_closed: bool = False):
    """The questions the session's agent asked, oldest first: the open ones, or all."""
    session(name)
    queryset = AgentQuestion.objects.filter(session=name)
    if not include_closed:
        queryset = queryset.filter(state=AgentQuestion.OPEN)
    return queryset.order_by("asked_position")


def question(question_id: str) -> AgentQuestion:
    found = AgentQuestion.objects.filter(pk=question_id).first() if isinstance(question_id, str) else None
    if found is None:
        raise UnknownSession(f"no question {question_id!r}")
    return found


def open_questions() -> dict[str, AgentQuestion]:
    """The oldest open question of each session that has one: a person is waited for."""
    oldest: dict[str, AgentQuestion] = {}
    for found in AgentQuestion.objects.filter(state=AgentQuestion.OPEN).order_by("asked_position"):
        oldest.setdefault(found.session, found)
    return oldest


# --- Reads for tasks_app, which follows sessions and their messages through these and never queries their models.


def session_named(name: str) -> Session | None:
    """The session called `name`, or None: the caller says what a missing session means to it."""
    return Session.objects.filter(pk=name).first() if isinstance(name, str) else None


def sessions_free_for_work() -> list[Session]:
    """Live sessions of agents (never a shell) opted in to dispatch, idle, with nothing queued for them or being
    delivered to them; the ones idle the longest first."""
    pending = OutboxMessage.objects.filter(state__in=[OutboxMessage.QUEUED, OutboxMessage.DELIVERING])
    idle = (
        Session.objects.filter(lifecycle="live", auto_dispatch=True, status="idle")
        .exclude(name__in=pending.values("session"))
        .order_by("status_since")
    )
    return [session for session in idle if is_agent(session.profile)]


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

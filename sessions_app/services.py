"""Session services: the only writers of session and message events. Entry points call these, nothing else.

Side effects on tmux happen here (or in the worker), never in projectors, so a replay never re-types a prompt.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
from django.conf import settings

from events_app import store
from events_app.errors import DomainError
from events_app.store import event_context
from sessions_app import credentials, hosts, mirror, requests, selectors
from sessions_app import events as ev
from sessions_app import tmux as tmux_adapter
from sessions_app.agents import DEFAULT_PROFILE
from sessions_app.errors import ProgramMissing, SessionConflict, SessionError, UnknownDirectory, UnknownSession
from sessions_app.models import KILLED, OutboxMessage, Session, SessionRequest
from sessions_app.profiles import Profile
from sessions_app.tools_loader import OFF, AgentAccess, agent_launch, check_tier, shim

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# why the worker ended a session whose tagged pane vanished (its tmux server went away, or its tmux session)
PANE_GONE = "its tmux pane is gone"
NAME_RULE = "1-40 letters, digits, '-' or '_', starting with a letter or digit"
HOST_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")
log = logging.getLogger("chorus.sessions")

__all__ = ["SessionConflict", "SessionError", "UnknownSession"]  # raised here, defined in sessions_app.errors


def tmux() -> tmux_adapter.Tmux:
    return tmux_adapter.configured()


def _validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise SessionError(f"invalid session name {name!r}: use {NAME_RULE}")
    return name


def _host(host: str | None) -> str:
    """The host a request is for: this one unless another is named (a host no worker ever ran for is allowed:
    its request waits, saying so)."""
    if host is None:
        return settings.CHORUS_HOST_NAME
    if not isinstance(host, str) or not HOST_NAME.fullmatch(host):
        raise SessionError(f"invalid host name {host!r}: 1-100 characters, none a control character")
    return host


def _working_directory(subdir: str | None) -> Path:
    root = Path(settings.PROJECT_ROOT)
    if not subdir:
        return root
    if "\x00" in subdir:
        raise SessionError(f"working directory {subdir!r} is no path: it holds a NUL character")
    candidate = (root / subdir).resolve()
    if candidate != root and root not in candidate.parents:
        raise SessionError(f"working directory {subdir!r} is outside PROJECT_ROOT")
    if not candidate.is_dir():
        raise UnknownDirectory(f"working directory {subdir!r} does not exist under PROJECT_ROOT")
    return candidate


def get_session(name: str) -> Session:
    return selectors.session(name)


def _live_session(name: str) -> Session:
    session = get_session(name)
    if not session.is_live:
        raise SessionConflict(f"session {name!r} is {session.lifecycle}; restart it first")
    return session


def hook_directory(name: str) -> Path:
    return Path(settings.DATA_DIR) / "hooks" / name


def _check_installed(profile: Profile) -> None:
    """Refuse before anything starts when the profile's program is not there: tmux would start it, and its pane
    would die at once with exit 127."""
    missing = selectors.missing_program(profile)
    if missing is not None:
        raise ProgramMissing(missing)


def _tools_tier(tools: str | None, profile: Profile) -> str:
    """The tier of Chorus's tools a session gets: the one asked for, else its profile's."""
    try:
        return check_tier(profile.agent_tools if tools is None else tools)
    except ValueError as exc:
        raise SessionError(str(exc)) from None


def _incarnation_tier(name: str) -> str:
    """The tier of the credential the session's incarnation was started with (off: it had none), which its
    restarts keep: the last one issued after the incarnation before it ended."""
    starts = ("SessionCreated", "SessionAdopted")
    start = next(store.read(stream_type="session", stream_id=name, event_types=starts, descending=True, limit=1), None)
    if start is None:
        return OFF
    before = store.read(stream_type="session", stream_id=name, until=start.position - 1, descending=True, limit=1)
    ended = next((recorded.position for recorded in before), 0)
    issued = store.read(
        stream_type="agent",
        stream_id=name,
        event_types=("AgentCredentialIssued",),
        after=ended,
        descending=True,
        limit=1,
    )
    return next((recorded.event.tier for recorded in issued), OFF)


def _twin_environment() -> dict[str, str]:
    """What the pane's `chorus` command needs to reach this Chorus's database from any directory (and from a tmux
    server that was started without Chorus's environment, as a user's own is)."""
    database = (
        {"CHORUS_DATABASE_URL": settings.CHORUS_DATABASE_URL}
        if settings.CHORUS_DATABASE_URL
        else {"CHORUS_DATABASE": str(settings.DATABASES["default"]["NAME"])}
    )
    return {
        # The process's own (settings.SETTINGS_MODULE is None while a test overrides settings).
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "chorus_site.settings"),
        "PROJECT_ROOT": str(settings.PROJECT_ROOT),
        "CHORUS_DATA_DIR": str(settings.DATA_DIR),
        **database,
    }


def _withdraw(issued: credentials.IssuedCredential, reason: str) -> None:
    """Revoke a credential issued for a start that did not happen, unless another start has replaced it."""
    current = selectors.agent_credential(issued.session)
    if current is not None and current.digest == issued.digest:
        credentials.revoke(issued.session, reason)


def _start_pane(name: str, profile_name: str, cwd: Path, tools: str, resume: tuple[str, ...] = ()):
    """Start the profile's agent in a new tmux session; with `tools` (a tier, not off) a credential is issued
    first and the profile's tools loader points the agent at Chorus's MCP server; `resume` (the profile's resume
    arguments for a conversation) comes last. Returns (profile, pane, the credential issued or None)."""
    profile = selectors.profile(profile_name)
    env = {**profile.environment, "CHORUS_SESSION": name}
    command = list(profile.command)
    warnings: list[str] = []
    if profile.self_report is not None:
        # The agent's own report: its plug-in says what to add (hooks writing into this session's directory).
        launch = profile.self_report.launch(hook_directory(name), profile.agent_environment())
        env.update(launch.environment)
        command += launch.arguments
        warnings += launch.warnings
    issued = None
    if tools != OFF:
        issued = credentials.issue(name, tools)
        access = AgentAccess(
            url=settings.CHORUS_MCP_URL,
            secret=issued.secret,
            credential_file=issued.path,
            directory=issued.directory,
            environment={**os.environ, **env},
        )
        twins = shim(_twin_environment(), Path(settings.BASE_DIR) / "manage.py")
        loaded = agent_launch(profile.tools_loader, tuple(command), access, twins)
        command = list(loaded.command)
        env.update(loaded.environment)
        warnings += loaded.warnings
    for warning in warnings:
        log.warning("%s: %s", name, warning)
    command += resume
    try:
        pane = _new_pane(name, command, cwd, env)
    except DomainError:
        if issued is not None:
            _withdraw(issued, "its agent did not start")
        raise
    return profile, pane, issued


def _new_pane(name: str, command: list[str], cwd: Path, env: dict[str, str]):
    try:
        return tmux().new_session(name, command, cwd=str(cwd), env=env, tag=name)
    except tmux_adapter.SessionExists:
        raise SessionConflict(f"tmux already has a session named {name!r}; adopt it or choose another name") from None
    except tmux_adapter.TmuxError as exc:
        raise SessionConflict(str(exc)) from None


def _tmux_call(action, *args):
    try:
        return action(*args)
    except tmux_adapter.TmuxError as exc:
        raise SessionConflict(str(exc)) from None


def session_check_start(name: str, profile: str) -> Profile:
    """What starting a session `name` of `profile` is refused for before anything starts: a bad name, an unknown
    profile or one whose program is not installed, a live session of that name. session_create asks it first; so
    does a caller that makes something for the session beforehand (a task's worktree)."""
    _validate_name(name)
    chosen = selectors.profile(profile)
    _check_installed(chosen)
    current = Session.objects.filter(pk=name).first()
    if current is not None and current.is_live:
        raise SessionConflict(f"a session named {name!r} is already running")
    return chosen


def session_create(
    name: str,
    profile: str = DEFAULT_PROFILE,
    subdir: str | None = None,
    tools: str | None = None,
    *,
    worktree: Path | None = None,
    host: str | None = None,
) -> Session:
    """Start an agent in a new tmux session named `name` inside PROJECT_ROOT (or a subdirectory of it), with
    Chorus's tools of tier `tools` (None: its profile's `agent_tools`; off: none). `worktree`: a task's git worktree
    to start in instead (given only by tasks_app's worktree service, never taken from a request): the one place
    outside PROJECT_ROOT a session may work, and the only one a profile with `isolation = "worktree"` may. `host`:
    whose worker starts it (default: this host's); the checks that need its machine (the program installed, the
    directory there) are made by that worker."""
    _validate_name(name)
    current = Session.objects.filter(pk=name).first()
    if current is not None and current.is_live:
        raise SessionConflict(f"a session named {name!r} is already running")
    requested = ev.SessionStartRequested(
        session=name,
        host=_host(host),
        profile=profile,
        subdir=subdir,
        tools=tools,
        worktree=str(worktree) if worktree is not None else "",
    )
    _carry(requested)
    return get_session(name)


def _execute_start(requested: ev.SessionStartRequested) -> dict:
    name, profile, subdir, tools = requested.session, requested.profile, requested.subdir, requested.tools
    worktree = Path(requested.worktree) if requested.worktree else None
    chosen = session_check_start(name, profile)
    cwd = _working_directory(subdir) if worktree is None else worktree
    if chosen.isolation == "worktree" and worktree is None:
        raise SessionError(
            f"profile {chosen.name} works in a task's own worktree (isolation worktree): start it for a task "
            f"(tasks worktree start TASK --profile {chosen.name})"
        )
    tier = _tools_tier(tools, chosen)
    version = store.stream_version("session", name)
    current = Session.objects.filter(pk=name).first()
    if current is not None:
        _clean_pane(current)  # an ended session's name is free again: its dead pane goes
    if _tmux_call(tmux().has_session, name):
        raise SessionConflict(f"tmux already has a session named {name!r}; adopt it or choose another name")
    agent, pane, issued = _start_pane(name, profile, cwd, tier)
    created = ev.SessionCreated(
        name=name,
        profile=agent.name,
        command=list(agent.command),
        cwd=str(cwd),
        pane_id=pane.pane_id,
        tmux_session=name,
        pid=pane.pid,
        host=settings.CHORUS_HOST_NAME,
    )
    try:
        store.append("session", name, version, [created])
    except store.ConcurrencyError:
        tmux().kill_session(name)
        if issued is not None:
            _withdraw(issued, "its session was created by someone else meanwhile")
        raise SessionConflict(f"session {name!r} was created by someone else meanwhile") from None
    return {}


def _stop_agent(session: Session) -> list[int]:
    """End the agent's whole process tree, then its tmux session (or pane, when adopted); return the pids that
    survived both. A plain kill-session is not enough: a program that ignores SIGHUP (Gemini CLI) lives on."""
    adapter = tmux()
    pane = _tmux_call(adapter.panes_by_tag).get(session.name)
    pid = pane.pid if pane is not None else session.pid
    tree = tmux_adapter.process_tree(pid) if pid else []
    survivors = tmux_adapter.end_process_tree(tree)
    if pane is not None:
        if session.adopted:
            _tmux_call(adapter.kill_pane, pane.pane_id)
        else:
            _tmux_call(adapter.kill_session, pane.session_name)
    return sorted(p.pid for p in survivors if p.is_running() and p.status() != psutil.STATUS_ZOMBIE)


def _clean_pane(session: Session) -> bool:
    """Remove what is left in tmux of an ended session: its dead pane (kept for its last screen) or, for a session
    Chorus started, whatever still runs in its tagged pane. An adopted pane that still runs is the user's: it is
    only untagged. True if a pane was removed."""
    pane = _tmux_call(tmux().panes_by_tag).get(session.name)
    if pane is None:
        return False
    if session.adopted and not pane.dead:
        _tmux_call(tmux().set_tag, pane.pane_id, None)
        return False
    _stop_agent(session)
    return True


def _record_after_side_effect(name: str, event, attempts: int = 5) -> None:
    """Append what a person did to tmux (kill, restart) once it is done. Ending an agent takes seconds, and the
    worker records what it sees meanwhile (the pane dying), so the version is read after the side effect and
    read again on a conflict: the person's action stands whatever was observed in between."""
    for _ in range(attempts):
        try:
            store.append("session", name, store.stream_version("session", name), [event])
            return
        except store.ConcurrencyError:
            continue
    raise SessionConflict(f"session {name!r} keeps changing; its tmux side is done, try again to record it")


def session_kill(name: str) -> Session:
    """Kill the agent's whole process tree, then its tmux session, then check that nothing is left. A session that
    has ended already only has its pane cleaned up (nothing is recorded: it ended as it did)."""
    session = get_session(name)
    _carry(ev.SessionKillRequested(session=name, host=session.host))
    return get_session(name)


def _execute_kill(requested: ev.SessionKillRequested) -> dict:
    name = requested.session
    session = get_session(name)
    if not session.is_live:
        _clean_pane(session)
        return {}
    leftovers = _stop_agent(session)
    _record_after_side_effect(name, ev.SessionKilled(leftover_pids=leftovers))
    return {"leftover_pids": leftovers}


def session_remove(name: str) -> None:
    """Forget an ended session: its pane is cleaned up, it leaves the lists and its name is free. Its history stays
    in the event log (stream session/NAME), which a new session of the same name continues."""
    session = get_session(name)
    if session.is_live:
        raise SessionConflict(f"session {name!r} is live; kill it first")
    _carry(ev.SessionRemoveRequested(session=name, host=session.host))


def _execute_remove(requested: ev.SessionRemoveRequested) -> dict:
    name = requested.session
    session = get_session(name)
    if session.is_live:
        raise SessionConflict(f"session {name!r} is live; kill it first")
    cleaned = _clean_pane(session)
    try:
        store.append("session", name, session.version, [ev.SessionRemoved(pane_cleaned=cleaned)])
    except store.ConcurrencyError:
        raise SessionConflict(f"session {name!r} changed meanwhile; look again") from None
    return {"pane_cleaned": cleaned}


def _resume_arguments(session: Session) -> tuple[str, ...]:
    """The arguments that resume the session's conversation; refused when its profile or its record lacks one."""
    profile = selectors.profile(session.profile)
    if not profile.resume:
        raise SessionConflict(f"profile {profile.name} does not say how to resume a conversation (its resume argv)")
    conversation = _conversation(session, profile)
    if not conversation:
        raise SessionConflict(
            f"session {session.name!r} has no conversation of its agent recorded yet; restart it afresh"
        )
    return profile.resume_arguments(conversation)


def _conversation(session: Session, profile: Profile) -> str:
    """The session's conversation: the one recorded, else the one its profile's finder reads in the agent's files
    (then recorded too)."""
    if session.conversation or profile.conversation_finder is None:
        return session.conversation
    starts = ("SessionCreated", "SessionAdopted", "SessionRestarted")
    start = next(
        store.read(stream_type="session", stream_id=session.name, event_types=starts, descending=True, limit=1)
    )
    finder = profile.conversation_finder
    found = finder.find(profile.agent_environment(), os.path.normpath(session.cwd), start.recorded_at)
    if not found:
        return ""
    session_bind_conversation(session, found, finder.name)
    return found


def session_restart(name: str, tools: str | None = None, resume: bool = False) -> Session:
    """Stop the agent if it runs and start it again with the same profile and working directory, and a new
    credential of the tier it had (or `tools`); the old one stops working. With `resume`, the agent continues the
    conversation it had (its profile's resume arguments with the session's bound conversation)."""
    session = get_session(name)
    _carry(ev.SessionRestartRequested(session=name, host=session.host, tools=tools, resume=resume))
    return get_session(name)


def _execute_restart(requested: ev.SessionRestartRequested) -> dict:
    session = get_session(requested.session)
    _restart(session, requested.tools, _resume_arguments(session) if requested.resume else (), stop=True)
    return {}


def _restart(session: Session, tools: str | None, resume: tuple[str, ...], *, stop: bool) -> None:
    name = session.name
    if session.adopted:
        raise SessionConflict(f"session {name!r} was adopted, so Chorus does not know how to start it again")
    _check_installed(selectors.profile(session.profile))
    tier = _incarnation_tier(name) if tools is None else _tools_tier(tools, selectors.profile(session.profile))
    if stop:
        # A stopped agent's pane stays (remain-on-exit) so its last screen can be read; it goes now.
        _stop_agent(session)
    if _tmux_call(tmux().has_session, name):
        raise SessionConflict(f"tmux has a session named {name!r} that Chorus does not own; adopt or kill it")
    _agent, pane, _issued = _start_pane(name, session.profile, Path(session.cwd), tier, resume)
    _record_after_side_effect(name, ev.SessionRestarted(pane_id=pane.pane_id, pid=pane.pid))


def sessions_to_recover() -> list[Session]:
    """The sessions of this host that were live when their tmux server (or the machine) went away: the read model
    still says live but tmux has no pane of theirs, or the worker saw the pane vanish (PANE_GONE). Adopted panes
    were the user's and are not started again; another host's sessions are its own worker's to recover."""
    panes = _tmux_call(tmux().panes_by_tag)
    candidates = Session.objects.filter(adopted=False, host=settings.CHORUS_HOST_NAME).exclude(lifecycle=KILLED)
    return [
        session
        for session in candidates
        if session.name not in panes and (session.is_live or session.status_reason == PANE_GONE)
    ]


def sessions_recover(host: str | None = None) -> list[tuple[Session, str]]:
    """Start again every session of `host` (default: this one) that was live when its tmux server went away,
    resuming its agent's conversation where the profile can and one is bound; each recovery is recorded
    (SessionRecovered). Its old processes are not looked for: the server took them down, and after a reboot their
    pids may be anybody's. Returns each session with what failed ("" when it started)."""
    detail = _carry(ev.SessionsRecoverRequested(session="", host=_host(host)))
    return [(get_session(name), failure) for name, failure in detail["outcome"]]


def _execute_recover(_requested: ev.SessionsRecoverRequested) -> dict:
    outcome = []
    for session in sessions_to_recover():
        profile = selectors.profile(session.profile)
        conversation = _conversation(session, profile) if profile.resume else ""
        resume = profile.resume_arguments(conversation) if conversation else ()
        try:
            _restart(session, None, resume, stop=False)
        except DomainError as exc:
            outcome.append((session.name, str(exc)))
            continue
        _record_after_side_effect(session.name, ev.SessionRecovered(conversation=conversation))
        outcome.append((session.name, ""))
    return {"outcome": outcome}


def recovery_report(outcome: list[tuple[Session, str]]) -> str:
    """sessions_recover's outcome in one line per session, for the page and the command line."""
    if not outcome:
        return "Nothing to recover: every live session has its tmux pane."
    lines = []
    for session, failure in outcome:
        if failure:
            lines.append(f"{session.name}: not recovered: {failure}")
        elif session.conversation and selectors.profile(session.profile).resume:
            lines.append(f"{session.name}: recovered, resuming conversation {session.conversation}")
        else:
            lines.append(f"{session.name}: recovered (a new conversation)")
    return "\n".join(lines)


def session_adopt(target: str, name: str | None = None, profile: str = "shell", host: str | None = None) -> Session:
    """Take over a tmux session or pane that Chorus did not start (`target`: session name or pane id %N) on `host`
    (default: this one)."""
    if name:
        _validate_name(name)
    requested = ev.SessionAdoptRequested(session=name or "", host=_host(host), target=target, profile=profile)
    return get_session(_carry(requested)["name"])


def _execute_adopt(requested: ev.SessionAdoptRequested) -> dict:
    target, name, profile = requested.target, requested.session or None, requested.profile
    adapter = tmux()
    try:
        pane = adapter.pane(target)
    except (tmux_adapter.PaneGone, ValueError):
        raise UnknownSession(f"tmux has no session or pane {target!r}") from None
    except tmux_adapter.TmuxError as exc:
        raise SessionConflict(str(exc)) from None
    name = _validate_name(name or pane.session_name)
    agent = selectors.profile(profile)
    if pane.tag:
        raise SessionConflict(f"pane {pane.pane_id} already belongs to Chorus session {pane.tag!r}")
    current = Session.objects.filter(pk=name).first()
    if current is not None and current.is_live:
        raise SessionConflict(f"a session named {name!r} is already running")
    version = store.stream_version("session", name)
    _tmux_call(adapter.set_tag, pane.pane_id, name)
    adopted = ev.SessionAdopted(
        name=name,
        profile=agent.name,
        command=[pane.current_command],
        cwd=pane.current_path,
        pane_id=pane.pane_id,
        tmux_session=pane.session_name,
        pid=pane.pid,
        host=settings.CHORUS_HOST_NAME,
    )
    try:
        store.append("session", name, version, [adopted])
    except store.ConcurrencyError:
        _tmux_call(adapter.set_tag, pane.pane_id, None)
        raise SessionConflict(f"session {name!r} was created by someone else meanwhile") from None
    return {"name": name}


def session_set_auto_dispatch(name: str, enabled: bool) -> Session:
    session = get_session(name)
    if session.auto_dispatch != enabled:
        store.append("session", name, session.version, [ev.SessionAutoDispatchSet(enabled=enabled)])
    return get_session(name)


def session_send_keys(name: str, keys: list[str]) -> Session:
    """Press allowlisted keys in the agent's pane (to answer a dialog); recorded as an event."""
    session = _live_session(name)
    _check_keys(keys)
    _carry(ev.SessionKeysRequested(session=name, host=session.host, keys=list(keys)))
    return get_session(name)


def _check_keys(keys: list[str]) -> None:
    if not keys:
        raise SessionError("no keys given")
    refused = [k for k in keys if k not in tmux_adapter.ALLOWED_KEYS]
    if refused:
        raise SessionError(
            f"key(s) not allowed: {', '.join(refused)}; allowed: {', '.join(sorted(tmux_adapter.ALLOWED_KEYS))}"
        )


def _execute_keys(requested: ev.SessionKeysRequested) -> dict:
    name, keys = requested.session, requested.keys
    session = _live_session(name)
    _check_keys(keys)
    try:
        tmux().send_keys(session.pane_id, *keys)
    except tmux_adapter.TmuxError as exc:
        raise SessionConflict(str(exc)) from None
    # The keys are pressed: a fact, recorded whatever the worker appended to the session meanwhile.
    store.append("session", name, None, [ev.KeysSent(keys=list(keys))])
    return {}


def session_screen(name: str) -> str:
    """The session's screen as plain text. The process that owns the host's tmux reads it from tmux (the whole
    pane); any other asks the host's worker for a fresh capture through the mirror (sessions_app.mirror.look: the
    rows down to the last with content or the cursor) and waits up to CHORUS_REQUEST_WAIT for it. A session that
    is not live answers with the last screen its worker stored, if any."""
    current = selectors.session(name)
    if _here(current.host):
        return selectors.screen(name)
    offline = selectors.offline_hosts().get(current.host)
    if offline is not None:
        raise SessionConflict(f"cannot read the screen: {offline}")
    if current.is_live:
        looked = mirror.look(name, settings.CHORUS_REQUEST_WAIT)
        if looked is None:
            raise SessionConflict(
                f"cannot read the screen: the worker of host {current.host} did not capture it within "
                f"{settings.CHORUS_REQUEST_WAIT:g} s"
            )
        return mirror.plain(looked.text)
    stored = selectors.screens([name]).get(name)
    if stored is None:
        raise SessionConflict(f"session {name!r} is {current.lifecycle} and its pane has gone")
    return mirror.plain(stored.text)


def session_clear_input(name: str) -> Session:
    """Clear what is typed in the agent's input line (a person's draft, a stray key) by pressing its profile's
    clear sequence once, so the outbox that waits for an empty input line can go on. Only while the agent is idle
    and its input holds something: the same keys may interrupt a busy agent, or, on an empty line, ask it to
    quit."""
    session = _live_session(name)
    _carry(ev.SessionInputClearRequested(session=name, host=session.host))
    return get_session(name)


def _execute_clear_input(requested: ev.SessionInputClearRequested) -> dict:
    name = requested.session
    session = _live_session(name)
    profile = selectors.profile(session.profile)
    keys = list(profile.composer.clear_keys) if profile.composer is not None else []
    if not keys:
        raise SessionConflict(f"profile {profile.name} does not say how to clear its input line (composer clear_keys)")
    if session.status != "idle":
        raise SessionConflict(f"session {name!r} is {session.status}; its input line is cleared only while it is idle")
    screen = _tmux_call(tmux().capture, session.pane_id).text
    if not profile.draft(screen):
        raise SessionConflict(f"the input line of session {name!r} is empty; nothing to clear")
    _tmux_call(tmux().send_keys, session.pane_id, *keys)
    # Pressed: recorded whatever the worker appended to the session meanwhile (its status, why the outbox waits).
    store.append("session", name, None, [ev.InputCleared(keys=keys)])
    return {}


def clean_message(text: str) -> str:
    """The text as it will be typed: control characters and ESC removed, line ends normalised."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127)).strip("\n")


def session_send(name: str, text: str) -> OutboxMessage:
    """Queue a message for the agent; the worker types it when the agent is idle and confirms the submit."""
    _live_session(name)
    if not isinstance(text, str):
        raise SessionError("the message must be text")
    cleaned = clean_message(text)
    if not cleaned.strip():
        raise SessionError("the message is empty")
    if len(cleaned) > settings.CHORUS_MAX_MESSAGE_CHARS:
        raise SessionError(
            f"the message has {len(cleaned)} characters; the limit is {settings.CHORUS_MAX_MESSAGE_CHARS}"
        )
    message_id = uuid.uuid4().hex
    store.append("message", message_id, 0, [ev.MessageQueued(session=name, text=cleaned)])
    return OutboxMessage.objects.get(pk=message_id)


def message_cancel(message_id: str, session: str | None = None) -> OutboxMessage:
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None or (session is not None and message.session != session):
        raise UnknownSession(f"no message {message_id!r}")
    if message.state != OutboxMessage.QUEUED:
        raise SessionConflict(f"message {message_id} is {message.state}, so it can no longer be cancelled")
    try:
        store.append("message", message_id, message.version, [ev.MessageCancelled()])
    except store.ConcurrencyError:
        raise SessionConflict(f"message {message_id} is being delivered; it can no longer be cancelled") from None
    return OutboxMessage.objects.get(pk=message_id)


def messages_fail_queued(session: str, reason: str) -> None:
    """Fail the messages still queued for `session`, which can no longer be delivered (it ended)."""
    for message in OutboxMessage.objects.filter(session=session, state=OutboxMessage.QUEUED):
        try:
            store.append("message", message.id, message.version, [ev.PromptDeliveryFailed(reason=reason, attempts=0)])
        except store.ConcurrencyError:
            continue


# --- Requests: a session's tmux is its host's worker's -------------------------------------------------------
# The services above validate what they can and ask (_carry); the _execute_* functions are their part that calls
# tmux, which only the worker of the session's host runs (request_carry_out), or a process that owns that host's
# tmux itself (_here).


class RequestPending(SessionError):
    """The request is recorded but its host's worker has not carried it out within CHORUS_REQUEST_WAIT: it stays
    pending (and may be cancelled)."""

    status = 202


EXECUTORS = {
    ev.SessionStartRequested: _execute_start,
    ev.SessionKillRequested: _execute_kill,
    ev.SessionRestartRequested: _execute_restart,
    ev.SessionKeysRequested: _execute_keys,
    ev.SessionInputClearRequested: _execute_clear_input,
    ev.SessionRemoveRequested: _execute_remove,
    ev.SessionAdoptRequested: _execute_adopt,
    ev.SessionsRecoverRequested: _execute_recover,
}
REFUSALS = {404: UnknownSession, 409: SessionConflict}
INTERRUPTED = "the worker stopped while carrying it out; it was not done again: look at the session, then ask again"


def _here(host: str) -> bool:
    """Whether this process carries out a request for `host` itself: it is that host's worker (one of its jobs
    asks, e.g. an approval pressing keys), or CHORUS_REQUESTS_INLINE makes it own this host's tmux (a test, a tool
    that runs without a worker)."""
    return host == settings.CHORUS_HOST_NAME and (settings.CHORUS_REQUESTS_INLINE or hosts.worker_here(host))


def _carry(requested) -> dict:
    """Have the request carried out and return its detail, or raise what refused it: here, or by the worker of its
    host (recorded, then waited for up to CHORUS_REQUEST_WAIT seconds)."""
    if _here(requested.host):
        return EXECUTORS[type(requested)](requested)
    request_id = uuid.uuid4().hex
    store.append("request", request_id, 0, [requested])
    done = requests.wait(request_id, settings.CHORUS_REQUEST_WAIT)
    if done.state == SessionRequest.CARRIED:
        return done.detail
    if done.state == SessionRequest.FAILED:
        raise REFUSALS.get(done.status, SessionError)(done.reason)
    if done.state == SessionRequest.CANCELLED:
        raise SessionConflict(f"request {request_id} was cancelled: {done.reason}")
    raise RequestPending(requests.pending_reason(done))


def request_cancel(request_id: str, reason: str = "cancelled by a person") -> SessionRequest:
    """Withdraw a request its host's worker has not taken yet."""
    request = selectors.request(request_id)
    if request.state != SessionRequest.PENDING:
        raise SessionConflict(f"request {request_id} is {request.state}, so it can no longer be cancelled")
    try:
        store.append("request", request_id, request.version, [ev.RequestCancelled(reason=reason[:500])])
    except store.ConcurrencyError:
        raise SessionConflict(
            f"request {request_id} was taken by its worker meanwhile; it can no longer be cancelled"
        ) from None
    return selectors.request(request_id)


def request_carry_out(request: SessionRequest) -> None:
    """The worker of the request's host carries it out: claimed first, by an event against the request's version
    (so neither a second worker nor a second attempt after a crash does it again), then done, then its outcome
    recorded. The events of what it did carry the request's id as their correlation_id."""
    if request.state != SessionRequest.PENDING:
        return
    try:
        store.append(
            "request", request.id, request.version, [ev.RequestClaimed(machine=socket.gethostname(), pid=os.getpid())]
        )
    except store.ConcurrencyError:
        return  # cancelled, or claimed by another worker meanwhile
    requested = requests.requested(request)
    with event_context(actor=request.actor or None, source="worker", correlation_id=request.id):
        try:
            outcome = ev.RequestCarried(detail=EXECUTORS[type(requested)](requested))
        except DomainError as exc:
            outcome = ev.RequestFailed(reason=str(exc)[:500], status=exc.status)
        except Exception as exc:
            log.exception("request %s (%s %s) failed", request.id, request.kind, request.session)
            outcome = ev.RequestFailed(reason=f"the worker failed: {exc!r}"[:500], status=500)
        store.append("request", request.id, None, [outcome])


def requests_reconcile() -> None:
    """At the worker's start, each request of this host that a worker claimed and did not finish (it was killed
    meanwhile) is settled against what happened, never done twice: carried when the event of its side effect is in
    the log; a kill or a removal is done now (what is left of the session ends; a second end changes nothing); a
    start whose pane is there but unrecorded has that pane removed; anything else is failed, for a person to
    look and ask again."""
    for request in SessionRequest.objects.filter(host=settings.CHORUS_HOST_NAME, state=SessionRequest.CLAIMED):
        requested = requests.requested(request)
        with event_context(actor=request.actor or None, source="worker", correlation_id=request.id):
            if requests.effect_recorded(request):
                outcome = ev.RequestCarried(detail={"reconciled": "done before the worker stopped"})
            elif request.kind in ("kill", "remove"):
                try:
                    outcome = ev.RequestCarried(detail=EXECUTORS[type(requested)](requested))
                except DomainError as exc:
                    outcome = ev.RequestFailed(reason=str(exc)[:500], status=exc.status)
            elif request.kind == "start" and _half_started(request.session):
                outcome = ev.RequestFailed(reason=f"{INTERRUPTED} (its half-started pane was removed)", status=409)
            else:
                outcome = ev.RequestFailed(reason=INTERRUPTED, status=409)
            store.append("request", request.id, request.version, [outcome])


def _half_started(name: str) -> bool:
    """Whether tmux has a pane of `name` that no live session records (a start cut short after its pane was made
    and before SessionCreated): removed, then True."""
    pane = _tmux_call(tmux().panes_by_tag).get(name)
    current = Session.objects.filter(pk=name).first()
    if pane is None or (current is not None and current.is_live and current.pane_id == pane.pane_id):
        return False
    _tmux_call(tmux().kill_session, pane.session_name)
    return True


# --- Written by the worker --------------------------------------------------------------------------------------


def _append_session(name: str, version: int, event) -> bool:
    """Append an observation of the worker; False when the session changed meanwhile (it looks again)."""
    try:
        store.append("session", name, version, [event])
    except store.ConcurrencyError:
        return False
    return True


def session_record_status(session: Session, verdict, limit=None) -> bool:
    """A stable status transition seen by the worker; nothing is written when the status is unchanged, but for the
    first verdict of a new session (no rule decided its status yet): its unknown then says why. With `limit` (a
    sessions_app.limits.LimitSeen: the agent hit its usage limit) the limit and, when its reset could be read, the
    resume at the reset plus CHORUS_LIMIT_MARGIN are recorded with it."""
    for _attempt in range(2):
        if verdict.status.value == session.status and session.status_rule:
            return False
        try:
            store.append("session", session.name, session.version, _status_events(session, verdict, limit))
            return True
        except store.ConcurrencyError:
            # Another process wrote to the session meanwhile (a delivery, a request): the change is recorded on the
            # session as it is now, at once rather than a tick later, unless that write ended it.
            session = Session.objects.filter(pk=session.name).first()
            if session is None or not session.is_live:
                return False
    return False  # it lost the race twice: the next tick tries again


def _status_events(session: Session, verdict, limit) -> list:
    changed = ev.SessionStatusChanged(
        from_status=session.status,
        to_status=verdict.status.value,
        reason=verdict.reason[:500],
        rule=verdict.rule,
        signal=verdict.signal,
        text=verdict.text[:500],
    )
    events = [changed]
    if limit is not None:
        reset_at = limit.until.isoformat() if limit.until is not None else ""
        events.append(ev.UsageLimitReached(rule=limit.rule, text=limit.text[:300], reset_at=reset_at))
        # the same line seen again (its resume already sent) schedules nothing more; nor does an agent that goes on
        # by itself at the reset
        seen_before = limit.text == session.limit_text and limit.until == session.limit_until
        if limit.until is not None and not seen_before and not limit.resumes_itself:
            at = limit.until + timedelta(seconds=settings.CHORUS_LIMIT_MARGIN)
            events.append(ev.ResumeScheduled(at=at.isoformat(), text=settings.CHORUS_CONTINUE_MESSAGE))
    return events


def session_resume_after_limit(session: Session) -> str | None:
    """Queue the session's continue message once its usage limit reset: the message and ResumeSent are appended in
    one transaction, against the session's version, so it is queued once, whoever asks and however often (a worker
    killed before this commits finds the resume still due; after, it finds it sent). Returns the message's id, or
    None when it was no longer due."""
    if session.resume_at is None or not session.is_live:
        return None
    message_id = uuid.uuid4().hex
    text = clean_message(session.resume_text) or "continue"
    try:
        store.append_many(
            [
                ("session", session.name, session.version, [ev.ResumeSent(message_id=message_id)]),
                ("message", message_id, 0, [ev.MessageQueued(session=session.name, text=text)]),
            ]
        )
    except store.ConcurrencyError:
        return None
    return message_id


def session_bind_conversation(session: Session, conversation: str, source: str) -> bool:
    """The agent's own conversation id, as its profile's plug-in read it; written when it changes."""
    conversation = conversation.strip()[:200]
    if not conversation or conversation == session.conversation:
        return False
    return _append_session(
        session.name, session.version, ev.ConversationBound(conversation=conversation, source=source)
    )


def session_record_waiting_explained(session: Session, verdict) -> bool:
    """The dialog of a session already recorded as waiting, quoted once it is on screen (no new waiting episode:
    nothing is announced again)."""
    if session.status != verdict.status.value or verdict.reason[:500] == session.status_reason:
        return False
    explained = ev.SessionWaitingExplained(reason=verdict.reason[:500], rule=verdict.rule)
    return _append_session(session.name, session.version, explained)


def session_record_stopped(session: Session, reason: str, exit_status: int | None) -> bool:
    """The agent ended by itself or its pane vanished (its queued messages fail with it: see policies)."""
    return _append_session(
        session.name, session.version, ev.SessionStopped(reason=reason[:500], exit_status=exit_status)
    )


def session_record_delivery_held(session: Session, reason: str) -> bool:
    """Why the session's queued messages wait although it is idle ("" once nothing holds them); written only when
    it changes."""
    reason = reason[:300]
    if reason == session.delivery_held:
        return False
    return _append_session(session.name, session.version, ev.DeliveryHeld(reason=reason))


def session_record_relocated(session: Session, pane_id: str, pid: int | None) -> bool:
    return _append_session(session.name, session.version, ev.SessionPaneRelocated(pane_id=pane_id, pid=pid))


def delivery_claim(message: OutboxMessage) -> bool:
    """Mark a queued message as being delivered; False if it was cancelled or claimed meanwhile."""
    try:
        store.append("message", message.id, message.version, [ev.DeliveryStarted(attempt=1)])
    except store.ConcurrencyError:
        return False
    return True


def delivery_finish(message_id: str, outcome) -> None:
    """Record how a claimed delivery ended: delivered with its confirmation, or failed with the reason."""
    version = store.stream_version("message", message_id)
    if outcome.delivered:
        event = ev.PromptDelivered(confirmed_by=outcome.confirmed_by, attempts=outcome.attempts)
    else:
        event = ev.PromptDeliveryFailed(reason=outcome.reason[:500], attempts=outcome.attempts)
    store.append("message", message_id, version, [event])

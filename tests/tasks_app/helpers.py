"""Helpers for the task tests: documents on disk, sessions as the sessions worker would record them, events."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

from django.core.management import call_command

from documents_app.services import documents_scan
from events_app import store
from sessions_app import events as session_events
from sessions_app import services as session_services
from sessions_app.delivery import Outcome
from sessions_app.models import OutboxMessage, Session
from tests.support import child_environment


class Docs:
    """Files under the test's PROJECT_ROOT, recorded as documents by a scan (whose events move references along)."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, path: str, text: str, scan: bool = True) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if scan:
            self.scan()
        return target

    def remove(self, path: str) -> None:
        (self.root / path).unlink()
        self.scan()

    def scan(self):
        result = documents_scan()
        assert not result.errors, result.errors
        return result


def numbered(count: int, prefix: str = "line") -> str:
    """A document of `count` distinct lines: 'line 1' .. 'line N'."""
    return "".join(f"{prefix} {n}\n" for n in range(1, count + 1))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the sessions worker's detector hands to session_record_status."""

    status: object
    reason: str
    rule: str = "test.rule"
    signal: str = "screen"
    text: str = ""


@dataclasses.dataclass(frozen=True)
class _Status:
    value: str


def session_appears(
    name: str, status: str = "idle", auto_dispatch: bool = False, profile: str = "aider", host: str | None = None
) -> Session:
    """A live session as the sessions app records one (created in tmux, then seen idle), without tmux; of an agent
    unless `profile` says otherwise."""
    created = session_events.SessionCreated(
        name=name, profile=profile, command=[profile], cwd="/tmp", pane_id="%1", tmux_session=name, pid=None
    )
    if host is not None:
        created = dataclasses.replace(created, host=host)
    store.append("session", name, store.stream_version("session", name), [created])
    if status != "unknown":
        session_status(name, status)
    if auto_dispatch:
        session_services.session_set_auto_dispatch(name, True)
    return Session.objects.get(pk=name)


def session_status(name: str, status: str, reason: str | None = None) -> None:
    session = Session.objects.get(pk=name)
    assert session_services.session_record_status(session, Verdict(_Status(status), reason or f"test says {status}"))


def session_stops(name: str, reason: str = "pane dead (exit 0)") -> None:
    assert session_services.session_record_stopped(Session.objects.get(pk=name), reason, 0)


def session_killed(name: str) -> None:
    """What session_kill records once the agent's processes and pane are gone (the tmux side is not the point)."""
    store.append(
        "session", name, store.stream_version("session", name), [session_events.SessionKilled(leftover_pids=[])]
    )


def delivery_starts(message_id: str) -> None:
    assert session_services.delivery_claim(OutboxMessage.objects.get(pk=message_id))


def delivery_ends(message_id: str, delivered: bool = True, confirmed_by: str = "went busy") -> None:
    outcome = Outcome(delivered, 1, confirmed_by=confirmed_by if delivered else "", reason="" if delivered else "no")
    session_services.delivery_finish(message_id, outcome)


def event_types(stream_type: str = "task", stream_id: str | None = None) -> list[str]:
    return [e.event_type for e in store.read(stream_type=stream_type, stream_id=stream_id)]


def agent(*args) -> str:
    """What `chorus agent ARGS` prints, run in this process (the pane's credential from the environment)."""
    out = io.StringIO()
    call_command("agent", *args, stdout=out)
    return out.getvalue()


def pane_environment(docs, pane) -> dict[str, str]:
    """A child's environment as in the pane: the credential, and the `chorus` twin beside it running this Chorus
    (another `chorus` first on PATH is not the one asked)."""
    env = {**child_environment(), "PROJECT_ROOT": str(docs.root), "CHORUS_AGENT_CREDENTIAL": str(pane.path)}
    twin = pane.path.parent / "bin"
    twin.mkdir(exist_ok=True)
    (twin / "chorus").write_text(f'#!/bin/sh\nexec {sys.executable} -m chorus_site.cli "$@"\n')
    (twin / "chorus").chmod(0o700)
    decoy = docs.root.parent / "decoy"
    decoy.mkdir(exist_ok=True)
    (decoy / "chorus").write_text("#!/bin/sh\necho not this chorus >&2; exit 3\n")
    (decoy / "chorus").chmod(0o700)
    env["PATH"] = f"{decoy}:{env.get('PATH', '/usr/bin:/bin')}"
    return env

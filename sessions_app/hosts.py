"""Hosts and the presence of their workers: one worker owns a host (CHORUS_HOST_NAME), its tmux server and the
sessions started on it, and says it is alive by a heartbeat row (models.WorkerPresence), not by events.

A second worker with the same host name is refused before any job starts; a host whose worker has not beaten for
CHORUS_HOST_OFFLINE_SECONDS (or that stopped in order) is offline, and its sessions' status is what was last seen.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from datetime import datetime, timedelta

import psutil
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events_app.errors import Conflict
from sessions_app.events import this_host
from sessions_app.models import LIVE, Session, WorkerPresence

log = logging.getLogger("chorus.hosts")
# the hosts whose worker this process is (a worker's jobs carry out their host's requests themselves)
_owned: set[str] = set()


class HostTaken(Conflict):
    """Another worker owns the host name already."""


def _fresh(row: WorkerPresence, now: datetime) -> bool:
    return not row.stopped and now - row.last_seen <= timedelta(seconds=settings.CHORUS_HOST_OFFLINE_SECONDS)


def _gone(row: WorkerPresence) -> bool:
    """Whether the row's worker ran on this machine and its process is no more (killed, crashed)."""
    return row.machine == socket.gethostname() and (row.pid == os.getpid() or not psutil.pid_exists(row.pid))


def claim(host: str | None = None) -> WorkerPresence:
    """Make this process the worker of `host` (default: this host), or raise HostTaken when another worker beats
    for it. A worker of this machine whose process is gone hands over at once; one elsewhere once it is offline."""
    host = host or this_host()
    now = timezone.now()
    with transaction.atomic():
        row = WorkerPresence.objects.select_for_update().filter(pk=host).first()
        if row is not None and _fresh(row, now) and not _gone(row):
            seen = (now - row.last_seen).total_seconds()
            raise HostTaken(
                f"host {host!r} already has a worker (pid {row.pid} on {row.machine}, seen {seen:.0f} s ago): "
                f"give this one another CHORUS_HOST_NAME"
            )
        claimed = WorkerPresence(
            host=host, machine=socket.gethostname(), pid=os.getpid(), started_at=now, last_seen=now, stopped=False
        )
        claimed.save(force_insert=row is None)
    return claimed


def beat(host: str | None = None) -> bool:
    """This worker is alive; False when its row is another worker's now (it took over while this one hung)."""
    mine = WorkerPresence.objects.filter(pk=host or this_host(), machine=socket.gethostname(), pid=os.getpid())
    return mine.update(last_seen=timezone.now(), stopped=False) == 1


def leave(host: str | None = None) -> None:
    """The worker stops in order: its host is offline from now."""
    mine = WorkerPresence.objects.filter(pk=host or this_host(), machine=socket.gethostname(), pid=os.getpid())
    mine.update(stopped=True, last_seen=timezone.now())


class Heartbeat:
    """The worker's presence job (first in settings.CHORUS_WORKER_JOBS, so a refused worker starts nothing)."""

    interval = 1.0

    def __init__(self) -> None:
        self._lost = False

    def start(self) -> None:
        claim()
        _owned.add(this_host())
        log.info("worker of host %s", this_host())

    def tick(self) -> None:
        if beat() or self._lost:
            return
        self._lost = True
        log.error("host %s: another worker has taken over its heartbeat row", this_host())

    def stop(self) -> None:
        _owned.discard(this_host())
        leave()


def worker_here(host: str) -> bool:
    """Whether this process is the worker of `host`."""
    return host in _owned


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    online: bool
    # the last heartbeat (None: no worker ever ran for it)
    last_seen: datetime | None
    machine: str = ""
    pid: int | None = None
    started_at: datetime | None = None
    live_sessions: int = 0

    @property
    def offline_reason(self) -> str:
        """What a request or a session of this host says while it is offline ("" while online)."""
        if self.online:
            return ""
        if self.last_seen is None:
            return f"host {self.name} has no worker yet"
        since = timezone.localtime(self.last_seen)
        stamp = since.strftime("%H:%M" if since.date() == timezone.localdate() else "%Y-%m-%d %H:%M")
        return f"host {self.name} offline since {stamp}"


def hosts() -> list[Host]:
    """Every host a worker beats for or a session names, by name."""
    now = timezone.now()
    rows = {row.host: row for row in WorkerPresence.objects.all()}
    counts: dict[str, int] = {}
    for host in Session.objects.values_list("host", flat=True).distinct():
        counts[host] = 0
    for host in Session.objects.filter(lifecycle=LIVE).values_list("host", flat=True):
        counts[host] = counts.get(host, 0) + 1
    found = []
    for name in sorted(set(rows) | set(counts)):
        row = rows.get(name)
        if row is None:
            found.append(Host(name, False, None, live_sessions=counts.get(name, 0)))
            continue
        found.append(
            Host(
                name,
                _fresh(row, now),
                row.last_seen,
                machine=row.machine,
                pid=row.pid,
                started_at=row.started_at,
                live_sessions=counts.get(name, 0),
            )
        )
    return found


def offline() -> dict[str, str]:
    """The hosts that are offline, with what their sessions say about it."""
    return {host.name: host.offline_reason for host in hosts() if not host.online}

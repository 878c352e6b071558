"""Hosts: every session names one (old events read as this host's), each worker's presence, and the reads of them
(selectors, API, command line). No process, no tmux."""

from __future__ import annotations

import io
import json
import os
import socket
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from events_app import projection, store
from events_app.domain import decode
from sessions_app import hosts, mirror, selectors, services
from sessions_app.errors import SessionConflict
from sessions_app.models import Session, WorkerPresence
from sessions_app.tmux import Tmux
from sessions_app.worker import SessionMonitor
from tests.sessions_app.factories import AdoptedSessionFactory, SessionFactory

pytestmark = pytest.mark.django_db

V1 = {"name": "old", "profile": "fake", "command": [], "cwd": "/tmp", "pane_id": "%1", "tmux_session": "old", "pid": 1}


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


def presence(host: str, *, machine: str = "elsewhere", pid: int = 4242, age: float = 0.0, stopped: bool = False):
    seen = timezone.now() - timedelta(seconds=age)
    return WorkerPresence.objects.create(
        host=host, machine=machine, pid=pid, started_at=seen, last_seen=seen, stopped=stopped
    )


def test_an_event_from_before_hosts_reads_as_this_hosts(settings):
    settings.CHORUS_HOST_NAME = "laptop"
    for event_type in ("SessionCreated", "SessionAdopted"):
        assert decode(event_type, 1, dict(V1)).host == "laptop"
    settings.CHORUS_HOST_NAME = "ci-2"
    assert decode("SessionCreated", 1, dict(V1)).host == "ci-2"  # upgraded on read: the stored row is untouched
    assert decode("SessionCreated", 2, {**V1, "host": "laptop"}).host == "laptop"


def test_the_read_model_keeps_each_sessions_host_through_a_rebuild(settings):
    SessionFactory(name="here")
    AdoptedSessionFactory(name="there", host="ci-2")
    assert dict(Session.objects.values_list("name", "host")) == {"here": settings.CHORUS_HOST_NAME, "there": "ci-2"}
    assert projection.verify() == []
    assert [s.name for s in selectors.sessions(host="ci-2")] == ["there"]
    assert [s.name for s in selectors.sessions_here()] == ["here"]


def test_a_worker_claims_its_host_and_a_second_is_refused(settings):
    claimed = hosts.claim()
    assert (claimed.host, claimed.pid, claimed.machine) == (
        settings.CHORUS_HOST_NAME,
        os.getpid(),
        socket.gethostname(),
    )
    presence("ci-2")
    with pytest.raises(hosts.HostTaken, match=r"^host 'ci-2' already has a worker \(pid 4242 on elsewhere, seen 0 s"):
        hosts.claim("ci-2")
    assert WorkerPresence.objects.get(pk="ci-2").pid == 4242


@pytest.mark.parametrize(
    "left",
    [
        {"age": 60.0},  # stale: its worker stopped beating
        {"stopped": True},  # stopped in order
        {"machine": socket.gethostname(), "pid": 2**22 + 12345},  # on this machine, and its process is gone (kill -9)
    ],
)
def test_a_host_whose_worker_is_gone_is_taken_over_at_once(left):
    presence("ci-2", **left)
    assert hosts.claim("ci-2").pid == os.getpid()
    assert hosts.beat("ci-2")


def test_a_worker_that_lost_its_row_knows_it():
    hosts.claim("ci-2")
    WorkerPresence.objects.filter(pk="ci-2").update(pid=4242, machine="elsewhere")
    assert not hosts.beat("ci-2")


def test_hosts_online_offline_and_never_seen(settings):
    settings.CHORUS_HOST_OFFLINE_SECONDS = 5
    presence("up", age=1)
    gone = presence("down", age=30)
    presence("left", stopped=True)
    SessionFactory(name="a", host="up")
    SessionFactory(name="b", host="down")
    SessionFactory(name="c", host="nobody")
    found = {host.name: host for host in selectors.hosts()}
    assert {name: host.online for name, host in found.items()} == {
        "down": False,
        "left": False,
        "nobody": False,
        "up": True,
    }
    assert (found["up"].live_sessions, found["down"].live_sessions, found["left"].live_sessions) == (1, 1, 0)
    assert found["up"].offline_reason == ""
    assert found["down"].offline_reason == f"host down offline since {timezone.localtime(gone.last_seen):%H:%M}"
    assert found["nobody"].offline_reason == "host nobody has no worker yet"
    assert set(selectors.offline_hosts()) == {"down", "left", "nobody"}


def test_the_heartbeat_job_claims_beats_and_leaves():
    job = hosts.Heartbeat()
    job.start()
    job.tick()
    assert [host.online for host in selectors.hosts()] == [True]
    job.stop()
    assert [host.online for host in selectors.hosts()] == [False]


def test_the_worker_looks_only_at_its_own_hosts_sessions(settings):
    SessionFactory(name="mine")
    SessionFactory(name="theirs", host="ci-2")
    store.append("message", "m1", 0, [_queued("mine")])
    store.append("message", "m2", 0, [_queued("theirs")])
    sessions, queued = SessionMonitor(adapter=Tmux(run=_no_tmux))._read_models()
    assert [s.name for s in sessions] == ["mine"] and [m.session for m in queued] == ["mine"]


def _queued(session: str):
    from sessions_app import events as ev

    return ev.MessageQueued(session=session, text="hello")


def _no_tmux(command, **_options):
    raise FileNotFoundError(command[0])


def test_the_api_says_each_sessions_host_and_lists_the_hosts(api, settings):
    presence(settings.CHORUS_HOST_NAME, machine=socket.gethostname(), pid=os.getpid())
    SessionFactory(name="a")
    SessionFactory(name="b", host="ci-2")
    assert {s["name"]: s["host"] for s in api.get("/api/sessions").json()} == {
        "a": settings.CHORUS_HOST_NAME,
        "b": "ci-2",
    }
    assert [s["name"] for s in api.get("/api/sessions?host=ci-2").json()] == ["b"]
    listed = {h["name"]: h for h in api.get("/api/hosts").json()}
    assert listed[settings.CHORUS_HOST_NAME]["online"] and listed[settings.CHORUS_HOST_NAME]["pid"] == os.getpid()
    assert listed["ci-2"] == {**listed["ci-2"], "online": False, "offline_reason": "host ci-2 has no worker yet"}


def test_chorus_hosts_for_people_and_scripts(settings):
    assert "no hosts yet" in _run()
    presence("ci-2", age=60)
    SessionFactory(name="b", host="ci-2")
    header, row = _run().splitlines()
    assert header.split() == ["HOST", "STATE", "SESSIONS", "WORKER", "LAST", "SEEN"]
    assert row.startswith("ci-2") and "host ci-2 offline since" in row and "pid 4242 on elsewhere" in row
    [listed] = json.loads(_run("--json"))
    assert (listed["name"], listed["online"], listed["live_sessions"]) == ("ci-2", False, 1)
    sessions = _run_sessions("list")
    assert "host ci-2 offline since" in sessions and "last seen" in sessions


def test_a_duplicate_worker_is_one_line(settings):
    presence(settings.CHORUS_HOST_NAME)
    with pytest.raises(CommandError, match=rf"^host '{settings.CHORUS_HOST_NAME}' already has a worker"):
        call_command("run_worker", skip_checks=True)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("hosts", *args, stdout=out)
    return out.getvalue()


def _run_sessions(*args: str) -> str:
    out = io.StringIO()
    call_command("sessions", *args, stdout=out)
    return out.getvalue()


def test_the_screen_of_another_hosts_session_comes_from_its_worker_or_says_why_not(api, settings, monkeypatch):
    AdoptedSessionFactory(name="far", host="ci-2")
    answer = api.get("/api/sessions/far/screen")
    assert (answer.status_code, answer.json()["detail"]) == (409, "cannot read the screen: host ci-2 has no worker yet")

    presence("ci-2")
    monkeypatch.setattr(mirror, "look", lambda name, wait: None)
    with pytest.raises(SessionConflict, match="did not capture it within 15 s"):
        services.session_screen("far")

    def the_worker_captures(name, wait):
        mirror.record({name: ("%1", "\x1b[32m$ ls\x1b[0m\n", 3.0)})
        return selectors.screens([name])[name]

    monkeypatch.setattr(mirror, "look", the_worker_captures)
    answer = api.get("/api/sessions/far/screen")
    assert (answer.status_code, answer.json()) == (200, {"name": "far", "text": "$ ls\n"})

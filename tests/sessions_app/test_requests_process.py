"""Requests carried out by a real worker process (`manage.py run_worker`): asked by this process or by a command,
a kill -9 in the middle of one, two workers of one host name, a host whose worker is down, and two hosts (two
workers with their own tmux servers and data directories) sharing one database."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from events_app import store
from sessions_app import selectors, services
from sessions_app.models import Session, SessionRequest
from tests.sessions_app.conftest import private_tmux
from tests.sessions_app.test_worker_process import poll

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# An agent that ignores SIGTERM and SIGHUP (its children inherit that): ending it takes the kill's whole
# SIGTERM-then-SIGKILL wait (3 s), the window in which the worker is killed below.
STUBBORN = """
[profiles.stubborn]
extends = "shell"
command = ["/bin/sh", "-c", "trap '' TERM HUP; while :; do sleep 1; done"]
"""


@pytest.fixture(autouse=True)
def _asked_of_the_worker(settings):
    settings.CHORUS_REQUESTS_INLINE = False
    settings.CHORUS_REQUEST_WAIT = 20


@pytest.fixture
def worker_env(project, subprocess_env, tmux_server):
    return {
        **subprocess_env,
        "PROJECT_ROOT": str(project.root),
        "CHORUS_TMUX_SOCKET": str(tmux_server.socket),
        "CHORUS_NOTIFY": "off",
        "CHORUS_POLL_INTERVAL": "0.1",
        "CHORUS_HOST_NAME": django_settings.CHORUS_HOST_NAME,
        "CHORUS_REQUESTS_INLINE": "0",
    }


class Worker:
    """`manage.py run_worker` in a child process, its output in `log`; `wrapper`: what it runs under (a network
    namespace of its own: `unshare --net`)."""

    def __init__(self, env: dict[str, str], log: Path, wrapper: Sequence[str] = ()):
        self.log = log
        self.process = subprocess.Popen(
            [*wrapper, sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "run_worker"],
            env=env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )

    def online(self, host: str) -> None:
        poll(lambda: any(h.name == host and h.online for h in selectors.hosts()), what=f"{host} online")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(env: dict[str, str]) -> Worker:
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_a_worker_carries_out_start_and_kill_asked_by_this_process_and_by_a_command(
    project, manage, worker_env, workers, tmux_server
):
    workers(worker_env).online(django_settings.CHORUS_HOST_NAME)
    session = services.session_create("w", "fake")  # asks, and waits for the outcome
    assert session.is_live and tmux_server.has_session("w")
    [request] = SessionRequest.objects.filter(kind="start")
    assert request.state == "carried"
    [created] = store.read(stream_type="session", stream_id="w", event_types=("SessionCreated",))
    assert created.metadata["correlation_id"] == request.id and created.metadata["source"] == "worker"

    command = subprocess.run(
        [*manage, "sessions", "kill", "w"], env=worker_env, capture_output=True, text=True, timeout=60
    )
    assert command.returncode == 0, command.stderr
    assert "killed" in command.stdout and not tmux_server.has_session("w")
    assert selectors.session("w").lifecycle == "killed"
    assert list(SessionRequest.objects.values_list("kind", "state")) == [("start", "carried"), ("kill", "carried")]

    refused = subprocess.run(
        [*manage, "sessions", "new", "v", "--profile", "nosuch"], env=worker_env, capture_output=True, text=True
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "nosuch" in refused.stderr


def test_after_kill_9_mid_kill_the_request_is_done_once(project, worker_env, workers, tmux_server):
    toml = project.root / "chorus.toml"
    toml.write_text(toml.read_text() + STUBBORN)
    worker = workers(worker_env)
    worker.online(django_settings.CHORUS_HOST_NAME)
    services.session_create("w", "stubborn")
    django_settings.CHORUS_REQUEST_WAIT = 0.1
    with pytest.raises(services.RequestPending):
        services.session_kill("w")
    kill = SessionRequest.objects.get(kind="kill")
    poll(lambda: SessionRequest.objects.get(pk=kill.id).state == "claimed", what="claimed")
    worker.process.kill()  # kill -9 while the agent is ending (3 s of SIGTERM)
    worker.process.wait(timeout=10)
    assert SessionRequest.objects.get(pk=kill.id).state == "claimed"

    workers(worker_env).online(django_settings.CHORUS_HOST_NAME)  # the same host: its dead worker hands over
    done = poll(lambda: SessionRequest.objects.filter(pk=kill.id).exclude(state="claimed").first(), what="settled")
    assert done.state == "carried"
    killed = list(store.read(stream_type="session", stream_id="w", event_types=("SessionKilled",)))
    assert len(killed) == 1 and not tmux_server.has_session("w")


def test_a_second_worker_of_a_host_is_refused_with_one_line(manage, worker_env, workers):
    workers(worker_env).online(django_settings.CHORUS_HOST_NAME)
    second = subprocess.run([*manage, "run_worker"], env=worker_env, capture_output=True, text=True, timeout=60)
    assert second.returncode != 0
    assert second.stderr.strip().count("\n") == 0
    assert f"host '{django_settings.CHORUS_HOST_NAME}' already has a worker" in second.stderr


def test_a_request_for_an_offline_host_waits_with_its_reason_and_is_cancelled(manage, worker_env, workers):
    worker = workers({**worker_env, "CHORUS_HOST_NAME": "ci-2"})
    worker.online("ci-2")
    worker.stop()  # its host is offline from now
    env = {**worker_env, "CHORUS_REQUEST_WAIT": "0.5"}
    asked = subprocess.run(
        [*manage, "sessions", "new", "w", "--profile", "fake", "--host", "ci-2"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert asked.returncode == 1 and "is pending: host ci-2 offline since" in asked.stderr
    [request] = selectors.requests(open_only=True)
    cancelled = subprocess.run(
        [*manage, "sessions", "--json", "cancel-request", request.id], env=env, capture_output=True, text=True
    )
    assert cancelled.returncode == 0 and json.loads(cancelled.stdout)["state"] == "cancelled"
    workers({**worker_env, "CHORUS_HOST_NAME": "ci-2"}).online("ci-2")
    time.sleep(1.0)  # two of its polls: a cancelled request is never carried out
    assert not Session.objects.exists()


@pytest.fixture
def second_host(worker_env, tmp_path):
    """Host ci-2 on this machine: its own tmux server and data directory; only the database is shared."""
    data = tmp_path / "ci-2-data"
    data.mkdir(mode=0o700)
    with private_tmux() as server:
        env = {**worker_env, "CHORUS_HOST_NAME": "ci-2", "CHORUS_TMUX_SOCKET": server.socket}
        yield {**env, "CHORUS_DATA_DIR": str(data)}, server


def test_two_hosts_on_one_database_each_carry_out_their_own(project, worker_env, workers, tmux_server, second_host):
    ci2, other = second_host
    workers(worker_env).online(django_settings.CHORUS_HOST_NAME)
    workers(ci2).online("ci-2")
    services.session_create("here", "fake")
    services.session_create("there", "fake", host="ci-2")
    assert tmux_server.has_session("here") and not tmux_server.has_session("there")
    assert other.has_session("there") and not other.has_session("here")
    assert dict(Session.objects.values_list("name", "host")) == {
        "here": django_settings.CHORUS_HOST_NAME,
        "there": "ci-2",
    }
    # each worker watches its own sessions only: both come up idle, neither is seen as gone by the other
    poll(lambda: set(Session.objects.values_list("status", flat=True)) == {"idle"}, timeout=30, what="idle")
    # the screen of a session on a host this process does not own: a fresh capture asked of that host's worker
    assert other.capture(selectors.session("there").pane_id).text.rstrip() in services.session_screen("there")
    services.session_kill("there")
    assert not other.has_session("there") and selectors.session("here").is_live
    assert selectors.session("there").lifecycle == "killed"

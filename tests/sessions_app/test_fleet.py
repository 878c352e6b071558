"""A fleet on this machine (issue 13): one PostgreSQL, one web server with no worker of its own, and three hosts, each
a worker with its own host name, tmux server, HOME, data directory and project checkout, sharing nothing but
CHORUS_DATABASE_URL. Where this machine allows it each worker runs in a network namespace of its own, so that the
database's unix socket is the only way between them. Everything is asked of the web server's HTTP API with its
token, as a person's script would: a session created, messaged and killed on each host; a worker killed (kill -9)
and its host reported offline, the requests to it pending with their reason; the worker started again, and what was
asked meanwhile carried out."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessions_app.tmux import Tmux
from tests.conftest import require_binary
from tests.pg import postgres  # noqa: F401  (the fixture)
from tests.sessions_app.conftest import private_tmux, received_prompts, write_fake_profile
from tests.sessions_app.test_requests_process import Worker
from tests.sessions_app.test_worker_process import poll
from tests.support import ROOT, free_port

pytestmark = pytest.mark.integration

HOSTS = ("fleet-1", "fleet-2", "fleet-3")
# Low, so that a killed worker's host is offline within seconds; the web server judges it.
OFFLINE_SECONDS = 5
# How long the web server waits for a host's worker before it answers 202 (pending).
REQUEST_WAIT = 10


@functools.cache
def network_namespace() -> tuple[str, ...]:
    """`unshare --net` when this process may make a network namespace (root, or a kernel that lets anyone), else
    nothing: the workers then run as plain processes, and the test still runs."""
    try:
        made = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        made = False
    return ("unshare", "--net", "--") if made else ()


class Machine:
    """A web server's or a host's own things: its HOME, data directory and checkout of the project, with the fake
    agent's prompt log and its Claude Code session files in that HOME."""

    def __init__(self, name: str, root: Path):
        self.name, self.root = name, root
        self.home, self.data, self.project = root / "home", root / "data", root / "project"
        self.log = root / "agent.jsonl"
        for folder in (self.home / ".claude" / "sessions", self.project):
            folder.mkdir(parents=True)
        self.data.mkdir(mode=0o700)
        write_fake_profile(self.project, self.log, self.home / ".claude" / "sessions")

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {
            **base,
            "HOME": str(self.home),
            "CHORUS_HOST_NAME": self.name,
            "CHORUS_DATA_DIR": str(self.data),
            "PROJECT_ROOT": str(self.project),
        }


class Api:
    """The web server's HTTP API, with its token."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_WAIT + 30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")

    def get(self, path: str):
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body

    def host(self, name: str) -> dict:
        """The host named (before its worker's first heartbeat: not there, so offline)."""
        return next((host for host in self.get("/api/hosts") if host["name"] == name), {"online": False})

    def session(self, name: str) -> dict:
        return self.get(f"/api/sessions/{name}")


@dataclasses.dataclass
class Host:
    machine: Machine
    env: dict[str, str]
    tmux: Tmux
    worker: Worker | None = None

    def start_worker(self) -> Worker:
        self.worker = Worker(self.env, self.machine.root / "worker.log", wrapper=network_namespace())
        return self.worker


@dataclasses.dataclass
class Fleet:
    api: Api
    hosts: dict[str, Host]

    def online(self, *names: str) -> None:
        def up() -> bool:
            for name in names:
                worker = self.hosts[name].worker
                assert worker.process.poll() is None, f"the worker of {name} exited: {worker.log.read_text()}"
            return all(self.api.host(name)["online"] for name in names)

        poll(up, timeout=60, what=f"{', '.join(names)} online")


def fleet_env(url: str) -> dict[str, str]:
    """The environment of the fleet's processes: this one's without its Chorus settings (the test run's database,
    data directory and test settings), with Chorus's own settings on the fleet's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_", "DJANGO_", "TMUX"))}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "chorus_site.settings",
        "CHORUS_DATABASE_URL": url,
        "CHORUS_HOST_OFFLINE_SECONDS": str(OFFLINE_SECONDS),
        "CHORUS_NOTIFY": "off",
        "SHELL": "/bin/sh",
    }


@contextlib.contextmanager
def web_server(machine: Machine, env: dict[str, str]) -> Iterator[Api]:
    """`start --no-worker` (migrations, then the web server alone) on a free port; its API once it prints the login
    URL."""
    log = machine.root / "start.log"
    port = free_port()
    env = {**machine.env(env), "PORT": str(port), "CHORUS_REQUEST_WAIT": str(REQUEST_WAIT)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "start", "--no-worker"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:

        def login() -> re.Match | None:
            assert process.poll() is None, f"start exited: {log.read_text()}"
            return re.search(rf"http://127\.0\.0\.1:{port}/login/\?token=(\S+)", log.read_text())

        token = poll(login, timeout=90, what="the login URL").group(1)
        assert token == (machine.data / "token").read_text().strip()
        yield Api(f"http://127.0.0.1:{port}", token)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def fleet(postgres) -> Iterator[Fleet]:  # noqa: F811
    require_binary("tmux", "apt-get install tmux")
    postgres.create_database("chorus_fleet")
    # Over the cluster's unix socket in its directory: a path reaches across network namespaces, 127.0.0.1 does not.
    url = f"postgresql://chorus@:{postgres.port}/chorus_fleet?host={postgres.root}"
    base = fleet_env(url)
    # short: the data directories hold unix sockets (the doorbells), whose paths must fit in about 100 bytes
    root = Path(tempfile.mkdtemp(prefix="chorus-fleet-", dir="/tmp"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        api = stack.enter_context(web_server(Machine("fleet-web", root / "web"), base))
        hosts = {}
        for name in HOSTS:
            machine = Machine(name, root / name)
            # The web server's token, copied to each host (README, Running a fleet): the worker's terminal relay
            # brings it to CHORUS_WEB_URL. From inside a network namespace that address is not reachable (the relay
            # says so in its log and tries again every second); no test here opens a terminal.
            (machine.data / "token").write_text(api.token + "\n")
            tmux = stack.enter_context(private_tmux())
            env = {**machine.env(base), "CHORUS_TMUX_SOCKET": tmux.socket, "CHORUS_WEB_URL": api.url}
            hosts[name] = Host(machine, {**env, "CHORUS_POLL_INTERVAL": "0.1"}, tmux)
        for host in hosts.values():
            stack.callback(lambda host=host: host.worker and host.worker.stop())
            host.start_worker()
        yield Fleet(api, hosts)


def screen_of(host: Host, session: dict) -> str:
    return host.tmux.capture(session["pane_id"]).text


def test_a_fleet_of_three_hosts_on_one_database(fleet):
    api, hosts = fleet.api, fleet.hosts
    fleet.online(*HOSTS)
    listed = {host["name"]: host for host in api.get("/api/hosts")}
    assert set(HOSTS) <= set(listed)
    assert len({listed[name]["pid"] for name in HOSTS}) == 3
    assert not any(host["online"] for name, host in listed.items() if name not in HOSTS)  # the web server has none
    if network_namespace():  # each worker in a namespace of its own, with the database's unix socket as its way out
        spaces = {os.readlink(f"/proc/{host.worker.process.pid}/ns/net") for host in hosts.values()}
        assert len(spaces) == 3 and os.readlink("/proc/self/ns/net") not in spaces

    # a session on each host, asked of the web server and started by that host's worker on its own tmux server
    for name, host in hosts.items():
        status, session = api.call("POST", "/api/sessions", {"name": f"a-{name}", "profile": "fake", "host": name})
        assert status == 201, (status, session, host.worker.log.read_text())
        assert session["host"] == name and session["cwd"] == str(host.machine.project)
    for name in hosts:
        assert {other for other, host in hosts.items() if host.tmux.has_session(f"a-{name}")} == {name}
    poll(lambda: all(api.session(f"a-{name}")["status"] == "idle" for name in hosts), timeout=30, what="all idle")

    # a message to each: typed by its host's worker, seen on its screen, the agent busy and idle again
    for name in hosts:
        status, message = api.call("POST", f"/api/sessions/a-{name}/messages", {"text": f"hello {name}"})
        assert status == 202, (status, message)
    for name, host in hosts.items():
        poll(lambda host=host, name=name: received_prompts(host.machine.log) == [f"hello {name}"], what="the prompt")
        session = api.session(f"a-{name}")
        poll(
            lambda host=host, session=session, name=name: (
                f"Fake reply to prompt 1: hello {name}" in screen_of(host, session)
            ),
            what=f"the reply on {name}'s screen",
        )
        poll(
            lambda name=name: (
                [m["state"] for m in api.get(f"/api/sessions/a-{name}/outbox?finished=true")] == ["delivered"]
            ),
            what="delivered",
        )
        poll(
            lambda name=name: (
                "busy" in {c["to_status"] for c in api.get(f"/api/sessions/a-{name}/history")}
                and api.session(f"a-{name}")["status"] == "idle"
            ),
            timeout=30,
            what=f"a-{name} busy, then idle",
        )

    # fleet-3's worker killed: its host goes offline; what is asked of it waits, saying why
    down = hosts["fleet-3"]
    down.worker.process.kill()
    down.worker.process.wait(timeout=10)
    poll(lambda: not api.host("fleet-3")["online"], timeout=OFFLINE_SECONDS + 15, what="fleet-3 offline")
    assert api.host("fleet-3")["offline_reason"].startswith("host fleet-3 offline since")
    assert all(api.host(name)["online"] for name in ("fleet-1", "fleet-2"))
    started = {}
    asking = threading.Thread(
        target=lambda: started.update(
            answer=api.call("POST", "/api/sessions", {"name": "late", "profile": "fake", "host": "fleet-3"})
        )
    )
    asking.start()
    status, message = api.call("POST", "/api/sessions/a-fleet-3/messages", {"text": "while you were away"})
    assert status == 202, (status, message)
    [pending] = poll(lambda: api.get("/api/requests?open=true&host=fleet-3"), what="the start request recorded")
    assert (pending["kind"], pending["session"], pending["state"]) == ("start", "late", "pending")
    assert "is pending: host fleet-3 offline since" in pending["pending_reason"]

    # meanwhile the other hosts go on: their sessions killed from the web server
    for name in ("fleet-1", "fleet-2"):
        status, session = api.call("POST", f"/api/sessions/a-{name}/kill")
        assert status == 200 and session["lifecycle"] == "killed", (status, session)
        assert not hosts[name].tmux.has_session(f"a-{name}")
    asking.join(timeout=REQUEST_WAIT + 30)
    status, answer = started["answer"]
    assert status == 202 and "is pending: host fleet-3 offline since" in answer["detail"], (status, answer)
    assert api.get(f"/api/requests/{pending['id']}")["state"] == "pending"
    assert not down.tmux.has_session("late") and received_prompts(down.machine.log) == ["hello fleet-3"]

    # fleet-3's worker started again: the pending start is carried out, the queued message typed, its session seen
    down.start_worker()
    fleet.online("fleet-3")
    poll(lambda: api.get(f"/api/requests/{pending['id']}")["state"] == "carried", what="the start carried out")
    assert down.tmux.has_session("late") and api.session("late")["host"] == "fleet-3"
    poll(
        lambda: received_prompts(down.machine.log) == ["hello fleet-3", "while you were away"],
        what="the message queued while fleet-3 was offline",
    )
    poll(
        lambda: api.session("a-fleet-3")["status"] == "idle" and api.session("late")["status"] == "idle",
        timeout=30,
        what="fleet-3's sessions idle",
    )
    for name in ("a-fleet-3", "late"):
        status, session = api.call("POST", f"/api/sessions/{name}/kill")
        assert status == 200 and session["lifecycle"] == "killed", (status, session)
        assert not down.tmux.has_session(name)
    assert api.get("/api/requests?open=true") == []
    assert [s["lifecycle"] for s in api.get("/api/sessions")] == ["killed"] * 4

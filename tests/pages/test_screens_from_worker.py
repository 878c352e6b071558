"""A session page's screen and its interactive terminal come from the worker: a real worker captures the pane and
stores it, and relays the terminal's keystrokes and output; a real daphne pushes both to the page; and the web
process, whose `tmux` is a stand-in that writes down every call and fails, never calls tmux."""

import json
import os
import signal
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from websockets.sync.client import connect

from sessions_app import services
from tests.conftest import ROOT
from tests.pages.conftest import wait_for
from tests.sessions_app.conftest import project, tmux_server  # noqa: F401  (fixtures used here)
from tests.support import ServerProcess, free_port

pytestmark = pytest.mark.integration

NO_TMUX = """#!/bin/sh
echo "$@" >> {log}
echo "the web process must not call tmux" >&2
exit 1
"""


@pytest.fixture
def web_without_tmux(project, tmux_server, subprocess_env, transactional_db, tmp_path):  # noqa: F811
    """A worker with the real tmux, and a web server whose `tmux` only writes down that it was called."""
    env = {
        **subprocess_env,
        "PROJECT_ROOT": str(project.root),
        "CHORUS_TMUX_SOCKET": str(tmux_server.socket),
        "CHORUS_NOTIFY": "off",
        "CHORUS_POLL_INTERVAL": "0.1",
        "CHORUS_LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    calls = tmp_path / "web-tmux-calls"
    (stand_in / "tmux").write_text(NO_TMUX.format(log=calls))
    (stand_in / "tmux").chmod(stat.S_IRWXU)
    web = Web({**env, "PATH": f"{stand_in}{os.pathsep}{env['PATH']}"}, free_port())
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_worker"],
        env={**env, "CHORUS_WEB_URL": web.server.url},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield web.server, calls, web
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        web.server.stop()


class Web:
    """The web server, which a test may start again on the same port."""

    def __init__(self, env: dict, port: int):
        self.env = env
        self.server = ServerProcess(env, port, settings.CHORUS_TOKEN)

    def restart(self) -> None:
        self.server.stop()
        self.server = ServerProcess(self.env, self.server.port, settings.CHORUS_TOKEN)


def test_the_page_shows_the_screen_the_worker_captured_and_the_web_process_calls_no_tmux(
    web_without_tmux,
    tmux_server,  # noqa: F811
):
    server, calls, _web = web_without_tmux
    session = services.session_create("mirrored", profile="shell", tools="off")
    socket = connect(
        f"ws://127.0.0.1:{server.port}/ws/page/?page=session&name=mirrored",
        origin=server.url,
        additional_headers={"Cookie": server.session_cookie()},
        open_timeout=5,
    )
    with socket:
        assert 'id="session-head"' in socket.recv(timeout=10)
        for word in ("first", "second"):
            # printf prints the word joined to its marks: the typed command line alone never holds it
            tmux_server.send_text(session.pane_id, f"printf '<%s>\\n' {word}-screen")
            tmux_server.send_keys(session.pane_id, "Enter")
            wait_for(lambda w=word: f"&lt;{w}-screen&gt;" in socket.recv(timeout=10), what=f"the {word} screen")
    assert not calls.exists(), f"the web process called tmux: {calls.read_text()}"


def test_the_terminal_types_and_streams_through_the_worker_and_the_web_process_calls_no_tmux(
    web_without_tmux,
    tmux_server,  # noqa: F811
):
    _server, calls, web = web_without_tmux
    services.session_create("relayed", profile="shell", tools="off")

    def terminal():
        return connect(
            f"ws://127.0.0.1:{web.server.port}/ws/terminal/?name=relayed",
            origin=web.server.url,
            additional_headers={"Cookie": web.server.session_cookie()},
            open_timeout=5,
        )

    def ready() -> bool:
        with terminal() as socket:
            return json.loads(socket.recv(timeout=10))["type"] == "ready"

    def typed(command: str, output: bytes) -> None:
        with terminal() as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "ready", "writable": True}
            socket.send(json.dumps({"input": f"{command}\r"}))
            seen = b""

            def echoed() -> bool:
                nonlocal seen
                frame = socket.recv(timeout=10)
                seen += frame if isinstance(frame, bytes) else b""
                return output in seen

            wait_for(echoed, what=f"{output!r} through the worker")

    # the worker links to the web server once both are up: until then the page is told to try again
    wait_for(ready, 30, what="the worker's link")
    typed("echo relayed-$((2+3))", b"relayed-5")
    # a web server that starts again is linked again by the worker, which tries every second
    web.restart()
    wait_for(ready, 30, what="the worker's link to the new web server")
    typed("echo again-$((3+4))", b"again-7")
    assert not calls.exists(), f"the web process called tmux: {calls.read_text()}"

"""The browser terminal's stream on a real tmux server (no web server): one control-mode client per pane however many
look, a first picture of the screen as it is, keystrokes typed byte for byte, output as it is written, a new picture
after a resize, and the client gone with the last viewer."""

import asyncio
import subprocess
import time

import pytest

from sessions_app.terminal import Terminals
from sessions_app.tmux import socket_args

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(60)]


def clients(tmux_server) -> list[str]:
    listed = subprocess.run(
        ["tmux", *socket_args(tmux_server.socket), "list-clients", "-F", "#{client_flags}"],
        capture_output=True,
        text=True,
    )
    return listed.stdout.split()


async def received(viewer, wanted: bytes, timeout: float = 10.0) -> tuple[tuple[int, int] | None, bytes]:
    """What the viewer was sent until `wanted` was in it: (the last size sent, the bytes)."""
    data, size = b"", None
    deadline = time.monotonic() + timeout
    while wanted not in data:
        new_size, more, ended = await asyncio.wait_for(viewer.next(), max(0.1, deadline - time.monotonic()))
        size = new_size or size
        data += more
        assert ended is None, ended
    return size, data


async def test_viewers_share_one_client_see_the_screen_and_type_byte_for_byte(tmux_server):
    pane = tmux_server.new_session("t", ["cat", "-v"], width=80, height=20).pane_id
    tmux_server.send_text(pane, "before")
    tmux_server.send_keys(pane, "Enter")
    terminals = Terminals(tmux=lambda: tmux_server)

    first = await terminals.view(pane)
    size, picture = await received(first, b"before")
    assert size == (80, 20)
    assert picture.startswith(b"\x1b[0m") and b"before\x1b[0m\r\nbefore" in picture
    second = await terminals.view(pane)
    await received(second, b"before")
    assert len(clients(tmux_server)) == 1
    assert "read-only" in clients(tmux_server)[0]

    await first.type("a;b #{pane_id} 'q' \x1b\r")
    for viewer in (first, second):
        await received(viewer, b"a;b #{pane_id} 'q' ^[")

    await second.resize(60, 10)
    size, _ = await received(first, b"\x1b[H\x1b[2J")
    assert size == (60, 10)
    assert (tmux_server.pane(pane).width, tmux_server.pane(pane).height) == (60, 10)

    first.leave()
    assert len(clients(tmux_server)) == 1
    second.leave()
    deadline = time.monotonic() + 5
    while clients(tmux_server) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert clients(tmux_server) == []
    assert terminals.streams == {}


async def test_a_viewer_of_a_pane_that_ends_is_told(tmux_server):
    pane = tmux_server.new_session("gone", ["sleep", "60"], remain_on_exit=False).pane_id
    viewer = await Terminals(tmux=lambda: tmux_server).view(pane)
    tmux_server.kill_session("gone")
    deadline = time.monotonic() + 10
    while True:
        _size, _data, ended = await asyncio.wait_for(viewer.next(), max(0.1, deadline - time.monotonic()))
        if ended:
            break
    assert ended.startswith("the terminal ended")

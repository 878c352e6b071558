"""Live fan-out across processes, through a real daphne server and real websockets."""

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from events_app.live import Doorbells
from tests.support import ServerProcess, free_port, live_events

pytestmark = pytest.mark.integration


def _connect(server, cookie=None, origin="default"):
    headers = {"Cookie": cookie} if cookie else {}
    origin = server.url if origin == "default" else origin
    return connect(f"ws://127.0.0.1:{server.port}/ws/live/", origin=origin, additional_headers=headers, open_timeout=5)


def _receive_until(ws, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        seen.append(message)
        if predicate(message, seen):
            return seen
    raise AssertionError(f"timed out; received {seen}")


def _events(messages):
    return [event for message in messages for event in live_events(message)]


def test_events_appended_by_another_process_reach_the_websocket(server, manage, subprocess_env):
    with _connect(server, server.session_cookie()) as ws:
        ws.send(json.dumps({"subscribe": ["counter"]}))
        snapshot = json.loads(ws.recv(timeout=5))
        assert snapshot["type"] == "snapshot"
        subprocess.run([*manage, "demo_append", "c1", "--count", "5"], env=subprocess_env, check=True)
        seen = _receive_until(ws, lambda m, s: len(_events(s)) == 6)
    events = _events(seen)
    assert [e["event_type"] for e in events] == ["CounterOpened"] + ["CounterIncremented"] * 5
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(e["stream_id"] == "c1" for e in events)
    positions = [e["position"] for e in events]
    assert positions == sorted(set(positions))


def test_topics_filter_what_a_client_receives(server, manage, subprocess_env):
    with _connect(server, server.session_cookie()) as ws:
        ws.send(json.dumps({"subscribe": ["counter:wanted"]}))
        json.loads(ws.recv(timeout=5))
        subprocess.run([*manage, "demo_append", "other"], env=subprocess_env, check=True)
        subprocess.run([*manage, "demo_append", "wanted"], env=subprocess_env, check=True)
        seen = _receive_until(ws, lambda m, s: len(_events(s)) == 2)
    assert {e["stream_id"] for e in _events(seen)} == {"wanted"}


def test_reconnect_after_a_position_replays_the_gap(server, manage, subprocess_env):
    cookie = server.session_cookie()
    with _connect(server, cookie) as ws:
        ws.send(json.dumps({"subscribe": ["*"]}))
        position = json.loads(ws.recv(timeout=5))["position"]
    subprocess.run([*manage, "demo_append", "c2", "--count", "3"], env=subprocess_env, check=True)
    with _connect(server, cookie) as ws:
        ws.send(json.dumps({"subscribe": ["*"], "after": position}))
        seen = _receive_until(ws, lambda m, s: m["type"] == "snapshot")
    missed = _events(seen)
    assert [m["position"] for m in missed] == list(range(position + 1, position + 5))
    assert seen[-1]["resync"] is False
    assert seen[-1]["position"] == position + 4


def test_unauthenticated_websocket_is_refused(shared_server):
    with pytest.raises(InvalidStatus) as refused:
        _connect(shared_server, cookie=None)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [None, "http://localhost:3000", "http://evil.example", "null"],
    ids=["missing", "port", "host", "null"],
)
def test_websocket_from_a_foreign_origin_is_refused(shared_server, origin):
    with pytest.raises(InvalidStatus) as refused:
        _connect(shared_server, shared_server.session_cookie(), origin=origin)
    assert refused.value.response.status_code == 403


def test_bad_subscription_gets_an_error_message(shared_server):
    with _connect(shared_server, shared_server.session_cookie()) as ws:
        ws.send(json.dumps({"subscribe": ["bad topic!"]}))
        reply = json.loads(ws.recv(timeout=5))
        ws.send("[1, 2]")
        second = json.loads(ws.recv(timeout=5))
    assert reply["type"] == "error" and "invalid topic" in reply["message"]
    assert second["type"] == "error"


def test_a_commit_in_another_process_rings_the_followers_doorbell(subprocess_env, transactional_db, manage):
    # A poll every 30 s: an event seen within seconds came by the doorbell.
    server = ServerProcess({**subprocess_env, "CHORUS_FOLLOW_INTERVAL": "30"}, free_port(), settings.CHORUS_TOKEN)
    try:
        with _connect(server, server.session_cookie()) as ws:
            ws.send(json.dumps({"subscribe": ["counter"]}))
            json.loads(ws.recv(timeout=5))
            started = time.monotonic()
            subprocess.run([*manage, "demo_append", "rung"], env=subprocess_env, check=True)
            seen = _receive_until(ws, lambda m, s: len(_events(s)) == 1, timeout=10)
            took = time.monotonic() - started
    finally:
        server.stop()
    assert [e["stream_id"] for e in _events(seen)] == ["rung"]
    assert took < 10


@pytest.fixture
def doorbell_folder(settings):
    # Short: a unix socket's path has room for about 100 bytes.
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="bells-", dir="/tmp"))
    yield Doorbells.folder()
    shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


@pytest.mark.asyncio
async def test_a_ring_wakes_the_listener_of_another_process_and_not_its_own(doorbell_folder):
    listener, other = Doorbells(), Doorbells()
    rung = asyncio.Event()
    transport = await listener.listen(asyncio.get_running_loop(), rung.set)
    try:
        listener.ring()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(rung.wait(), 0.2)
        other.ring()
        await asyncio.wait_for(rung.wait(), 5)
    finally:
        transport.close()
    assert oct(doorbell_folder.stat().st_mode & 0o777) == "0o700"


def test_a_ring_removes_the_doorbell_of_an_ended_process(doorbell_folder):
    doorbell_folder.mkdir(mode=0o700)
    ended = doorbell_folder / "1-0.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(ended))
    sock.close()  # the file stays, nobody listens

    Doorbells().ring()

    assert not ended.exists()

"""Live fan-out on PostgreSQL: a commit in any process reaches the websockets of every web server through
LISTEN/NOTIFY, with the poll too slow to be what delivered it. Run by tests/events_app/test_postgres.py."""

import contextlib
import json
import subprocess

import pytest
from django.conf import settings
from django.db import connection

from tests.events_app.test_live import _connect, _events, _receive_until
from tests.support import ServerProcess, free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a PostgreSQL database (tests/events_app/test_postgres.py)"
    ),
]

# Far longer than a websocket waits here: an event that arrives came with a notification, not the poll.
SLOW_POLL = "300"


@pytest.fixture
def two_servers(subprocess_env, transactional_db):
    env = {**subprocess_env, "CHORUS_FOLLOW_INTERVAL": SLOW_POLL}
    servers = [ServerProcess(env, free_port(), settings.CHORUS_TOKEN) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_an_event_appended_by_another_process_reaches_the_websockets_of_every_web_server(
    two_servers, manage, subprocess_env
):
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(_connect(server, server.session_cookie())) for server in two_servers]
        for ws in sockets:
            ws.send(json.dumps({"subscribe": ["counter"]}))
            assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
        subprocess.run([*manage, "demo_append", "c1", "--count", "2"], env=subprocess_env, check=True)
        for ws in sockets:
            seen = _events(_receive_until(ws, lambda m, s: len(_events(s)) == 3))
            assert [(e["stream_id"], e["version"]) for e in seen] == [("c1", 1), ("c1", 2), ("c1", 3)]

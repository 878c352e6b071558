"""PostgreSQL restarted under a running web server and worker: appends during the outage are refused with a clear
503, both reconnect when it is back (the live socket too), and nothing is lost or doubled."""

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.conf import settings

from tests.events_app.test_live import _connect, _events, _receive_until
from tests.pg import postgres  # noqa: F401  (the fixture)
from tests.support import ServerProcess, child_environment, free_port

pytestmark = pytest.mark.integration


def _create_task(server, title):
    request = urllib.request.Request(
        f"{server.url}/api/tasks",
        data=json.dumps({"title": title}).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _wait(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while (found := predicate()) is None or found is False:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def test_a_restart_under_a_web_server_and_a_worker_loses_and_doubles_nothing(postgres, manage, tmp_path):  # noqa: F811
    url = postgres.create_database("faults")
    env = {**child_environment(), "CHORUS_DATABASE_URL": url, "CHORUS_TMUX_SOCKET": str(tmp_path / "tmux.sock")}
    env.pop("CHORUS_DATABASE")
    subprocess.run([*manage, "migrate", "--no-input"], env=env, check=True, capture_output=True)
    server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([*manage, "run_worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT)
    created = []
    try:
        with _connect(server, server.session_cookie()) as ws:
            ws.send(json.dumps({"subscribe": ["*"]}))
            assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
            status, body = _create_task(server, "before")
            assert status == 201, body
            created.append(body)

            postgres.stop()
            status, body = _create_task(server, "during")
            assert status == 503, body
            assert body["detail"].startswith("the database server cannot be reached ("), body
            postgres.start()

            def created_after() -> bool:
                status, body = _create_task(server, "after")
                assert status in (201, 503), body  # never a crash
                if status == 201:
                    created.append(body)
                return status == 201

            _wait(created_after, "an append once the database is back")
            seen = _receive_until(ws, lambda m, s: any(e["stream_type"] == "task" for e in _events(s)), timeout=15)
            assert any(e["stream_type"] == "task" for e in _events(seen))

        with psycopg.connect(url) as database:

            def worker_caught_up() -> bool:
                end = database.execute("SELECT MAX(position) FROM chorus_event").fetchone()[0]
                reached = database.execute("SELECT MAX(position) FROM chorus_policy_checkpoint").fetchone()[0]
                database.commit()
                return reached == end

            _wait(worker_caught_up, "the worker's policies to reach the log's end after the restart")
            titles = database.execute(
                "SELECT data->>'title' FROM chorus_event WHERE event_type = 'TaskCreated' ORDER BY position"
            ).fetchall()
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        worker.terminate()
        worker.wait(timeout=15)
        worker_log.close()

    assert [title for (title,) in titles] == ["before", "after"]
    assert len(created) == 2
    for check in ("verify_events", "verify_projections"):
        done = subprocess.run([*manage, check], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

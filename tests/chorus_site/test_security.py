"""The security model against the real ASGI application (daphne in a child process), as an attacker's browser
or a script would meet it."""

import contextlib
import http.client
import http.cookiejar
import json
import signal
import subprocess
import sys
import time
import types
import urllib.request
from collections import Counter

import pytest
from django.conf import settings
from django.utils.html import escape

pytestmark = pytest.mark.integration


def request(server, method, path, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


def bearer():
    return {"Authorization": f"Bearer {settings.CHORUS_TOKEN}"}


@pytest.fixture
def server(shared_server):
    """This module's tests only ask the server and keep nothing in it: one server for all of them."""
    return shared_server


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_foreign_host_header_gets_400(server, host):
    status, _body = request(server, "GET", "/api/health", {**bearer(), "Host": host})
    assert status == 400


def test_the_api_needs_the_right_token(server):
    assert request(server, "GET", "/api/sessions")[0] == 401
    assert request(server, "GET", "/api/sessions", {"Authorization": "Bearer wrong"})[0] == 401
    assert request(server, "GET", "/api/sessions", {"Authorization": f"Basic {settings.CHORUS_TOKEN}"})[0] == 401
    assert request(server, "GET", "/api/sessions", bearer())[0] == 200


def test_pages_and_websocket_need_a_login(server):
    status, body = request(server, "GET", "/", {"Accept": "text/html"})
    assert status == 401 and "Log in to Chorus" in body
    assert request(server, "GET", "/admin/", {"Accept": "text/html"})[0] == 401


def test_a_cookie_session_cannot_post_without_the_csrf_token(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server.url}/login/?token={settings.CHORUS_TOKEN}", timeout=5)
    cookies = {c.name: c.value for c in jar}
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = json.dumps({"name": "x", "profile": "shell"})
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    assert request(server, "POST", "/api/sessions", headers, body)[0] == 403
    assert (
        request(server, "POST", "/login/", {**headers, "Content-Type": "application/x-www-form-urlencoded"}, "token=x")[
            0
        ]
        == 403
    )
    status, _ = request(server, "GET", "/api/sessions", headers)
    assert status == 200


@pytest.mark.parametrize(
    "path", ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/static/../manage.py"]
)
def test_static_files_never_leave_their_folders(server, path):
    status, body = request(server, "GET", path, bearer())
    assert status in (400, 404)
    assert "root:" not in body and "DJANGO_SETTINGS_MODULE" not in body


@pytest.fixture
def worker(project, manage, subprocess_env, tmux_server):
    env = {
        **subprocess_env,
        "PROJECT_ROOT": str(project.root),
        "CHORUS_TMUX_SOCKET": str(tmux_server.socket),
        "CHORUS_NOTIFY": "off",
        "CHORUS_POLL_INTERVAL": "0.1",
    }
    process = subprocess.Popen([*manage, "run_worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield env
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)


@pytest.fixture
def chorus_server(worker):
    from tests.support import ServerProcess, free_port

    process = ServerProcess(worker, free_port(), settings.CHORUS_TOKEN)
    yield process
    process.stop()


HOSTILE = [
    ("C-c", "C-c"),
    ("-t %0 ; kill-server", "-t %0 ; kill-server"),
    ("Enter", "Enter"),
    ("safe\x1b[201~evil\nrm -rf ~", "safe[201~evil\nrm -rf ~"),
    ("\x1b[2J\x1b]0;title\x07clear", "[2J]0;titleclear"),
    ("quotes ' \" `$(id)` ;", "quotes ' \" `$(id)` ;"),
]


@pytest.mark.django_db(transaction=True)
def test_text_reaches_the_agent_literally(chorus_server, project):
    """Key names, a leading dash, tmux separators, ESC sequences and the bracketed-paste end marker arrive as
    text (with control characters and ESC removed), through the API, the worker and tmux."""
    from tests.sessions_app.conftest import received_prompts

    json_headers = {**bearer(), "Content-Type": "application/json"}
    created = request(
        chorus_server, "POST", "/api/sessions", json_headers, json.dumps({"name": "t", "profile": "fake"})
    )
    assert created[0] == 201, created
    deadline = time.monotonic() + 60
    for index, (sent, arrives) in enumerate(HOSTILE, start=1):
        while json.loads(request(chorus_server, "GET", "/api/sessions/t", bearer())[1])["status"] != "idle":
            assert time.monotonic() < deadline, "the agent never became idle"
            time.sleep(0.1)
        status, body = request(
            chorus_server, "POST", "/api/sessions/t/messages", json_headers, json.dumps({"text": sent})
        )
        assert status == 202, body
        while len(received_prompts(project.log)) < index:
            assert time.monotonic() < deadline, f"the agent received {received_prompts(project.log)!r}"
            time.sleep(0.1)
        assert received_prompts(project.log)[-1] == arrives
    assert request(chorus_server, "GET", "/api/sessions/t", bearer())[0] == 200


@pytest.fixture(scope="module")
def documents_project_server(django_db_setup, tmp_path_factory):
    """A server whose PROJECT_ROOT holds a document, and a symbolic link to a file outside it."""
    from tests.support import ServerProcess, child_environment, free_port

    base = tmp_path_factory.mktemp("documents")
    root = base / "project"
    root.mkdir()
    (root / "spec.md").write_text("# Spec\nline two\n")
    (base / "secret.md").write_text("# Secret\nnot for you\n")
    (root / "leak.md").symlink_to(base / "secret.md")
    process = ServerProcess({**child_environment(), "PROJECT_ROOT": str(root)}, free_port(), settings.CHORUS_TOKEN)
    yield process
    process.stop()


@pytest.fixture
def documents_server(documents_project_server, transactional_db):
    assert request(documents_project_server, "POST", "/api/documents/scan", bearer())[0] == 200
    return documents_project_server


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/documents/../../etc/passwd",
        "/api/documents/%2Fetc%2Fpasswd",
        "/api/documents/leak.md",
        "/api/documents/..%2Fsecret.md",
    ],
)
def test_files_outside_the_project_are_never_read(documents_server, path):
    status, body = request(documents_server, "GET", path, bearer())
    assert status == 404, body
    assert "root:" not in body and "not for you" not in body


def test_a_document_inside_the_project_is_read(documents_server):
    status, body = request(documents_server, "GET", "/api/documents/spec.md?start=2&end=2", bearer())
    assert status == 200
    assert json.loads(body)["lines"] == [{"number": 2, "text": "line two"}]


@pytest.fixture
def own_token_server(tmp_path, subprocess_env, transactional_db):
    """A real server with a data directory (and so a token) of its own, on the test database: rotating its token
    leaves the suite's alone."""
    from chorus_site import config
    from tests.support import ServerProcess, free_port

    env = {**subprocess_env, "CHORUS_DATA_DIR": str(tmp_path / "data")}
    process = ServerProcess(env, free_port(), config.read_or_create_secret(tmp_path / "data" / "token"))
    yield process, env
    process.stop()


def test_token_rotate_logs_out_every_session_bearer_and_open_socket_of_a_running_server(own_token_server, manage):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    server, env = own_token_server
    old = server.token
    cookie = {"Cookie": server.session_cookie()}
    assert request(server, "GET", "/api/sessions", cookie)[0] == 200
    socket = connect(f"ws://127.0.0.1:{server.port}/ws/live/", origin=server.url, additional_headers=cookie)
    socket.send(json.dumps({"subscribe": ["*"]}))
    assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"

    rotated = subprocess.run(
        [*manage, "token", "rotate"], env=env, capture_output=True, text=True, timeout=60, check=True
    )

    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=15)  # the open socket is closed too, within a recheck
    assert closed.value.rcvd.code == 4401

    new = rotated.stdout.split("/login/?token=")[-1].split()[0]
    assert new != old and old not in rotated.stdout
    assert request(server, "GET", "/api/sessions", cookie)[0] == 401
    assert request(server, "GET", "/", {**cookie, "Accept": "text/html"})[0] == 401
    assert request(server, "GET", "/api/sessions", {"Authorization": f"Bearer {old}"})[0] == 401
    assert request(server, "GET", f"/login/?token={old}")[0] == 403
    assert request(server, "GET", "/api/sessions", {"Authorization": f"Bearer {new}"})[0] == 200
    server.token = new
    assert request(server, "GET", "/api/sessions", {"Cookie": server.session_cookie()})[0] == 200


def test_the_token_never_reaches_the_access_log(tmp_path, subprocess_env, manage, transactional_db):
    """`start` as a user runs it, its web server's access log on stdout: every login URL, right or wrong, and
    however its parameter is spelt, is logged without the token; the token shows once, in the printed login URL."""
    from chorus_site import config
    from tests.support import free_port

    port = free_port()
    token = config.read_or_create_secret(tmp_path / "data" / "token")
    env = {**subprocess_env, "PORT": str(port), "CHORUS_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    output = tmp_path / "start.log"
    with output.open("w") as log:
        process = subprocess.Popen([*manage, "start", "--no-worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        server = types.SimpleNamespace(port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                request(server, "GET", "/login/")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)
        logins = [f"/login/?token={token}", f"/login/?next=/tasks/&token={token}", f"/login/?%74oken={token}&x=1"]
        assert [request(server, "GET", path)[0] for path in logins] == [302, 302, 302]
        assert request(server, "GET", f"/login/?token={token[:-1]}")[0] == 403
        assert request(server, "GET", f"/api/health?token={token}")[0] == 401
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    lines = output.read_text().splitlines()
    access = [line for line in lines if '"GET /' in line]
    assert len(access) >= 6, lines
    assert [line for line in lines if token[:-1] in line] == [f"  open   http://127.0.0.1:{port}/login/?token={token}"]
    assert all("oken=[redacted]" in line for line in access if "oken=" in line)


# Swaps argv[1] (a directory) for a symbolic link to argv[2] and back until SIGTERM, then prints how many times.
SWAPPER = """
import os, signal, sys
docs, outside = sys.argv[1:]
parked, swaps, stopping = docs + ".parked", 0, []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
while not stopping:
    os.rename(docs, parked)
    os.symlink(outside, docs)
    os.unlink(docs)
    os.rename(parked, docs)
    swaps += 1
print(swaps)
"""


def test_document_reads_never_leave_the_root_while_an_agent_swaps_a_directory_for_a_link(
    tmp_path, subprocess_env, transactional_db
):
    """A directory inside the root swapped for a symbolic link out of it and back, as fast as another process can
    (an agent), while the real server serves a document under it a few thousand times: never a byte from outside,
    never a 500."""
    import sys

    from tests.support import ServerProcess, free_port

    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "inner.md").write_text("inside\n")
    outside.mkdir()
    (outside / "inner.md").write_text("secret outside the root\n")
    server = ServerProcess({**subprocess_env, "PROJECT_ROOT": str(root)}, free_port(), settings.CHORUS_TOKEN)
    statuses, leaked, swapper = Counter(), 0, None
    try:
        assert request(server, "POST", "/api/documents/scan", bearer())[0] == 200
        swapper = subprocess.Popen(
            [sys.executable, "-c", SWAPPER, str(root / "docs"), str(outside)], stdout=subprocess.PIPE, text=True
        )
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for _ in range(2000):
            connection.request("GET", "/api/documents/docs/inner.md", headers=bearer())
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
            statuses[response.status] += 1
            leaked += "secret" in body
        swapper.terminate()
        swaps = int(swapper.communicate(timeout=10)[0])
        after = request(server, "GET", "/api/documents/docs/inner.md", bearer())
    finally:
        if swapper is not None and swapper.poll() is None:
            swapper.kill()
        server.stop()
    assert leaked == 0 and not [status for status in statuses if status >= 500], statuses
    assert swaps > 100 and after[0] == 200 and "inside" in after[1], (swaps, after)


# --- A database that cannot be written: said plainly by the API, the pages and every command; nothing half-written


def run_chorus(env, *args):
    """A Chorus command in its own process, as a person runs it: through the `chorus` script."""
    return subprocess.run(
        [sys.executable, "-m", "chorus_site.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def assert_one_line_refusal(result, *wanted):
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(text in result.stderr for text in wanted), result.stderr


def assert_refused_everywhere(env, server, problem):
    status, body = request(
        server, "POST", "/api/tasks", {**bearer(), "Content-Type": "application/json"}, '{"title": "x"}'
    )
    assert (status, json.loads(body)) == (503, {"detail": problem})
    status, body = request(server, "GET", f"/login/?token={settings.CHORUS_TOKEN}", {"Accept": "text/html"})
    assert status == 503 and "Chorus cannot save changes" in body and escape(problem.capitalize()) in body
    assert_one_line_refusal(run_chorus(env, "tasks", "add", "x"), f"CommandError: {problem}")
    assert_one_line_refusal(run_chorus(env, "clearsessions"), f"chorus clearsessions: {problem}")


@pytest.fixture
def read_only_database(subprocess_env, transactional_db):
    """The test database opened read-only by every process: as root (CI) a chmod does not stop writes, SQLite's own
    read-only mode does, through the same SQLite error a read-only file gives an ordinary user."""
    from tasks_app import services as task_services
    from tests.support import ServerProcess, free_port

    task_services.task_create("Written before")
    env = {**subprocess_env, "CHORUS_DATABASE": f"file:{subprocess_env['CHORUS_DATABASE']}?mode=ro"}
    server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    yield env, server
    server.stop()


def test_a_read_only_database_is_said_plainly_and_nothing_is_written(read_only_database):
    from events_app import store
    from events_app.database import READ_ONLY

    env, server = read_only_database
    before = store.last_position()
    assert_refused_everywhere(env, server, READ_ONLY)
    status, body = request(server, "GET", "/api/tasks", bearer())
    assert status == 200 and [task["title"] for task in json.loads(body)] == ["Written before"]
    assert store.last_position() == before


@pytest.fixture
def full_disk(subprocess_env, tmp_path, django_db_setup):
    """A data directory on a 16 MiB tmpfs holding a fresh database, then filled to the last block."""
    from tests.conftest import IN_CI
    from tests.support import ServerProcess, free_port

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    try:
        env = {
            **subprocess_env,
            "CHORUS_DATA_DIR": str(disk),
            "CHORUS_DATABASE": str(disk / "chorus.sqlite3"),
            "CHORUS_TOKEN": settings.CHORUS_TOKEN,
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, timeout=120)
        server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
        try:
            with open(disk / "filler", "wb", buffering=0) as filler, contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * 4096)
            yield env, server
        finally:
            server.stop()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_is_said_plainly(full_disk):
    from events_app.database import DISK_FULL

    env, server = full_disk
    assert_refused_everywhere(env, server, DISK_FULL)

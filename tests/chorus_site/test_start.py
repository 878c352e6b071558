"""`manage.py start` as a user runs it: migrations, web server and worker, the printed login URL, Ctrl-C."""

import http.cookiejar
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support import ROOT, free_port

pytestmark = pytest.mark.integration


def test_start_serves_the_login_url_and_stops_on_sigterm(tmp_path, subprocess_env):
    port = free_port()
    env = {**subprocess_env, "PORT": str(port), "CHORUS_DATA_DIR": str(tmp_path), "PROJECT_ROOT": str(tmp_path)}
    env.pop("CHORUS_DATABASE")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "start"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        login = next(line.split()[-1] for line in lines if "/login/?token=" in line)
        assert login.startswith(f"http://127.0.0.1:{port}/login/?token=")
        assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "chorus.sqlite3").exists()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        # The URL is printed once the server answers: a click at once gets the page, not a refused connection.
        body = opener.open(login, timeout=5).read().decode()
        assert "Event log" in body
        assert "worker" in " ".join(p for p in _children(process.pid))
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_a_killed_worker_is_started_again_and_the_web_server_keeps_serving(tmp_path, subprocess_env):
    import psutil

    port = free_port()
    env = {**subprocess_env, "PORT": str(port), "CHORUS_DATA_DIR": str(tmp_path), "PROJECT_ROOT": str(tmp_path)}
    env.pop("CHORUS_DATABASE")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "start"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        next(line for line in process.stdout if b"/login/?token=" in line)
        page = f"http://127.0.0.1:{port}/login/"
        worker = next(c for c in psutil.Process(process.pid).children() if "run_worker" in " ".join(c.cmdline()))
        worker.kill()
        worker.wait(timeout=10)

        assert urllib.request.urlopen(page, timeout=5).status == 200
        again = _until(
            lambda: [c for c in psutil.Process(process.pid).children() if "run_worker" in " ".join(c.cmdline())],
            "the worker was not started again",
        )
        assert again[0].pid != worker.pid
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert b"chorus: the worker was killed by SIGKILL; starting it again in 1 s" in err
    assert b"chorus: starting the worker again" in err


def _until(condition, failure, timeout=60.0):
    """condition() once it is truthy; a connection refused or timed out (a server still starting) is not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
            if found:
                return found
        except OSError:
            pass
        assert time.monotonic() < deadline, failure
        time.sleep(0.2)


def test_start_refuses_a_busy_port(tmp_path, subprocess_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**subprocess_env, "PORT": str(port), "CHORUS_DATA_DIR": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "start"], env=env, capture_output=True, text=True, timeout=30
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_refuses_a_public_bind_without_opt_in(tmp_path, subprocess_env):
    env = {**subprocess_env, "CHORUS_HOST": "0.0.0.0", "CHORUS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "start"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "CHORUS_ALLOW_REMOTE" in result.stderr


def _children(pid):
    import psutil

    return [" ".join(child.cmdline()) for child in psutil.Process(pid).children(recursive=True)]


def test_a_proxy_on_the_same_machine_may_name_a_server_that_stays_on_loopback(manage, subprocess_env):
    env = {**subprocess_env, "CHORUS_ALLOWED_HOSTS": "chorus.example, other.example"}
    env.pop("CHORUS_HOST", None)
    shown = subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from django.conf import settings; print(settings.CHORUS_HOST, settings.ALLOWED_HOSTS)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "127.0.0.1 [" in shown and "'chorus.example', 'other.example'" in shown and "'localhost'" in shown

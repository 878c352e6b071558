"""Helpers shared by the tests and the benchmarks: a real Chorus server in a child process."""

import http.cookiejar
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_environment() -> dict[str, str]:
    """Environment for a child process that must use this test run's database and settings."""
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CHORUS_DATA_DIR=str(settings.DATA_DIR),
        CHORUS_DATABASE=str(settings.DATABASES["default"]["NAME"]),
        PYTHONPATH=str(ROOT),
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """A real Chorus ASGI server (daphne) in a child process, on the test database."""

    def __init__(self, env: dict, port: int, token: str):
        self.token = token
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "chorus_site.asgi:application",
            ],
            env={**env, "PORT": str(port)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    err = self.process.stderr.read().decode() if self.process.poll() is not None else "timeout"
                    raise RuntimeError(f"daphne did not start: {err}") from None
                time.sleep(0.1)

    def session_cookie(self) -> str:
        """Log in with the token and return the Cookie header value a browser would send."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/login/?token={self.token}", timeout=5)
        return "; ".join(f"{c.name}={c.value}" for c in jar)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()

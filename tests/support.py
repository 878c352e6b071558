"""Helpers shared by the tests and the benchmarks: a real Chorus server in a child process."""

import http.cookiejar
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Debian's Chromium, which the browser tests and the benchmarks drive through Playwright, and its flags.
CHROMIUM = os.environ.get("CHORUS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


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
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        env["CHORUS_DATABASE_URL"] = database_url(settings.DATABASES["default"])
    return env


def database_url(database: dict) -> str:
    """The postgresql:// URL of a Django DATABASES entry (the test database's, once pytest-django made it)."""
    from urllib.parse import quote, urlencode

    login = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else "")
    query = urlencode(database["OPTIONS"])
    return (
        f"postgresql://{login}@{database['HOST']}:{database['PORT']}/{quote(database['NAME'])}"
        f"{'?' + query if query else ''}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """A real Chorus web server (daphne, as `start` runs it: chorus_site.webserver) in a child process, on the test
    database.

    Its log goes to a file, never to a pipe nobody reads: daphne logs every connection, and a full pipe (64 KiB,
    a few hundred websockets) would stop the whole server in its next write."""

    def __init__(self, env: dict, port: int, token: str):
        self.token = token
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chorus_site.webserver",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "chorus_site.asgi:application",
            ],
            env={**env, "PORT": str(port)},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    reason = "it exited" if self.process.poll() is not None else "timeout"
                    output = self.output()
                    self.stop()
                    raise RuntimeError(f"daphne did not start ({reason}): {output}") from None
                time.sleep(0.1)

    def session_cookie(self) -> str:
        """Log in with the token and return the Cookie header value a browser would send."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/login/?token={self.token}", timeout=5)
        return "; ".join(f"{c.name}={c.value}" for c in jar)

    def output(self) -> str:
        """What the server wrote to its log so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def live_events(message: dict) -> list[dict]:
    """The events in a frame of the live socket: one (`event`), several (`events`) or none."""
    if message["type"] == "event":
        return [{k: v for k, v in message.items() if k != "type"}]
    return message["events"] if message["type"] == "events" else []

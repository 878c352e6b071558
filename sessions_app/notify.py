"""Desktop notifications when an agent needs a human or has finished: notify-send, osascript, or a log line.

Deduplicated (the same session and kind within `dedupe_seconds` is said once) and rate-limited (at most
`max_per_minute` in any minute), because a flapping agent must not flood the desktop. One notifier per process
(`notifier()`), so every notice of the worker shares the dedupe and the limit.
"""

from __future__ import annotations

import collections
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger("chorus.notify")


def _osascript_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Notifier:
    """`clock` and `run` (subprocess.run's signature) are seams for tests."""

    def __init__(
        self,
        backend: str = "auto",
        dedupe_seconds: float = 30.0,
        max_per_minute: int = 6,
        clock: Callable[[], float] = time.monotonic,
        run: Callable[..., object] = subprocess.run,
    ):
        self.configured = backend
        self.backend = self._choose(backend)
        self.dedupe_seconds = dedupe_seconds
        self.max_per_minute = max_per_minute
        self.clock = clock
        self.run = run
        self._last: dict[tuple[str, str], float] = {}
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    @staticmethod
    def _choose(backend: str) -> str:
        if backend != "auto":
            return backend
        if shutil.which("notify-send"):
            return "notify-send"
        if sys.platform == "darwin" and shutil.which("osascript"):
            return "osascript"
        return "log"

    def notify(self, session: str, kind: str, title: str, body: str) -> bool:
        """Say it unless it repeats or the rate limit is reached; return whether it was said."""
        if self.backend == "off":
            return False
        with self._lock:
            now = self.clock()
            key = (session, kind)
            if now - self._last.get(key, -1e9) < self.dedupe_seconds:
                return False
            while self._sent and now - self._sent[0] >= 60:
                self._sent.popleft()
            if len(self._sent) >= self.max_per_minute:
                log.info("notification rate limit reached; not shown: %s: %s", title, body)
                return False
            self._last[key] = now
            self._sent.append(now)
        self._send(title, body)
        return True

    def _send(self, title: str, body: str) -> None:
        if self.backend == "notify-send":
            command = ["notify-send", "--app-name=Chorus", "--", title, body]
        elif self.backend == "osascript":
            script = f"display notification {_osascript_quote(body)} with title {_osascript_quote(title)}"
            command = ["osascript", "-e", script]
        else:
            log.warning("%s: %s", title, body)
            return
        try:
            self.run(command, timeout=5, check=False, capture_output=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("%s failed (%s): %s: %s", command[0], exc, title, body)


_shared: Notifier | None = None
_shared_lock = threading.Lock()


def notifier() -> Notifier:
    """This process's notifier, as settings.CHORUS_NOTIFY asks (made again when that setting changes)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.configured != settings.CHORUS_NOTIFY:
            _shared = Notifier(settings.CHORUS_NOTIFY)
        return _shared

"""Desktop notifications when an agent needs a human or has finished: notify-send, osascript, or a log line.

A notice that names what it tells of (`key`: the event's position) is said once, however often it is offered (a
worker policy's batch offered again after a crash); one without a key is deduplicated per session and kind within
`dedupe_seconds`. At most `max_per_minute` are said in any minute, because a flapping agent must not flood the
desktop, but a notice over the limit is held, never dropped: once there is room again the held ones are said as
one (`flush`, which the worker calls every tick). One notifier per process (`notifier()`), so every notice of the
worker shares the dedupe and the limit.
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
# how many keys of notices said are remembered: far more than one batch of a worker policy
KEYS_KEPT = 10_000


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
        # the keys of the notices said, newest last, so the set stays bounded
        self._keys: collections.OrderedDict[object, None] = collections.OrderedDict()
        self._held: list[tuple[str, str]] = []
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

    def notify(self, session: str, kind: str, title: str, body: str, key: object = None) -> bool:
        """Say it (with any held before it, as one) unless it repeats; over the rate limit it is held for `flush`.
        Return whether it was said now."""
        if self.backend == "off":
            return False
        with self._lock:
            now = self.clock()
            if key is not None:
                if key in self._keys:
                    return False
                self._keys[key] = None
                while len(self._keys) > KEYS_KEPT:
                    self._keys.popitem(last=False)
            else:
                if now - self._last.get((session, kind), -1e9) < self.dedupe_seconds:
                    return False
                self._last[(session, kind)] = now
            self._held.append((title, body))
            said = self._take_held(now)
        if said is None:
            log.info("notification rate limit reached; held: %s: %s", title, body)
            return False
        self._send(*said)
        return True

    def flush(self) -> bool:
        """Say the notices held back by the rate limit, as one, if there is room now; return whether it did."""
        if not self._held:
            return False
        with self._lock:
            said = self._take_held(self.clock())
        if said is not None:
            self._send(*said)
        return said is not None

    def _take_held(self, now: float) -> tuple[str, str] | None:
        """The held notices merged into one, taking a place in the rate limit, if there is room (lock held)."""
        while self._sent and now - self._sent[0] >= 60:
            self._sent.popleft()
        if not self._held or len(self._sent) >= self.max_per_minute:
            return None
        held, self._held = self._held, []
        self._sent.append(now)
        if len(held) == 1:
            return held[0]
        return f"Chorus: {len(held)} notices", "; ".join(f"{title}: {body}" for title, body in held)

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

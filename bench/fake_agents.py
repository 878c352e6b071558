"""What the benchmarks that run fake agents in a private tmux server share: a throw-away work directory (data,
project, tmux socket, Claude-like session files) that Chorus's settings point at, and Django set up on it.

`setup(name)` must run before anything imports Chorus's models.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_AGENT = ROOT / "tests" / "fakeagent" / "fake_agent.py"


def setup(name: str) -> Path:
    """Make the work directory (under /tmp: tmux's socket path must be short), point Chorus at it, set up Django;
    returns the directory, which the benchmark removes when it ends."""
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix=f"chorus-bench-{name}-", dir="/tmp"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CHORUS_DATA_DIR=str(work / "data"),
        PROJECT_ROOT=str(work / "project"),
        CHORUS_TMUX_SOCKET=str(work / "tmux.sock"),
        CHORUS_NOTIFY="off",
        CHORUS_LOG_LEVEL="WARNING",
        CHORUS_CLAUDE_SESSIONS_DIR=str(work / "claude-sessions"),
    )
    (work / "project").mkdir()
    (work / "claude-sessions").mkdir()
    import django

    django.setup()
    return work


@contextlib.contextmanager
def ticking(monitor):
    """Tick the worker's session monitor at its cadence in a thread for as long as the block runs."""
    from django.conf import settings
    from django.db import connection

    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            monitor.tick()
            stop.wait(max(0.0, settings.CHORUS_POLL_INTERVAL - (time.perf_counter() - started)))
        connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

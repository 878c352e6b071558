"""What Claude Code says about itself: the session file it keeps per process (`~/.claude/sessions/<pid>.json`).

Observed in 2.1.330 (see design.md): `status` is idle, busy or waiting (with `waitingFor`), it changes ~50 ms before
the screen and stays right where screen scraping goes wrong. After SIGKILL the file stays behind saying idle, so a
report counts only while its pid is alive and belongs to the pane's process tree.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil

from sessions_app.detection import SelfReport

KNOWN_STATUSES = frozenset({"idle", "busy", "waiting"})


def sessions_dir() -> Path:
    return Path(os.environ.get("CHORUS_CLAUDE_SESSIONS_DIR") or Path.home() / ".claude" / "sessions")


def read_session_file(path: Path, pid: int) -> SelfReport | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("status") not in KNOWN_STATUSES or not psutil.pid_exists(pid):
        return None
    return SelfReport.from_claude_session({**data, "pid": pid}, pid_alive=True)


class SessionFileFinder:
    """Finds the session file of the Claude process under a pane, caching which pid it was.

    The pane's process tree is walked again only when the cached pid's file disappears, at most every
    `rescan_seconds`, so a poll of many panes costs one stat per pane.
    """

    def __init__(self, directory: Path | None = None, rescan_seconds: float = 2.0):
        self.directory = directory or sessions_dir()
        self.rescan_seconds = rescan_seconds
        self._pid_for_pane: dict[int, int] = {}
        self._scanned_at: dict[int, float] = {}

    def report(self, pane_pid: int | None) -> SelfReport | None:
        if not pane_pid:
            return None
        pid = self._pid_for_pane.get(pane_pid)
        if pid is not None:
            found = read_session_file(self.directory / f"{pid}.json", pid)
            if found is not None:
                return found
            del self._pid_for_pane[pane_pid]
        now = time.monotonic()
        if now - self._scanned_at.get(pane_pid, -1e9) < self.rescan_seconds:
            return None
        self._scanned_at[pane_pid] = now
        for candidate in self._tree(pane_pid):
            path = self.directory / f"{candidate}.json"
            if path.exists():
                found = read_session_file(path, candidate)
                if found is not None:
                    self._pid_for_pane[pane_pid] = candidate
                    return found
        return None

    @staticmethod
    def _tree(pid: int) -> list[int]:
        try:
            return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

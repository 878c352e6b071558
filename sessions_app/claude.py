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

SESSION_FILE = "claude_session_file"
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
    """Maps the session files in the directory to the panes whose process trees own them.

    Per poll it costs one stat of the directory and one of each watched file: the directory is listed again only
    when its mtime changes (a file came or went) or a new pane appears, and a file is parsed only when it changed.
    """

    def __init__(self, directory: Path | None = None):
        self.directory = directory or sessions_dir()
        self._listed: tuple[int, frozenset[int]] | None = None
        self._pid_for_pane: dict[int, int] = {}
        self._parsed: dict[int, tuple[tuple[int, int, int], SelfReport | None]] = {}

    def refresh(self, pane_pids: set[int]) -> None:
        """Call once per poll with the pids of the panes that run Claude Code."""
        try:
            stamp = os.stat(self.directory).st_mtime_ns
        except OSError:
            self._pid_for_pane.clear()
            self._listed = None
            return
        panes = frozenset(pane_pids)
        if self._listed == (stamp, panes) and not recently(stamp):
            return
        self._listed = (stamp, panes)
        pids = {int(name[:-5]) for name in os.listdir(self.directory) if name.endswith(".json") and name[:-5].isdigit()}
        mapping = {}
        for pid in pids:
            owner = _pane_of(pid, panes)
            if owner is not None:
                mapping[owner] = pid
        self._pid_for_pane = mapping
        self._parsed = {pid: parsed for pid, parsed in self._parsed.items() if pid in pids}

    def report(self, pane_pid: int | None) -> SelfReport | None:
        pid = self._pid_for_pane.get(pane_pid) if pane_pid else None
        if pid is None:
            return None
        path = self.directory / f"{pid}.json"
        try:
            info = os.stat(path)
        except OSError:
            return None
        changed = (info.st_mtime_ns, info.st_ino, info.st_size)
        cached = self._parsed.get(pid)
        if cached is None or cached[0] != changed or recently(info.st_mtime_ns):
            cached = self._parsed[pid] = (changed, read_session_file(path, pid))
        report = cached[1]
        return report if report is not None and psutil.pid_exists(pid) else None


def recently(stamp_ns: int) -> bool:
    """Whether a file time is too recent to prove that nothing changed since: the kernel stamps files with a
    coarse clock (a few ms), so two writes close together can leave the same mtime."""
    return time.time_ns() - stamp_ns < 1_000_000_000


def _pane_of(pid: int, pane_pids: frozenset[int]) -> int | None:
    """The pane pid among `pane_pids` that is `pid` or one of its ancestors."""
    try:
        process = psutil.Process(pid)
        chain = [pid, *(parent.pid for parent in process.parents())]
    except psutil.NoSuchProcess:
        return None
    return next((candidate for candidate in chain if candidate in pane_pids), None)


# --- Hooks, passed with `claude --settings <json>` ----------------------------------------------------------------

# Events worth hearing about: the prompt accepted (delivery confirmation), a dialog opened, a turn ended, an API
# error, the session's end. Notification is left out: it only nudges after 6 s or 60 s.
HOOK_EVENTS = ("UserPromptSubmit", "PermissionRequest", "Stop", "StopFailure", "SessionEnd")

# Writes the payload into the session's hook directory atomically (write, then rename) and exits 0 at once, so
# a slow disk never delays the agent and a missing directory never prints an error into the transcript.
HOOK_COMMAND = (
    'd="$CHORUS_HOOK_DIR"; [ -d "$d" ] || exit 0; f="$d/$(date +%s%N)-$$"; '
    'cat > "$f.part" && mv "$f.part" "$f.json"; exit 0'
)


def hook_settings() -> str:
    """Inline JSON for `--settings`: it merges with the user's settings and never edits their files."""
    hook = {"type": "command", "command": HOOK_COMMAND, "timeout": 5, "async": True}
    return json.dumps({"hooks": {event: [{"hooks": [hook]}] for event in HOOK_EVENTS}}, separators=(",", ":"))


def user_disabled_hooks(home: Path | None = None) -> bool:
    """The user's `"disableAllHooks": true` turns ours off too; overriding it would re-enable theirs, so Chorus
    only warns."""
    path = (home or Path.home()) / ".claude" / "settings.json"
    try:
        return json.loads(path.read_text()).get("disableAllHooks") is True
    except (OSError, ValueError, AttributeError):
        return False


def read_hook_events(directory: Path) -> list[dict]:
    """The hook payloads written since the last call, oldest first; each file is consumed."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".json"))
    except FileNotFoundError:
        return []
    events = []
    for name in names:
        path = directory / name
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            payload = None
        path.unlink(missing_ok=True)
        if isinstance(payload, dict) and payload.get("hook_event_name") in HOOK_EVENTS:
            events.append(payload)
    return events

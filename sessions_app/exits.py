"""Why an agent ended, in words a person can act on: what its exit status means and, when it died within seconds of
starting (a missing API key, a bad flag, a program that is not there), the last lines it printed."""

from __future__ import annotations

import re
import signal

from sessions_app.mirror import ESCAPES

# An agent that ends this soon after its start most likely never ran: its last lines say why.
EARLY_SECONDS = 30.0
LAST_LINES = 3
HISTORY_LINES = 50
LINE_CHARS = 160
# What tmux itself draws in a dead pane kept by remain-on-exit: not the agent's words.
TMUX_DEAD_LINE = re.compile(r"^Pane is dead \(")
MEANINGS = {
    126: "the command was found but cannot be executed",
    127: "command not found",
}


def exit_meaning(exit_status: int | None) -> str:
    """What a shell's exit status says beyond its number ("" when it says nothing more)."""
    if exit_status is None:
        return ""
    if exit_status in MEANINGS:
        return MEANINGS[exit_status]
    if exit_status > 128:
        try:
            return f"killed by {signal.Signals(exit_status - 128).name}"
        except ValueError:
            return ""
    return ""


def last_lines(screen: str, count: int = LAST_LINES) -> list[str]:
    """The last non-blank rows of a screen, without escapes or tmux's own dead-pane line, each cut to LINE_CHARS."""
    rows = [ESCAPES.sub("", row).strip() for row in screen.splitlines()]
    return [row[:LINE_CHARS] for row in rows if row and not TMUX_DEAD_LINE.match(row)][-count:]


def ended_reason(reason: str, exit_status: int | None, alive_seconds: float | None, screen: str) -> str:
    """The reason an ended session shows: the signal's own, the exit status's meaning, and for an early death how
    soon it came and the last lines on its screen."""
    meaning = exit_meaning(exit_status)
    said = f"{reason}: {meaning}" if meaning and meaning not in reason else reason
    if alive_seconds is None or alive_seconds > EARLY_SECONDS:
        return said
    said += f"; it ended {alive_seconds:.0f} s after it started"
    lines = last_lines(screen)
    if lines:
        said += "; its last lines: " + " ⏎ ".join(lines)
    return said

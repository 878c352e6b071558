"""How rules see a captured screen: its lines without box borders, trailing spaces and the blank rows below.

Pure functions shared by status rules, input-line (composer) rules and dialog parsing, so all three read a screen
the same way.
"""

from __future__ import annotations

import re

_BORDERS = "│┃║"
_BORDER_LEFT = re.compile(rf"^[ \t]*[{_BORDERS}][ \t]?")
_BORDER_RIGHT = re.compile(rf"[ \t]*[{_BORDERS}]$")

# A full-width horizontal rule, or the top/bottom edge of a rounded box.
HORIZONTAL_RULE = r"[╭╰]?[─━]{8,}[╮╯]?"


def screen_lines(screen: str) -> list[str]:
    """The screen's lines as rules see them: box borders and trailing spaces gone, trailing blank lines dropped.

    Only spaces and tabs are stripped: str.strip() would also eat a no-break space, which some input lines draw
    after their prompt mark.
    """
    # The worker runs this for every pane it polls: whole-list steps, and the border test only on a screen with one.
    lines = [raw.rstrip(" \t\r") for raw in screen.split("\n")]
    if any(border in screen for border in _BORDERS):
        lines = [_unbordered(line) if line else line for line in lines]
    while lines and not lines[-1].strip(" \t"):
        lines.pop()
    return lines


def _unbordered(line: str) -> str:
    if line[-1] in _BORDERS or line.lstrip(" \t")[:1] in _BORDERS:
        return _BORDER_RIGHT.sub("", _BORDER_LEFT.sub("", line))
    return line


def screen_tail(screen: str, count: int) -> list[str]:
    """screen_lines(screen)[-count:], cutting only the screen's last rows: most status rules read the bottom lines
    alone, and the worker asks this of every busy pane at every tick."""
    rows = screen.rstrip(" \t\r\n").rsplit("\n", count)
    tail = [row.rstrip(" \t\r") for row in rows[-count:]]
    if any(border in screen for border in _BORDERS):
        tail = [_unbordered(line) if line else line for line in tail]
        if tail and not tail[-1].strip(" \t"):
            # a row of borders alone is blank too: the rows above it may be needed
            return screen_lines(screen)[-count:]
    return tail if tail != [""] else []

"""tmux control mode (`tmux -C`), as pure functions: the lines a control client reads, turned into values, and the
commands it writes, built from a browser terminal's keystrokes. sessions_app.terminal runs them.

A control client reads one line per notification: `%output %PANE DATA` (the pane's output, every byte below 0x20
and the backslash written as a three-digit octal escape), `%layout-change @WINDOW LAYOUT ...` (a size changed),
`%exit [REASON]`, and a reply to each command it sent between `%begin TIME NUMBER FLAGS` and `%end` (or `%error`)
with the same time and number. FLAGS is 1 for this client's own commands; tmux also writes a block for the
attach itself (FLAGS 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sessions_app.tmux import check_pane_id

# The bytes of one send-keys command; a control client's command line may be long, but a paste is better in pieces.
INPUT_CHUNK_BYTES = 256
OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")
# The pane facts a viewer's first picture needs, in the order `snapshot` reads them.
PANE_FACTS = "#{pane_width} #{pane_height} #{cursor_x} #{cursor_y} #{cursor_flag} #{alternate_on} #{keypad_cursor_flag}"


@dataclass(frozen=True)
class Output:
    pane_id: str
    data: bytes


@dataclass(frozen=True)
class Begin:
    number: str
    ours: bool


@dataclass(frozen=True)
class End:
    number: str
    error: bool


@dataclass(frozen=True)
class LayoutChanged:
    window_id: str


@dataclass(frozen=True)
class Exited:
    reason: str


@dataclass(frozen=True)
class Other:
    """A notification Chorus does not use (%session-changed, %window-add, ...)."""

    line: bytes


@dataclass(frozen=True)
class Text:
    """A line that is no notification: inside a reply block, a line of the reply."""

    line: bytes


def unescape(data: bytes) -> bytes:
    """%output's data as the pane's program wrote it."""
    return OCTAL_ESCAPE.sub(lambda match: bytes([int(match.group(1), 8) & 0xFF]), data)


def parse_line(line: bytes):
    """One line a control client read (without its newline), as a value."""
    if not line.startswith(b"%"):
        return Text(line)
    name, _, rest = line.partition(b" ")
    if name == b"%output":
        pane, _, data = rest.partition(b" ")
        return Output(pane.decode("ascii", "replace"), unescape(data))
    if name in (b"%begin", b"%end", b"%error"):
        fields = rest.split(b" ")
        if len(fields) == 3:
            number = fields[1].decode("ascii", "replace")
            if name == b"%begin":
                return Begin(number, ours=fields[2] == b"1")
            return End(number, error=name == b"%error")
    if name == b"%layout-change":
        return LayoutChanged(rest.partition(b" ")[0].decode("ascii", "replace"))
    if name == b"%exit":
        return Exited(rest.decode("utf-8", "replace"))
    return Other(line)


def input_commands(pane_id: str, text: str) -> list[str]:
    """The send-keys commands that type `text` into the pane byte for byte: each UTF-8 byte as a hexadecimal key
    (`send-keys -H`), so nothing is a key name, a flag or tmux syntax (";", quotes, "#{...}"), and ESC, C-c or
    Enter reach the program as the bytes a terminal sends for them."""
    check_pane_id(pane_id)
    data = text.encode("utf-8", "surrogateescape")
    return [
        f"send-keys -H -t {pane_id} " + " ".join(f"{byte:02x}" for byte in data[start : start + INPUT_CHUNK_BYTES])
        for start in range(0, len(data), INPUT_CHUNK_BYTES)
    ]


def resize_command(pane_id: str, columns: int, rows: int) -> str:
    """The command that makes the pane's window this size (tmux then sets that window's window-size to manual)."""
    check_pane_id(pane_id)
    return f"resize-window -t {pane_id} -x {int(columns)} -y {int(rows)}"


def facts_command(pane_id: str) -> str:
    return f"display-message -p -t {check_pane_id(pane_id)} '{PANE_FACTS}'"


def capture_command(pane_id: str) -> str:
    return f"capture-pane -p -e -t {check_pane_id(pane_id)}"


@dataclass(frozen=True)
class PaneFacts:
    width: int
    height: int
    cursor_x: int
    cursor_y: int
    cursor_visible: bool
    alternate: bool
    application_cursor: bool


def parse_facts(reply: list[bytes]) -> PaneFacts:
    """The reply to facts_command."""
    values = [int(value) for value in b" ".join(reply).split()]
    width, height, x, y, visible, alternate, keypad = values
    return PaneFacts(width, height, x, y, visible == 1, alternate == 1, keypad == 1)


def snapshot(facts: PaneFacts, screen: list[bytes]) -> bytes:
    """What a terminal of the pane's size needs to show the pane as it is now: the captured rows (with their
    colours), the cursor where it is, and the modes that change what keys send or where output goes."""
    modes = b"\x1b[?1049h" if facts.alternate else b"\x1b[?1049l"
    modes += b"\x1b[?1h" if facts.application_cursor else b"\x1b[?1l"
    rows = b"\r\n".join(row + b"\x1b[0m" for row in screen[: facts.height])
    cursor = b"\x1b[%d;%dH" % (facts.cursor_y + 1, facts.cursor_x + 1)
    visibility = b"\x1b[?25h" if facts.cursor_visible else b"\x1b[?25l"
    return b"\x1b[0m" + modes + b"\x1b[H\x1b[2J" + rows + cursor + visibility

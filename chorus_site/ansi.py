"""A terminal screen as HTML: tmux's `capture-pane -e` text (SGR escape sequences) turned into escaped text and
spans, one self-contained line at a time, so a page can show the last lines alone.

Pure functions. The 16 standard colours become classes (`f1`, `b4`, ...) so the stylesheet owns the palette;
256-colour and truecolor values become inline colours. Every other escape or control sequence is dropped.
"""

from __future__ import annotations

import dataclasses
import re
from html import escape

# CSI ... final byte; OSC ... BEL or ST (hyperlinks, titles); any other two-byte escape; lone control characters.
_TOKEN = re.compile(
    r"\x1b\[(?P<params>[0-9;:?<=>]*)[ -/]*(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b.?"
    r"|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]"
)
_CUBE = (0, 95, 135, 175, 215, 255)


@dataclasses.dataclass(frozen=True)
class Style:
    """The graphic state: colours are None (the terminal's default), an int 0-15 (a palette class) or "#rrggbb"."""

    fg: int | str | None = None
    bg: int | str | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False
    hidden: bool = False
    strike: bool = False


DEFAULT = Style()


@dataclasses.dataclass(frozen=True)
class Line:
    text: str  # what the line says, without any markup
    html: str  # the same, escaped, in spans that open and close within the line


BLANK = Line("", "")


def colour_256(index: int) -> int | str:
    """A 256-colour palette index as a palette class (0-15) or an RGB hex value."""
    if index < 16:
        return index
    if index < 232:
        index -= 16
        r, g, b = _CUBE[index // 36], _CUBE[(index // 6) % 6], _CUBE[index % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    level = 8 + 10 * (index - 232)
    return f"#{level:02x}{level:02x}{level:02x}"


def _extended(params: list[list[int]], i: int) -> tuple[int | str | None, int]:
    """The colour of a 38/48 parameter at params[i] and how many parameters it used. Handles both forms:
    `38;5;N` / `38;2;R;G;B` and the colon form `38:5:N` / `38:2:[space]:R:G:B`."""
    head = params[i]
    if len(head) > 1:  # colon form: everything is in this one parameter
        rest = head[1:]
        if rest[:1] == [5] and len(rest) >= 2:
            return colour_256(rest[1] % 256), 1
        if rest[:1] == [2] and len(rest) >= 4:
            r, g, b = rest[-3:]
            return f"#{r % 256:02x}{g % 256:02x}{b % 256:02x}", 1
        return None, 1
    kind = params[i + 1][0] if i + 1 < len(params) else None
    if kind == 5 and i + 2 < len(params):
        return colour_256(params[i + 2][0] % 256), 3
    if kind == 2 and i + 4 < len(params):
        r, g, b = (params[i + n][0] % 256 for n in (2, 3, 4))
        return f"#{r:02x}{g:02x}{b:02x}", 5
    return None, len(params) - i


def apply_sgr(style: Style, raw: str) -> Style:
    """The style after one SGR sequence's parameters (`raw`, e.g. "1;38;5;208")."""
    params = [[int(n) if n.isdigit() else 0 for n in p.split(":")] for p in (raw.split(";") if raw else ["0"])]
    changes: dict = {}
    current = dict(vars(style))  # flat fields: a copy of the instance's dict (asdict would deep-copy)
    i = 0
    while i < len(params):
        code = params[i][0]
        step = 1
        if code == 0:
            current = dict(vars(DEFAULT))
            changes = {}
        elif code == 1:
            changes["bold"] = True
        elif code == 2:
            changes["dim"] = True
        elif code == 3:
            changes["italic"] = True
        elif code == 4:
            changes["underline"] = params[i][1:] != [0]
        elif code == 7:
            changes["inverse"] = True
        elif code == 8:
            changes["hidden"] = True
        elif code == 9:
            changes["strike"] = True
        elif code == 21:
            changes["underline"] = True
        elif code == 22:
            changes["bold"] = changes["dim"] = False
        elif code == 23:
            changes["italic"] = False
        elif code == 24:
            changes["underline"] = False
        elif code == 27:
            changes["inverse"] = False
        elif code == 28:
            changes["hidden"] = False
        elif code == 29:
            changes["strike"] = False
        elif 30 <= code <= 37:
            changes["fg"] = code - 30
        elif code == 39:
            changes["fg"] = None
        elif 40 <= code <= 47:
            changes["bg"] = code - 40
        elif code == 49:
            changes["bg"] = None
        elif 90 <= code <= 97:
            changes["fg"] = code - 90 + 8
        elif 100 <= code <= 107:
            changes["bg"] = code - 100 + 8
        elif code in (38, 48):
            colour, step = _extended(params, i)
            changes["fg" if code == 38 else "bg"] = colour
        i += step
    current.update(changes)
    return Style(**current)


def _open(style: Style) -> str:
    fg, bg = style.fg, style.bg
    classes, css = [], []
    if style.inverse:
        # Swapped; a default colour becomes the other default, which only the stylesheet knows.
        fg, bg = bg, fg
        if fg is None:
            classes.append("fi")
        if bg is None:
            classes.append("bi")
    if style.bold and isinstance(fg, int) and fg < 8:
        fg += 8  # like most terminals, bold brightens the first eight colours
    for value, prefix, prop in ((fg, "f", "color"), (bg, "b", "background-color")):
        if isinstance(value, int):
            classes.append(f"{prefix}{value}")
        elif isinstance(value, str):
            css.append(f"{prop}:{value}")
    for flag, name in (
        (style.bold, "sb"),
        (style.dim, "sd"),
        (style.italic, "si"),
        (style.underline, "su"),
        (style.strike, "ss"),
        (style.hidden, "sh"),
    ):
        if flag:
            classes.append(name)
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if css:
        attrs += f' style="{";".join(css)}"'
    return f"<span{attrs}>"


def render_lines(text: str) -> list[Line]:
    """Each line of an ANSI screen as plain text and as HTML; the style carries over from line to line."""
    lines: list[Line] = []
    style = DEFAULT
    plain: list[str] = []
    html: list[str] = []
    opened = False

    def write(chunk: str) -> None:
        nonlocal opened
        if not chunk:
            return
        if not opened and style != DEFAULT:
            html.append(_open(style))
            opened = True
        plain.append(chunk)
        html.append(escape(chunk, quote=False))

    def close() -> None:
        nonlocal opened
        if opened:
            html.append("</span>")
            opened = False

    for row in text.split("\n"):
        if not row:  # most of a screen: nothing to write, whatever the style
            lines.append(BLANK)
            continue
        position = 0
        for match in _TOKEN.finditer(row):
            write(row[position : match.start()])
            position = match.end()
            if match.group("final") == "m" and not (match.group("params") or "").startswith(("?", "<", "=", ">")):
                new = apply_sgr(style, match.group("params") or "")
                if new != style:
                    close()
                    style = new
        write(row[position:])
        close()
        lines.append(Line("".join(plain), "".join(html)))
        plain, html = [], []
    if lines and not lines[-1].text and text.endswith("\n"):
        lines.pop()
    return lines


def to_html(text: str) -> str:
    """The whole screen as HTML for a <pre>."""
    return "\n".join(line.html for line in render_lines(text))


def tail(lines: list[Line], count: int) -> list[Line]:
    """The last `count` lines that say something: a screen's blank rows would only take the room."""
    return [line for line in lines if line.text.strip()][-count:]


def _resets(params: str) -> bool:
    """Whether an SGR sequence with these parameters starts from the default style (0, or nothing, first)."""
    first = params.split(";", 1)[0].split(":", 1)[0]
    return not first.isdigit() or int(first) == 0


def screen_tail(text: str, count: int) -> list[Line]:
    """tail(render_lines(text), count), rendering only the rows it keeps: the style they start with comes from
    the SGR sequences of the rows above, from the last one that starts from the default style. An overview shows
    hundreds of tails, and a whole screen's rendering costs ten times its last lines'."""
    rows = text.split("\n")
    said = [i for i, row in enumerate(rows) if row and _TOKEN.sub("", row).strip()]
    if not said:
        return []
    first = said[-count:][0] if count > 0 else len(rows)
    carried = [
        match
        for row in rows[:first]
        for match in _TOKEN.finditer(row)
        if match.group("final") == "m" and not (match.group("params") or "").startswith(("?", "<", "=", ">"))
    ]
    start = next((i for i in range(len(carried) - 1, -1, -1) if _resets(carried[i].group("params") or "")), 0)
    prefix = "".join(match.group(0) for match in carried[start:])
    return tail(render_lines(prefix + "\n".join(rows[first:])), count)

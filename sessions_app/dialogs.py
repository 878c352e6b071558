# ruff: noqa: RUF001  -- the markers are the look-alike glyphs TUIs really draw (U+276F, U+203A), not typos for >.
"""Dialog-option rules: how an agent draws a dialog's options, so that status detection, delivery and the pages read
them alike.

A dialog is a question (a line ending in ? or :), numbered options ("1. Yes", "2) No") and a selection marker in
front of the highlighted one. Which characters mark the selection differs by agent (● is Gemini's radio button
but the start of every message elsewhere), so each profile carries its Dialog; the status rules that see a menu
are built from the same markers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sessions_app.screen import screen_lines

# What most TUIs draw in front of the highlighted option.
DEFAULT_MARKERS = "❯›>▸▶→»◉"


@dataclass(frozen=True)
class Menu:
    """The options of the dialog on screen, in order, as (key to press, label)."""

    options: tuple[tuple[str, str], ...]
    question: str = ""
    selected: str | None = None


@dataclass(frozen=True)
class Dialog:
    """markers: the characters in front of the selected option. region: how many non-blank lines from the bottom
    are looked at. question_lines: how many non-blank lines above the first option may hold the question (the
    nearest ending in `?`; right above the options, one ending in `:` too): some dialogs show the command or a
    hint between them. needs_selection: only a run with a highlighted option is a dialog (an agent whose every
    menu highlights one, and whose transcript holds numbered tips)."""

    markers: str = DEFAULT_MARKERS
    region: int = 20
    question_lines: int = 1
    needs_selection: bool = False
    _option: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.markers or any(ch.isspace() or ch.isalnum() for ch in self.markers):
            raise ValueError(f"markers must be one or more symbols (e.g. '❯›>'), not {self.markers!r}")
        if self.region < 1:
            raise ValueError(f"region must be a number of lines >= 1, not {self.region}")
        if self.question_lines < 1:
            raise ValueError(f"question_lines must be a number of lines >= 1, not {self.question_lines}")
        pattern = rf"^[ \t]*(?:(?P<marker>{self._marker_class})[ \t]*)?(?P<key>[1-9])[.)][ \t]+(?P<label>\S.*?)[ \t]*$"
        object.__setattr__(self, "_option", re.compile(pattern))

    @property
    def _marker_class(self) -> str:
        return "[" + "".join(re.escape(ch) for ch in self.markers) + "]"

    def is_option(self, line: str) -> bool:
        """Whether `line` is drawn like one of a dialog's numbered options."""
        return self._option.match(line) is not None

    def menu(self, screen: str | Sequence[str]) -> Menu | None:
        """The dialog's options near the bottom of a plain screen (or its screen_lines).

        Only a run that counts up from 1, of at least two options, is taken, and the last such run on screen: a
        numbered list in the transcript above does not pass for the dialog below it.
        """
        lines = screen_lines(screen) if isinstance(screen, str) else screen
        rows = [row for row in lines if row.strip(" \t")][-self.region :]
        runs: list[tuple[int, list[tuple[str, str]], str | None]] = []
        for index, row in enumerate(rows):
            match = self._option.match(row)
            if match is None:
                continue
            key, label = match.group("key"), match.group("label")
            selected = key if match.group("marker") else None
            if key == "1":
                runs.append((index, [(key, label)], selected))
            elif runs and int(key) == int(runs[-1][1][-1][0]) + 1:
                start, options, chosen = runs[-1]
                options.append((key, label))
                runs[-1] = (start, options, chosen or selected)
        runs = [run for run in runs if len(run[1]) >= 2 and (run[2] is not None or not self.needs_selection)]
        if not runs:
            return None
        start, options, selected = runs[-1]
        return Menu(options=tuple(options), question=self._question(rows[:start]), selected=selected)

    def _question(self, above: Sequence[str]) -> str:
        """The question over a menu: the line right above it ending in ? or :, else the nearest line ending in ?
        within `question_lines`."""
        nearest = [row.strip(" \t") for row in above[-self.question_lines :]][::-1]
        if nearest and nearest[0].endswith(("?", ":")):
            return nearest[0]
        return next((row for row in nearest if row.endswith("?")), "")

    def describe(self, screen: str | Sequence[str]) -> str:
        """The dialog on screen in words for a status reason: `asks "question": 1 Yes / 2 No` (empty: none)."""
        menu = self.menu(screen)
        if menu is None:
            return ""
        options = " / ".join(f"{key} {' '.join(label.split())}" for key, label in menu.options)
        return f"asks {menu.question!r}: {options}" if menu.question else f"options: {options}"

    def options(self, screen: str | Sequence[str]) -> list[tuple[str, str]]:
        """The (key, label) pairs of the dialog on screen; empty when there is none."""
        menu = self.menu(screen)
        return list(menu.options) if menu else []

    def menu_pattern(self) -> str:
        """A status rule's pattern: a numbered menu with a highlighted option right under a question or heading.

        The heading matters: a prompt the user typed as a numbered list is echoed with the same marker, but it
        follows a transcript line, not a question. Two consecutive options are required, one of them highlighted.
        """
        markers = self._marker_class
        option = rf"[ \t]*(?:{markers}[ \t]*)?\d{{1,2}}[.)][ \t]+\S[^\n]*\n"
        selected = rf"[ \t]*{markers}[ \t]*\d{{1,2}}[.)][ \t]+\S[^\n]*\n"
        return rf"^[^\n]*[?:][ \t]*\n(?:[ \t]*\n)?(?={option}{option})(?:{option})*?{selected}"


@dataclass(frozen=True)
class ScreenPermission:
    """A permission dialog as read on screen: the tool it asks for, the command's text, and the keys of its allowing
    and refusing options."""

    tool: str
    command: str
    allow_key: str | None
    deny_key: str | None


@dataclass(frozen=True)
class PermissionScreen:
    """How an agent without a permission hook draws its permission dialog (profile data): `question` (a regular
    expression) tells it from the agent's other dialogs, `command` finds the command's text (its group `command`)
    in the `region` lines above the options, `allow` and `deny` pick the allowing-once and refusing options by
    their labels. `tool` is the tool name approval rules see (Bash: a shell command)."""

    question: str
    command: str
    allow: str
    deny: str
    tool: str = "Bash"
    region: int = 30

    def read(self, dialog: Dialog, screen: str) -> ScreenPermission | None:
        """The permission dialog on a plain screen, read with the profile's dialog-option rules; None when the
        dialog on screen is another one (or none shows)."""
        lines = screen_lines(screen)
        menu = dialog.menu(lines)
        if menu is None:
            return None
        above = [row for row in lines if row.strip(" \t")][-self.region :]
        text = "\n".join(above)
        if re.search(self.question, text, re.MULTILINE) is None:
            return None
        found = re.search(self.command, text, re.MULTILINE)
        if found is None:
            return None

        def key(pattern: str) -> str | None:
            return next((k for k, label in menu.options if re.search(pattern, label)), None)

        return ScreenPermission(self.tool, found["command"].strip(), key(self.allow), key(self.deny))

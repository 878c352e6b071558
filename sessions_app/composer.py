"""Input-line (composer) rules: where an agent's input line is on its screen, and how an empty one looks, so a
person's draft is told apart from an empty input and never typed over.

A rule is data (regular expressions and a few numbers), so a new agent or a new look of an old one is a new rule.
The screen is read as sessions_app.screen.screen_lines sees it (box borders gone).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def _compiled(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} is not a valid regular expression: {exc}") from None


@dataclass(frozen=True)
class Composer:
    """How to find the input line and read what is typed in it.

    prompt: regex of the input's first line; its group `text` (else what follows the match) is the typed text.
      Searched from the bottom up in the last `region` lines; a line drawn like a dialog option is never it.
    above: regex the line right above the first line must match (the upper edge of a boxed input). Without it,
      an input with a `continuation` starts at the first of adjacent lines the prompt matches (one that marks
      every line).
    below: regex of the line that closes the input (the lower edge): the lines between are the draft's further
      lines. Without it, the following lines that match `continuation` (group `text`) are.
    placeholders: what an empty input shows instead of a draft: drawn dimmed, a plain capture reads it as text.
    footer: at most this many non-blank lines may follow the input (None: any); a prompt echoed in the transcript
      is followed by more.
    clears_on_submit: the input empties when a prompt is submitted, so an emptied line confirms a delivery and a
      line still holding the text means Enter did not take. False where the submitted line stays as the program's
      echo (a shell, aider): there the line says nothing about the submit.
    clear_keys: the tmux keys that empty the input line while the program is idle at it (a person's "Clear
      input"); empty: the profile offers no clearing.
    """

    prompt: str
    region: int = 15
    above: str | None = None
    below: str | None = None
    continuation: str | None = None
    placeholders: tuple[str, ...] = ()
    footer: int | None = None
    clears_on_submit: bool = True
    clear_keys: tuple[str, ...] = ()
    _prompt: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _above: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _below: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _continuation: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.region < 1:
            raise ValueError(f"region must be a number of lines >= 1, not {self.region}")
        if self.footer is not None and self.footer < 0:
            raise ValueError(f"footer must be a number of lines >= 0, not {self.footer}")
        object.__setattr__(self, "placeholders", tuple(self.placeholders))
        object.__setattr__(self, "clear_keys", tuple(self.clear_keys))
        for name in ("prompt", "above", "below", "continuation"):
            object.__setattr__(self, f"_{name}", _compiled(getattr(self, name), name))

    def draft(self, lines: Sequence[str], is_option: Callable[[str], bool] = lambda line: False) -> str | None:
        """The text typed in the input line: "" when it is empty (or shows a placeholder), None when the screen
        shows no such input line. `lines` are a screen's screen_lines."""
        for index in range(len(lines) - 1, max(0, len(lines) - self.region) - 1, -1):
            match = self._prompt.match(lines[index])
            if match is None or is_option(lines[index]) or not self._starts_here(lines, index):
                continue
            found = self._body(lines, index, _text(match))
            if found is None:
                continue
            body, after = found
            if self.footer is not None and sum(1 for line in after if line.strip(" \t")) > self.footer:
                continue
            text = "\n".join(line.strip(" \t") for line in body).strip()
            return "" if text in self.placeholders else text
        return None

    def _starts_here(self, lines: Sequence[str], index: int) -> bool:
        if self._above is not None:
            return index > 0 and self._above.match(lines[index - 1].strip(" \t")) is not None
        if self._continuation is None or index == 0:
            return True
        return self._prompt.match(lines[index - 1]) is None

    def _body(self, lines: Sequence[str], index: int, first: str) -> tuple[list[str], Sequence[str]] | None:
        """The draft's lines and the lines after the input, or None when the input is not closed."""
        rest = lines[index + 1 :]
        if self._below is not None:
            end = next((i for i, line in enumerate(rest) if self._below.match(line.strip(" \t"))), None)
            return None if end is None else ([first, *rest[:end]], rest[end + 1 :])
        body = [first]
        for line in rest:
            match = self._continuation.match(line) if self._continuation is not None else None
            if match is None:
                break
            body.append(_text(match))
        return body, rest[len(body) - 1 :]


def _text(match: re.Match[str]) -> str:
    if "text" in match.re.groupindex:
        return match.group("text") or ""
    return match.string[match.end() :]

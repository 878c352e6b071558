"""What a document's bytes say: hash, lines, title. Pure functions, shared by the scanner, the selectors and the
reactions to document events, so that everyone numbers lines the same way.

A line ends at "\\n" only (a "\\r" before it is dropped), as editors and `$EDITOR +N` count them; str.splitlines
would also split at form feeds and Unicode separators and disagree with the editor's line numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

TITLE_CHARS = 200

_ATX_H1 = re.compile(r"^ {0,3}#(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
# RST section adornment: one repeated punctuation character (docutils accepts any of these).
_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+\s*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")


@dataclasses.dataclass(frozen=True)
class Facts:
    """A file's content as the read model records it; `binary` files are not documents."""

    sha256: str
    size: int
    line_count: int
    title: str
    binary: bool = False


def decode(data: bytes) -> str:
    """Text of a document: UTF-8 (a byte-order mark dropped), undecodable bytes shown as U+FFFD, never an error."""
    return data.decode("utf-8-sig", errors="replace")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as an editor numbers them (line N is item N-1); a final line break ends the last
    line rather than starting an empty one."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def count_lines(data: bytes) -> int:
    """len(split_lines(decode(data))), counted on the bytes without decoding them."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def inspect(path: str, data: bytes) -> Facts:
    """The facts of one file's bytes; `path` chooses how the title is found."""
    digest = hashlib.sha256(data).hexdigest()
    if b"\0" in data:
        return Facts(sha256=digest, size=len(data), line_count=0, title="", binary=True)
    return Facts(sha256=digest, size=len(data), line_count=count_lines(data), title=title_of(path, decode(data)))


def title_of(path: str, text: str) -> str:
    """Markdown: the first level-1 heading (`# T`, or T underlined with `===`) outside code blocks;
    reStructuredText: the first section title; otherwise, and as the fallback, the first non-empty line."""
    lines = _skip_front_matter(split_lines(text[: 64 * 1024]))
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    found = None
    if suffix in ("md", "markdown"):
        found = _markdown_title(lines)
    elif suffix == "rst":
        found = _rst_title(lines)
    if found is None:
        found = next((line.strip() for line in lines if line.strip()), "")
    return found[:TITLE_CHARS]


def _skip_front_matter(lines: list[str]) -> list[str]:
    """YAML front matter (`---` ... `---` at the top) is metadata, not the first line of text."""
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return lines[index + 1 :]
    return lines


def _markdown_title(lines: list[str]) -> str | None:
    fence = None
    previous = ""
    for line in lines:
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1) == fence:
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            previous = ""
            continue
        heading = _ATX_H1.match(line)
        if heading and (heading.group(1) or "").strip():
            return heading.group(1).strip()
        if previous.strip() and _SETEXT_H1.match(line):
            return previous.strip()
        previous = line
    return None


def _rst_title(lines: list[str]) -> str | None:
    for index in range(1, len(lines)):
        text, under = lines[index - 1].strip(), lines[index]
        if not text or _RST_ADORNMENT.match(text) or not _RST_ADORNMENT.match(under):
            continue
        if len(under.rstrip()) >= len(text):
            return text
    return None

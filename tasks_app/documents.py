"""How tasks read documents: through documents_app's reads, so a reference can only name a recorded document inside
PROJECT_ROOT, read as it is now (documents_app.reading: no symbolic link, no file over the size limit), with lines
numbered as the document pages and editors number them (documents_app.content.split_lines)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from documents_app import reading
from documents_app import selectors as document_selectors
from documents_app.content import split_lines
from documents_app.errors import DocumentError


class DocumentUnavailable(Exception):
    """The path names no readable document under PROJECT_ROOT; the message says why."""


def normalise(path: str) -> str:
    """The document's id: relative to PROJECT_ROOT with '/' separators. An absolute path inside the project is
    accepted (what a shell completes); anything leaving the project is refused."""
    if isinstance(path, str) and Path(path).is_absolute():
        root = Path(settings.PROJECT_ROOT).resolve()
        try:
            path = Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            raise DocumentUnavailable(f"{path} is outside PROJECT_ROOT") from None
    try:
        return reading.normalise(path)
    except DocumentError as exc:
        raise DocumentUnavailable(str(exc)) from None


def read_text(path: str) -> str:
    """The current text of the recorded document `path`."""
    try:
        return document_selectors.document_text(path)
    except DocumentError as exc:
        raise DocumentUnavailable(str(exc)) from None


def read_lines(path: str) -> list[str]:
    """Every current line of the recorded document `path`."""
    return split_lines(read_text(path))


def first_lines(text: str, count: int) -> list[str]:
    """split_lines(text)[:count], without splitting (or looking at) the lines after those: a prompt quoting a few
    ranges of a long document needs only the lines up to its last range."""
    parts = text.split("\n", count)
    if len(parts) > count:
        parts.pop()  # the rest of the text, unsplit
    elif parts[-1] == "":
        parts.pop()  # a final line break ends the last line rather than starting an empty one
    if "\r" in text:
        parts = [part[:-1] if part.endswith("\r") else part for part in parts]
    return parts

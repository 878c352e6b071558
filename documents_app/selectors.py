"""Reads of documents for pages, the API, commands and other apps. Text always comes from the file as it is now
(documents_app.reading), never from the event log."""

from __future__ import annotations

import dataclasses
import hashlib

from django.db.models import QuerySet

from documents_app import reading
from documents_app.content import decode, split_lines
from documents_app.errors import DocumentError
from documents_app.models import Document


@dataclasses.dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclasses.dataclass(frozen=True)
class Excerpt:
    """Lines `start`..`end` of a document's file as it is now. `line_count` and `sha256` describe the whole
    file now; `stale` says that differs from what was last recorded (a scan or the watcher will catch up)."""

    document: Document
    start: int
    end: int
    line_count: int
    sha256: str
    lines: list[Line]

    @property
    def stale(self) -> bool:
        return self.sha256 != self.document.sha256

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def documents() -> QuerySet[Document]:
    return Document.objects.order_by("path")


def document(path: str) -> Document:
    return reading.locate(path)[0]


def document_excerpt(path: str, start: int | None = None, end: int | None = None) -> Excerpt:
    """Lines `start`..`end` (1-based, inclusive; the whole file by default) of the document at `path`.

    Raises DocumentNotFound for anything that is not a recorded document inside PROJECT_ROOT (nothing is read
    then), and DocumentError for a range outside the file."""
    current = reading.read_document(path)
    lines = split_lines(decode(current.data))
    first, last = reading.line_range(current.document.path, len(lines), start, end)
    return Excerpt(
        document=current.document,
        start=first,
        end=last,
        line_count=len(lines),
        sha256=hashlib.sha256(current.data).hexdigest(),
        lines=[Line(number, lines[number - 1]) for number in range(first, last + 1)],
    )


def document_lines(path: str, start: int | None = None, end: int | None = None) -> list[str]:
    """The text of lines `start`..`end` of the document at `path`, one string per line without its line break."""
    return [line.text for line in document_excerpt(path, start, end).lines]


def document_text(path: str) -> str:
    """The whole text of the document at `path` as its file holds it now (same checks as document_excerpt)."""
    return decode(reading.read_document(path).data)


def document_current_lines(path: str, sha256: str) -> list[str] | None:
    """The document's lines now, only if its file still holds the content that hashes to `sha256` (the hash its
    latest event recorded); None when the file is gone or has changed again since, which a later event will
    record. For reactions to a document's event: what the scanner has just read is served without reading the
    file again."""
    data = reading.lent(path, sha256)
    if data is None:
        try:
            data = reading.read_document(path).data
        except DocumentError:
            return None
        if hashlib.sha256(data).hexdigest() != sha256:
            return None
    return split_lines(decode(data))

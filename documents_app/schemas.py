"""API schemas of documents, also what the `documents` and `scan_documents` commands print with --json."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from documents_app.selectors import Excerpt
from events_app.schemas import LARGEST_INTEGER, BodyIn


class DocumentOut(Schema):
    path: str
    title: str
    kind: str = Field(description="markdown, restructuredtext or text")
    line_count: int
    sha256: str
    size: int
    added_at: datetime
    changed_at: datetime
    version: int


class LineOut(Schema):
    number: int
    text: str


class DocumentTextOut(DocumentOut):
    start: int
    end: int
    current_line_count: int = Field(description="lines of the file now")
    current_sha256: str = Field(description="sha256 of the file now")
    stale: bool = Field(description="the file differs from what was last recorded; a scan will record it")
    lines: list[LineOut]

    @classmethod
    def of(cls, excerpt: Excerpt) -> DocumentTextOut:
        return cls(
            **DocumentOut.model_validate(excerpt.document).model_dump(),
            start=excerpt.start,
            end=excerpt.end,
            current_line_count=excerpt.line_count,
            current_sha256=excerpt.sha256,
            stale=excerpt.stale,
            lines=[LineOut.model_validate(line) for line in excerpt.lines],
        )


class SkipNoteOut(Schema):
    path: str
    reason: str


class ScanOut(Schema):
    added: int
    changed: int
    removed: int
    unchanged: int
    skipped: int
    skipped_files: list[SkipNoteOut]
    errors: list[str]
    seconds: float


class OpenIn(BodyIn):
    line: int = Field(1, ge=1, le=LARGEST_INTEGER, description="the line to open at, 1-based")


class EditorOut(Schema):
    opened: bool = Field(description="started in tmux; otherwise run `command` yourself")
    command: str
    tmux_session: str
    pane_id: str
    attach_command: str
    reason: str

"""Usage readers: the tokens an agent spent per turn, read from its own records (a transcript, a rollout file).

A profile names its reader (`usage_reader = "<name>"`); the readers are registered by name in
sessions_app.agents.USAGE_READERS. A reader says which files hold a session's records and what one JSON line of
them counts; `read_new` reads a file incrementally from a cursor (offset, inode, and the reader's memo), so a tick
costs the new bytes only, a line still being written waits for the next read, and no byte is counted twice.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One read takes at most this much of a file; the rest waits for the next tick, so a huge backlog never stalls one.
CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Turn:
    """The tokens of one model request. input excludes cache reads and writes, which are counted apart."""

    model: str
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0


@dataclass
class Cursor:
    """How far a file has been counted: its inode and the offset after the last complete line, and the reader's
    memo (what it must remember across reads, e.g. the last message counted). Kept in the usage events."""

    path: str
    inode: int = 0
    offset: int = 0
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass
class Read:
    """What one incremental read found: its turns, the cursor after them, and what was wrong (counted)."""

    turns: list[Turn] = field(default_factory=list)
    cursor: Cursor | None = None
    bytes_read: int = 0
    bad_lines: int = 0
    restarted: str = ""


@dataclass(frozen=True)
class SessionRef:
    """What a reader knows of a session when it looks for its records."""

    name: str
    cwd: str
    pane_id: str
    pid: int | None
    created_at: float


class UsageReader(ABC):
    """name: what a profile's `usage_reader` says. Every agent the readers know appends JSON lines."""

    name: str

    @abstractmethod
    def files(self, session: SessionRef, environment: Mapping[str, str] | None = None) -> list[Path]:
        """The files that hold `session`'s records now (more may come: the worker keeps following the ones seen)."""

    @abstractmethod
    def turn(self, record: dict, memo: dict[str, Any]) -> Turn | None:
        """What one JSON line counts, if anything; `memo` carries what the reader remembers between lines (JSON
        values, replaced, never changed in place: the cursor a read started from stays as it was)."""

    def __repr__(self) -> str:
        return f"<usage reader {self.name}>"


def read_new(reader: UsageReader, cursor: Cursor) -> Read:
    """The turns in the bytes of `cursor.path` written since the cursor.

    A file whose inode changed (rotated: the path names another file) is read from its start with the reader's memo
    kept, so a line it carries over is still recognised. A file shorter than the offset was cut: the offset moves to
    its end, as the bytes before the cut were counted already. A line that is not JSON is skipped and counted; a last
    line without its newline is being written and is left for the next read.
    """
    result = Read(cursor=cursor)
    try:
        with open(cursor.path, "rb", buffering=0) as file:
            info = os.fstat(file.fileno())
            offset = cursor.offset
            if cursor.inode and info.st_ino != cursor.inode:
                offset, result.restarted = 0, "rotated"
            elif info.st_size < offset:
                offset, result.restarted = info.st_size, "truncated"
            if info.st_size == offset:
                result.cursor = Cursor(cursor.path, info.st_ino, offset, cursor.memo)
                return result
            file.seek(offset)
            # what is there (not a CHUNK_BYTES buffer each time: allocating it cost more than a turn's bytes)
            data = file.read(min(CHUNK_BYTES, info.st_size - offset))
    except OSError:
        return result
    complete = data.rfind(b"\n") + 1
    memo = dict(cursor.memo)  # readers replace its values, never change them in place: the cursor stays as it was
    for line in data[:complete].splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            result.bad_lines += 1
            continue
        if isinstance(record, dict) and (turn := reader.turn(record, memo)) is not None:
            result.turns.append(turn)
    result.bytes_read = complete
    result.cursor = Cursor(cursor.path, info.st_ino, offset + complete, memo)
    return result


def count(value: Any) -> int:
    """A token count from an agent's record: a non-negative integer, anything else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

"""Reading a recorded document as its file holds it now, confined to PROJECT_ROOT: the selectors, the services and
other apps read documents through this module only. It writes nothing.

A path must name a recorded document inside the tree and resolve to itself (no symbolic link on the way), or it is
not found and nothing is read. The file is then opened beneath the root, component by component without following
a link (documents_app.discovery.read), so a directory swapped for a link after that check is refused, not followed;
it must be a regular file within CHORUS_DOCUMENT_MAX_BYTES.

While the scanner appends a change it has just read, `just_read` lends those bytes to whatever reads that document
inside the append (the reactions to its event), so a change is not read from disk twice.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import posixpath
from collections.abc import Mapping
from typing import NamedTuple

from django.conf import settings

from documents_app import discovery
from documents_app.errors import DocumentError, DocumentNotFound, LinesOutside
from documents_app.models import Document

# What the scanner lends while it appends: each path's sha256 and bytes.
_lent: contextvars.ContextVar[Mapping[str, tuple[str, bytes]] | None] = contextvars.ContextVar(
    "chorus_document_just_read", default=None
)


def normalise(path: str) -> str:
    """`path` as a document's id: relative to PROJECT_ROOT, "/"-separated, without "." or ".." steps. Anything
    that is not such a path inside the tree (absolute, escaping with "..", empty) is not found."""
    if not isinstance(path, str) or not path or "\0" in path or path.startswith("/"):
        raise DocumentNotFound(f"no document {path!r} under PROJECT_ROOT")
    normal = posixpath.normpath(path)
    if normal in (".", "..") or normal.startswith("../"):
        raise DocumentNotFound(f"no document {path!r} under PROJECT_ROOT")
    return normal


def locate(path: str) -> tuple[Document, str]:
    """The recorded document at `path` and its file's absolute path, after checking that the file really is that
    document's: inside PROJECT_ROOT with no symbolic link on the way. Raises DocumentNotFound otherwise, without
    reading anything."""
    normal = normalise(path)
    document = Document.objects.filter(pk=normal).first()
    if document is None:
        raise DocumentNotFound(f"no document {path!r} under PROJECT_ROOT (scan_documents finds new ones)")
    root = os.path.realpath(settings.PROJECT_ROOT)
    absolute = os.path.join(root, normal)
    try:
        resolved = os.path.realpath(absolute)
    except OSError:
        # A link on the way was removed while it was being resolved: the path is changing under us.
        raise DocumentNotFound(f"document {normal!r} is being moved; it is not read") from None
    if resolved != absolute:
        raise DocumentNotFound(f"document {normal!r} is now a symbolic link; it is not read")
    return document, absolute


class Current(NamedTuple):
    """A recorded document and what its file holds now."""

    document: Document
    absolute: str
    data: bytes


def read_document(path: str) -> Current:
    document, absolute = locate(path)
    try:
        data, _stat = discovery.read(absolute, settings.CHORUS_DOCUMENT_MAX_BYTES)
    except FileNotFoundError:
        raise DocumentNotFound(f"document {document.path!r} was deleted") from None
    except discovery.Unreadable as exc:
        raise DocumentError(f"document {document.path!r} cannot be read: {exc}") from None
    return Current(document, absolute, data)


def line_range(path: str, line_count: int, start: int | None, end: int | None) -> tuple[int, int]:
    """The inclusive 1-based range `start`..`end`, each defaulting to the file's first / last line, checked
    against the file's `line_count`; the whole of an empty file is the empty range (1, 0)."""
    first = 1 if start is None else start
    last = line_count if end is None else end
    if start is not None and end is not None:
        asked = f"line {first}" if first == last else f"lines {first}-{last}"
    else:
        asked = f"line {first if start is not None else last}"
    if (start is not None and first < 1) or (end is not None and last < 1):
        raise DocumentError(f"{asked}: line numbers start at 1")
    if start is not None and end is not None and first > last:
        raise DocumentError(f"{asked}: the range ends before it starts")
    if (start is not None and first > line_count) or last > line_count:
        verb = "are" if asked.startswith("lines") else "is"
        noun = "line" if line_count == 1 else "lines"
        raise LinesOutside(f"{asked} {verb} outside {path}, which has {line_count} {noun}")
    return first, last


@contextlib.contextmanager
def just_read(path: str, sha256: str, data: bytes):
    """Within the block, `data` (hashing to `sha256`) is what the file at `path` holds: the scanner has just read
    it and records it now."""
    with just_read_many({path: (sha256, data)}):
        yield


@contextlib.contextmanager
def just_read_many(documents: Mapping[str, tuple[str, bytes]]):
    """`just_read` for a batch the scanner records in one append: path -> (sha256, data)."""
    token = _lent.set(documents)
    try:
        yield
    finally:
        _lent.reset(token)


def lent(path: str, sha256: str) -> bytes | None:
    """The bytes of `path` the scanner has just read, if it is recording them now and they hash to `sha256`."""
    found = (_lent.get() or {}).get(path)
    return found[1] if found is not None and found[0] == sha256 else None

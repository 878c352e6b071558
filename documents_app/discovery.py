"""Which files under PROJECT_ROOT are documents: the configured globs, minus what .gitignore files exclude, minus
directories that are never a project's documents. Also the one way a document's bytes are read from disk.

Ignore rules follow git: every .gitignore applies to its own directory and below, a deeper file's match wins over
a shallower one's, `.git/info/exclude` ranks below the root .gitignore, and nothing under an excluded directory can
be included again (such directories are not even entered). Symbolic links are never followed or listed, so a
document is always a regular file inside the tree.

Every file and directory under the root is opened beneath it (open_beneath): one component at a time, relative to
the descriptor of the directory before, never through a symbolic link. An agent that swaps a directory for a link
out of the tree between a check and an open (agents write inside the root) makes the open fail, never lead outside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pathspec
from django.conf import settings

from events_app.store import MAX_STREAM_ID

# Never a project's documents, whatever .gitignore says, and often huge (a .git or node_modules of 100k files).
SKIP_DIRECTORIES = frozenset({".git", "node_modules", ".venv"})
# An ignore file larger than this is not read (no real one comes near).
IGNORE_FILE_MAX_BYTES = 8 * 1024 * 1024

_ROOT = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_DIRECTORY = _ROOT | os.O_NOFOLLOW
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Unreadable(Exception):
    """A file that cannot be a document now; the message says why (for the skip note or the removal reason)."""


@dataclasses.dataclass(frozen=True)
class Config:
    root: Path
    globs: tuple[str, ...]
    max_bytes: int
    data_dir: Path

    @classmethod
    def current(cls) -> Config:
        return cls(
            root=Path(settings.PROJECT_ROOT).resolve(),
            globs=tuple(settings.CHORUS_DOCUMENT_GLOBS),
            max_bytes=settings.CHORUS_DOCUMENT_MAX_BYTES,
            data_dir=Path(settings.DATA_DIR).resolve(),
        )

    def matches(self, path: str) -> bool:
        return _glob_spec(self.globs).check_file(path).include is True

    def absolute(self, path: str) -> str:
        return os.path.join(self.root, path)


@functools.lru_cache(maxsize=8)
def _glob_spec(globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # gitignore syntax: "*.md" matches at any depth, "docs/*.txt" only under the root's docs/.
    return pathspec.GitIgnoreSpec.from_lines(globs)


@dataclasses.dataclass(frozen=True)
class Found:
    """A file that is a document if its content allows (not binary, not too large)."""

    path: str
    absolute: str
    stat: os.stat_result


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file the globs chose that cannot be a document; `reason` is shown to the user."""

    path: str
    reason: str


class Rules:
    """The ignore rules in force in one directory: (directory prefix, spec) pairs, shallowest first."""

    def __init__(self, specs: tuple[tuple[str, pathspec.GitIgnoreSpec], ...] = ()):
        self.specs = specs

    @classmethod
    def for_root(cls, root: Path) -> Rules:
        rules = cls()
        for source in (".git/info/exclude", ".gitignore"):
            rules = rules.extended(root, "", source)
        return rules

    def extended(self, root: Path, prefix: str, source: str) -> Rules:
        """These rules plus the ignore file `source` under `root` (read beneath it; none if it cannot be read),
        whose patterns are relative to `prefix` ("" or "dir/")."""
        try:
            data, _stat = _read_beneath(root, source, IGNORE_FILE_MAX_BYTES)
        except (OSError, Unreadable):
            return self
        spec = pathspec.GitIgnoreSpec.from_lines(data.decode("utf-8", errors="replace").splitlines())
        return Rules((*self.specs, (prefix, spec))) if spec.patterns else self

    def ignored(self, path: str, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        for prefix, spec in reversed(self.specs):
            verdict = spec.check_file(path[len(prefix) :] + suffix).include
            if verdict is not None:
                return verdict
        return False


def _skipped_name(path: str) -> str | None:
    """Why this path cannot name a document (it is the event stream's id), or None."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if len(path) > MAX_STREAM_ID:
        return f"its path is longer than {MAX_STREAM_ID} characters"
    return None


def walk(config: Config) -> Iterator[Found | Skipped]:
    """Every file under the root that the globs choose and no ignore rule excludes, with its stat. Each directory
    is listed through a descriptor opened beneath the root, so a directory swapped for a link is not entered."""
    data_dir = str(config.data_dir)
    pending: list[tuple[str, Rules]] = [("", Rules.for_root(config.root))]
    while pending:
        prefix, rules = pending.pop()
        directory = os.path.join(config.root, prefix)
        with _listing(config.root, prefix) as entries:
            if prefix and any(entry.name == ".gitignore" for entry in entries):
                rules = rules.extended(config.root, prefix, prefix + ".gitignore")
            for entry in entries:
                path, absolute = prefix + entry.name, os.path.join(directory, entry.name)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if (
                            entry.name not in SKIP_DIRECTORIES
                            and absolute != data_dir
                            and not rules.ignored(path, True)
                        ):
                            pending.append((path + "/", rules))
                        continue
                    if (
                        not entry.is_file(follow_symlinks=False)
                        or not config.matches(path)
                        or rules.ignored(path, False)
                    ):
                        continue
                    reason = _skipped_name(path)
                    yield Skipped(path, reason) if reason else Found(path, absolute, entry.stat(follow_symlinks=False))
                except OSError:
                    continue


@contextlib.contextmanager
def _listing(root: Path, prefix: str) -> Iterator[list[os.DirEntry]]:
    """The entries of the directory `prefix` ("" or "dir/") under `root`, listed through a descriptor opened beneath
    it and kept open for the block (their stat() is relative to it). A directory removed, made unreadable or swapped
    for a link meanwhile lists nothing: it holds no documents we could read."""
    try:
        fd = open_beneath(root, prefix[:-1], _DIRECTORY) if prefix else os.open(root, _ROOT)
    except OSError:
        yield []
        return
    try:
        with os.scandir(fd) as listing:
            entries = list(listing)
    except OSError:
        entries = []
    try:
        yield entries
    finally:
        os.close(fd)


def eligible(config: Config, path: str) -> str | None:
    """Why `path` (relative, normalised) is not a document candidate, or None when it is one.

    The same decision as walk() makes, for one path: used when the watcher reports a single file."""
    if not config.matches(path):
        return "it does not match CHORUS_DOCUMENT_GLOBS"
    parts = path.split("/")
    rules = Rules.for_root(config.root)
    directory = str(config.root)
    for depth, name in enumerate(parts[:-1], start=1):
        prefix = "/".join(parts[:depth]) + "/"
        directory = os.path.join(directory, name)
        if name in SKIP_DIRECTORIES or directory == str(config.data_dir):
            return f"{prefix} is never searched for documents"
        if rules.ignored(prefix[:-1], True):
            return f"{prefix} is ignored by .gitignore"
        if os.path.islink(directory):
            return f"{prefix} is a symbolic link"
        rules = rules.extended(config.root, prefix, prefix + ".gitignore")
    if rules.ignored(path, False):
        return "it is ignored by .gitignore"
    return _skipped_name(path)


def open_beneath(root: str | Path, path: str, flags: int = _FILE) -> int:
    """A descriptor of `path` (relative, "/"-separated, no "." or ".." steps) under the directory `root`, opened one
    component at a time relative to the one before, each with O_NOFOLLOW (O_DIRECTORY for the directories). A
    symbolic link anywhere on the way fails the open, however recently it was swapped in (NotADirectoryError for a
    directory, ELOOP for the last component), so nothing outside `root` is ever opened. The caller closes it."""
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise FileNotFoundError(errno.ENOENT, "not a path beneath the root", path)
    fd = os.open(root, _ROOT)
    try:
        for part in parts[:-1]:
            child = os.open(part, _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=8)
def _resolved(root: str) -> str:
    return os.path.realpath(root)


def read(absolute: str, max_bytes: int, *, root: str | Path | None = None) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file under `root` (PROJECT_ROOT unless said) and its stat as it was read; raises
    FileNotFoundError when it is gone and Unreadable when it is there but cannot be a document. Opened beneath the
    root (open_beneath), so never through a symbolic link; never blocks on a FIFO, never reads more than
    `max_bytes` + 1 bytes."""
    top = (_resolved(str(settings.PROJECT_ROOT)) if root is None else os.fspath(root)).rstrip("/")
    if not absolute.startswith(top + "/"):
        raise Unreadable(f"it is not under {top or '/'}")
    return _read_beneath(top or "/", absolute[len(top) + 1 :], max_bytes)


def _read_beneath(root: str | Path, path: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    try:
        fd = open_beneath(root, path)
    except (FileNotFoundError, NotADirectoryError):
        # NotADirectoryError: a directory on the way is a file or a symbolic link now.
        raise FileNotFoundError(os.path.join(root, path)) from None
    except OSError as exc:
        raise Unreadable(
            "it is a symbolic link" if exc.errno == errno.ELOOP else f"unreadable: {exc.strerror}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("it is not a regular file")
        if info.st_size > max_bytes:
            raise Unreadable(too_large(info.st_size, max_bytes))
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max(min(max_bytes + 1 - size, 1 << 20), 1))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise Unreadable(f"unreadable: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise Unreadable(too_large(len(data), max_bytes))
    return data, info


def too_large(size: int, max_bytes: int) -> str:
    return f"larger than CHORUS_DOCUMENT_MAX_BYTES ({size:,} > {max_bytes:,} bytes)"

"""Which files under PROJECT_ROOT are documents: the configured globs, minus what .gitignore files exclude, minus
directories that are never a project's documents. Also the one way a document's bytes are read from disk.

Ignore rules follow git: every .gitignore applies to its own directory and below, a deeper file's match wins over
a shallower one's, `.git/info/exclude` ranks below the root .gitignore, and nothing under an excluded directory can
be included again (such directories are not even entered). Symbolic links are never followed or listed, so a
document is always a regular file inside the tree.
"""

from __future__ import annotations

import dataclasses
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
        for source in (root / ".git" / "info" / "exclude", root / ".gitignore"):
            rules = rules.extended("", source)
        return rules

    def extended(self, prefix: str, source: Path) -> Rules:
        """These rules plus the ignore file `source`, whose patterns are relative to `prefix` ("" or "dir/")."""
        try:
            lines = source.read_bytes().decode("utf-8", errors="replace").splitlines()
        except OSError:
            return self
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
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
    """Every file under the root that the globs choose and no ignore rule excludes, with its stat."""
    data_dir = str(config.data_dir)
    pending: list[tuple[str, str, Rules]] = [(str(config.root), "", Rules.for_root(config.root))]
    while pending:
        directory, prefix, rules = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            # A directory removed or made unreadable meanwhile holds no documents we could read.
            continue
        if prefix and any(entry.name == ".gitignore" for entry in entries):
            rules = rules.extended(prefix, Path(directory) / ".gitignore")
        for entry in entries:
            path = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRECTORIES and entry.path != data_dir and not rules.ignored(path, True):
                        pending.append((entry.path, path + "/", rules))
                    continue
                if not entry.is_file(follow_symlinks=False) or not config.matches(path) or rules.ignored(path, False):
                    continue
                reason = _skipped_name(path)
                yield Skipped(path, reason) if reason else Found(path, entry.path, entry.stat(follow_symlinks=False))
            except OSError:
                continue


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
        rules = rules.extended(prefix, Path(directory) / ".gitignore")
    if rules.ignored(path, False):
        return "it is ignored by .gitignore"
    return _skipped_name(path)


def read(absolute: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file and its stat as it was read; raises FileNotFoundError when it is gone and
    Unreadable when it is there but cannot be a document. Never follows a symbolic link, never blocks on a
    FIFO, never reads more than `max_bytes` + 1 bytes."""
    try:
        fd = os.open(absolute, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(absolute) from None
    except OSError as exc:
        # ELOOP: the last component is a symbolic link (O_NOFOLLOW).
        raise Unreadable(
            "it is a symbolic link" if os.path.islink(absolute) else f"unreadable: {exc.strerror}"
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

"""The one place tasks_app runs git: for the audit of each dispatch (PROJECT_ROOT's HEAD commit, or the HEAD of the
worktree a task works in; tasks_app.worktrees runs git for the worktrees themselves), where the repository's hooks
live (the path claims' pre-commit guard), and the status, blobs and diff that attribute changes to tasks
(tasks_app.changes reads their output; this module only runs git).

`git_head()` asks the current reader, `rev_parse_head` unless `head_reader(...)` swapped it for a block; every other
call goes through `run`, which `git_runner(...)` swaps the same way: the seams that keep the fast tests from starting
git (the integration tests run the real one).
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from tasks_app.worktrees import has_worktree

if TYPE_CHECKING:
    from tasks_app.models import Task

HeadReader = Callable[[], "str | None"]
# git's arguments (and what to give its standard input) -> its standard output, or None when it failed (not a
# repository, an unknown commit, a timeout)
Runner = Callable[[Sequence[str], "bytes | None"], "bytes | None"]
TIMEOUT = 30
# A status never takes the index lock (git would refresh the index and write it back), so an agent's own git
# commands never meet a lock held by Chorus; a path is a path, never a pattern (a file named `*.py` is one file).
ENVIRONMENT = {"GIT_OPTIONAL_LOCKS": "0", "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C"}


def run_git(args: Sequence[str], stdin: bytes | None = None) -> bytes | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(settings.PROJECT_ROOT), *args],
            input=stdin,
            capture_output=True,
            timeout=TIMEOUT,
            env={**os.environ, **ENVIRONMENT},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


_runner: Runner = run_git


def run(args: Sequence[str], stdin: bytes | None = None) -> bytes | None:
    return _runner(args, stdin)


@contextlib.contextmanager
def git_runner(runner: Runner) -> Iterator[None]:
    """Run git's calls (all but HEAD's, see head_reader) with `runner` within the block."""
    global _runner
    previous, _runner = _runner, runner
    try:
        yield
    finally:
        _runner = previous


def rev_parse_head(directory: str | None = None) -> str | None:
    """The HEAD commit of `directory` (default PROJECT_ROOT), or None when it is not in a git repository (or has
    no commit yet)."""
    try:
        result = subprocess.run(
            ["git", "-C", directory or str(settings.PROJECT_ROOT), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


_reader: HeadReader = rev_parse_head
_worktree_reader: Callable[[str], str | None] = rev_parse_head


def git_head(task: Task | None = None) -> str | None:
    """PROJECT_ROOT's HEAD; for a task working in a worktree of its own, that worktree's (its branch's work)."""
    if task is not None and has_worktree(task):
        return _worktree_reader(task.worktree_path)
    return _reader()


@contextlib.contextmanager
def head_reader(reader: HeadReader) -> Iterator[None]:
    """Read HEAD with `reader` within the block, PROJECT_ROOT's and worktrees' alike, in every thread (the race
    tests assign from several)."""
    global _reader, _worktree_reader
    previous = _reader, _worktree_reader
    _reader, _worktree_reader = reader, lambda _directory: reader()
    try:
        yield
    finally:
        _reader, _worktree_reader = previous


def hooks_directory() -> Path | None:
    """Where git runs PROJECT_ROOT's repository hooks from (core.hooksPath respected), or None outside a
    repository."""
    try:
        result = subprocess.run(
            ["git", "-C", str(settings.PROJECT_ROOT), "rev-parse", "--path-format=absolute", "--git-path", "hooks"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def prefix() -> str | None:
    """Where PROJECT_ROOT is inside its working tree ("" at its top, "sub/dir/" below it), or None when it is in
    no working tree (change attribution is then off). A status names paths from the top of the working tree."""
    output = run(["rev-parse", "--is-inside-work-tree", "--show-prefix"])
    if output is None or not output.startswith(b"true"):
        return None
    return output.decode().split("\n")[1].strip()


def git_dir() -> Path | None:
    output = run(["rev-parse", "--absolute-git-dir"])
    return Path(output.decode().strip()) if output else None


def status(prefix: str = "") -> bytes | None:
    """`git status --porcelain=v1 -z` of PROJECT_ROOT, every untracked file named (not only its directory), paths
    from the top of the working tree; `prefix` (see prefix()) limits it to PROJECT_ROOT's part of the tree."""
    return run(
        ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", *(["--", "."] if prefix else [])]
    )


def numstat(base: str | None, paths: Sequence[str] = (), *, to: str | None = None) -> bytes | None:
    """`git diff --numstat -z` of the working tree (or commit `to`) against commit `base` (None: HEAD), for
    `paths` (none: every path)."""
    revisions = [base or "HEAD", *([to] if to else [])]
    return run(["diff", "--numstat", "-z", "--no-renames", "--relative", *revisions, "--", *(paths or ["."])])


def _requests(revision: str, paths: Sequence[str]) -> tuple[list[str], bytes]:
    named = [path for path in paths if "\n" not in path]
    return named, "".join(f"{revision}:{path}\n" for path in named).encode()


def _answer_end(output: bytes | bytearray, at: int) -> int | None:
    """Where the answer starting at `at` ends (a header line, then the object and a line break if it was found),
    or None if `output` does not hold all of it yet."""
    end = output.find(b"\n", at)
    if end < 0:
        return None
    header = output[at:end].split()
    size = int(header[2]) + 1 if len(header) == 3 and header[2].isdigit() else 0
    return end + 1 + size if len(output) >= end + 1 + size else None


def _parse_batch(paths: Sequence[str], named: Sequence[str], output: bytes | None) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = dict.fromkeys(paths)
    at = 0
    for path in named:
        end = _answer_end(output, at) if output is not None else None
        if end is None:
            break
        header = output[at : output.index(b"\n", at)].split()
        if len(header) == 3 and header[1] == b"blob":
            found[path] = bytes(output[end - 1 - int(header[2]) : end - 1])
        at = end
    return found


def blobs(revision: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The contents of `paths` (from the top of the working tree) at `revision`, in one `git cat-file --batch`;
    None for a path not in it. A diff of a few files against HEAD this way reads no index (a `git diff` refreshes
    the whole index first, as long as a status takes on a large checkout)."""
    named, request = _requests(revision, paths)
    if not named:
        return dict.fromkeys(paths)
    return _parse_batch(paths, named, run(["cat-file", "--batch"], request))


class BlobReader:
    """`git cat-file --batch` kept open between the watch's rounds, so that a round asks for a few blobs without
    starting a process (HEAD and the objects are looked up afresh for each request). Any trouble (git gone, no
    answer within TIMEOUT) closes it, and those blobs are unknown; the next call starts another. With git swapped
    (`git_runner`), it asks through the swap, one call each time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None

    def blobs(self, revision: str, paths: Sequence[str]) -> dict[str, bytes | None]:
        named, request = _requests(revision, paths)
        if not named or _runner is not run_git:
            return blobs(revision, paths)
        try:
            process = self._process or self._start()
            os.write(process.stdin.fileno(), request)
            return _parse_batch(paths, named, self._answers(process, len(named)))
        except (OSError, TimeoutError):
            self.close()
            return dict.fromkeys(paths)

    def _start(self) -> subprocess.Popen:
        self._process = subprocess.Popen(
            ["git", "-C", str(settings.PROJECT_ROOT), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            env={**os.environ, **ENVIRONMENT},
        )
        return self._process

    @staticmethod
    def _answers(process: subprocess.Popen, count: int) -> bytes:
        output, at, deadline = bytearray(), 0, time.monotonic() + TIMEOUT
        for _answer in range(count):
            while (end := _answer_end(output, at)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([process.stdout], [], [], remaining)[0]:
                    raise TimeoutError("git cat-file did not answer")
                chunk = os.read(process.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise OSError("git cat-file ended")
                output += chunk
            at = end
        return bytes(output)

    def close(self) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.kill()
            self._process.wait()
            self._process = None


def diff(base: str | None, paths: Sequence[str]) -> str:
    """The unified diff of `paths` in the working tree against commit `base` (None: HEAD); "" when there is none."""
    if not paths:
        return ""
    output = run(["diff", "--no-color", "--no-ext-diff", "--no-renames", "--relative", base or "HEAD", "--", *paths])
    return output.decode("utf-8", errors="replace") if output else ""

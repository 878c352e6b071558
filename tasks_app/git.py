"""The one place tasks_app runs git: PROJECT_ROOT's HEAD commit for the audit of each dispatch, and the status,
numstat and diff that attribute changes to tasks (tasks_app.changes reads their output; this module only runs git).

`git_head()` asks the current reader, `rev_parse_head` unless `head_reader(...)` swapped it for a block; every other
call goes through `run`, which `git_runner(...)` swaps the same way: the seams that keep the fast tests from starting
git (the integration tests run the real one).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from django.conf import settings

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


def rev_parse_head() -> str | None:
    """PROJECT_ROOT's HEAD commit, or None when it is not in a git repository (or has no commit yet)."""
    output = run_git(["rev-parse", "--verify", "--quiet", "HEAD"])
    return (output.decode().strip() or None) if output is not None else None


_reader: HeadReader = rev_parse_head


def git_head() -> str | None:
    return _reader()


@contextlib.contextmanager
def head_reader(reader: HeadReader) -> Iterator[None]:
    """Read HEAD with `reader` within the block, in every thread (the race tests assign from several)."""
    global _reader
    previous, _reader = _reader, reader
    try:
        yield
    finally:
        _reader = previous


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


def blobs(revision: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The contents of `paths` (from the top of the working tree) at `revision`, in one `git cat-file --batch`;
    None for a path not in it. A diff of a few files against HEAD this way reads no index (a `git diff` refreshes
    the whole index first, as long as a status takes on a large checkout)."""
    named = [path for path in paths if "\n" not in path]
    if not named:
        return dict.fromkeys(paths)
    output = run(["cat-file", "--batch"], "".join(f"{revision}:{path}\n" for path in named).encode())
    found: dict[str, bytes | None] = dict.fromkeys(paths)
    at = 0
    for path in named:
        if output is None:
            break
        end = output.index(b"\n", at)
        header = output[at:end].split()
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = output[end + 1 : end + 1 + size]
            at = end + 2 + size
        else:
            at = end + 1
    return found


def diff(base: str | None, paths: Sequence[str]) -> str:
    """The unified diff of `paths` in the working tree against commit `base` (None: HEAD); "" when there is none."""
    if not paths:
        return ""
    output = run(["diff", "--no-color", "--no-ext-diff", "--no-renames", "--relative", base or "HEAD", "--", *paths])
    return output.decode("utf-8", errors="replace") if output else ""

"""The one place tasks_app runs git for the audit of each dispatch: PROJECT_ROOT's HEAD commit, or the HEAD of the
worktree a task works in (tasks_app.worktrees runs git for the worktrees themselves); and where the repository's
hooks live, for the path claims' pre-commit guard.

`git_head()` asks the current reader, `rev_parse_head` unless `head_reader(...)` swapped it for a block: the seam
that keeps the fast tests from starting git (the integration tests run the real one).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from tasks_app.worktrees import has_worktree

if TYPE_CHECKING:
    from tasks_app.models import Task

HeadReader = Callable[[], "str | None"]


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

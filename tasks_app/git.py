"""The one place tasks_app runs git: PROJECT_ROOT's HEAD commit, for the audit of each dispatch, and where its
repository's hooks live, for the path claims' pre-commit guard.

`git_head()` asks the current reader, `rev_parse_head` unless `head_reader(...)` swapped it for a block: the seam
that keeps the fast tests from starting git (the integration tests run the real one).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

HeadReader = Callable[[], "str | None"]


def rev_parse_head() -> str | None:
    """PROJECT_ROOT's HEAD commit, or None when it is not in a git repository (or has no commit yet)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(settings.PROJECT_ROOT), "rev-parse", "--verify", "--quiet", "HEAD"],
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

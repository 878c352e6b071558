"""Which files a task changed: git's status and numstat read as data, the rule that gives a change to a task (or
shows it shared), and the diff a review shows. Parsing and the rule are pure; `review_diff` and `untracked_lines`
read the checkout (through tasks_app.git and documents_app's confined reads).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.conf import settings

from documents_app import discovery
from tasks_app import git, selectors, worktrees

UNTRACKED = "??"
# a file's lines counted against HEAD in the worker's round, when the two versions hold at most this many together
COMPARED_LINES_MAX = 20_000
# what a review shows of one file's diff, and of an untracked file's text, at most
DIFF_MAX_BYTES = 1_000_000
# A path's state in the working tree as one round of the watch saw it: its status code, and its size and
# modification time (a file edited again keeps its code "M"; its stat tells). None when the stat is unknown.
Signature = tuple[str, "int | None", "int | None"]


# --- git's output as data -----------------------------------------------------------------------------------------


def parse_status(data: bytes, prefix: str = "") -> dict[str, str]:
    """`git status --porcelain=v1 -z --no-renames` as {path: XY}, paths relative to PROJECT_ROOT (git names them
    from the top of the working tree; `prefix` is where PROJECT_ROOT is in it, see git.prefix). A record is
    "XY path" ended by NUL; with renames on, a rename's record is followed by its old path, which is skipped."""
    found: dict[str, str] = {}
    records = data.split(b"\0")
    index = 0
    while index < len(records):
        record = records[index]
        index += 1
        if len(record) < 4:
            continue
        code, path = record[:2].decode(), record[3:].decode("utf-8", errors="surrogateescape")
        if code[0] in "RC":
            index += 1
        if path.startswith(prefix):
            found[path[len(prefix) :]] = code
    return found


def parse_numstat(data: bytes) -> dict[str, tuple[int | None, int | None]]:
    """`git diff --numstat -z --no-renames` as {path: (lines added, lines removed)}; None for a binary file's."""
    counts: dict[str, tuple[int | None, int | None]] = {}
    for record in data.split(b"\0"):
        parts = record.split(b"\t", 2)
        if len(parts) != 3 or not parts[2]:
            continue
        added, removed = (int(n) if n.isdigit() else None for n in parts[:2])
        counts[parts[2].decode("utf-8", errors="surrogateescape")] = (added, removed)
    return counts


def line_changes(old: bytes | None, new: bytes | None) -> tuple[int | None, int | None]:
    """Lines added and removed from `old` to `new` (None: the file is not there), as a numstat counts them; None
    for a binary file (a NUL byte) or one too long to compare quickly."""
    if any(b"\0" in data for data in (old, new) if data):
        return None, None
    before, after = ((data or b"").splitlines() for data in (old, new))
    if len(before) + len(after) > COMPARED_LINES_MAX:
        return None, None
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed, added = removed + i2 - i1, added + j2 - j1
    return added, removed


def changed_paths(before: Mapping[str, Signature], now: Mapping[str, Signature]) -> set[str]:
    """The paths whose state differs between two rounds: newly dirty, dirty again (another size or time), or clean
    again. A stat unknown on one side (None) compares the status code only."""
    changed = set(before.keys() ^ now.keys())
    for path in before.keys() & now.keys():
        (code_a, size_a, time_a), (code_b, size_b, time_b) = before[path], now[path]
        if code_a != code_b or (None not in (time_a, time_b) and (size_a, time_a) != (size_b, time_b)):
            changed.add(path)
    return changed


# --- the attribution rule -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Share:
    """A change given to `task_id`; `shared_with`: the other tasks at work when it was made (empty: its own)."""

    task_id: int
    shared_with: tuple[int, ...]


def attribute(at_work: Iterable[int]) -> list[Share]:
    """Who a change seen while the tasks `at_work` were in progress belongs to: the one task, when there was one;
    otherwise each of them, shown as shared with the others, never silently given to one. None at work: nobody."""
    tasks = sorted(set(at_work))
    return [Share(task_id, tuple(other for other in tasks if other != task_id)) for task_id in tasks]


def project_path(path: str, cwd: str | None = None) -> str | None:
    """A path a hook reported (absolute, or relative to the agent's working directory `cwd`) relative to
    PROJECT_ROOT, or None when it is outside (a change Chorus does not attribute)."""
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    root = Path(os.path.realpath(settings.PROJECT_ROOT))
    absolute = Path(path) if os.path.isabs(path) else Path(cwd or root) / path
    try:
        return Path(os.path.normpath(absolute)).relative_to(root).as_posix()
    except ValueError:
        return None


def attribution_off() -> str | None:
    """Why change attribution is off (PROJECT_ROOT is in no git repository), or None when it is on."""
    if git.prefix() is None:
        return f"{settings.PROJECT_ROOT} is not in a git repository: changes are not attributed to tasks"
    return None


# --- what a review shows --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Line:
    kind: str  # "add", "del", "ctx", "hunk" (a hunk's header) or "note" (git's "\ No newline at end of file")
    text: str
    old: int | None = None
    new: int | None = None


@dataclasses.dataclass
class FileDiff:
    path: str
    lines: list[Line]
    shared_with: tuple[int, ...] = ()
    added: int | None = None
    removed: int | None = None


def parse_diff(text: str) -> dict[str, list[Line]]:
    """A unified diff (`git diff`, without renames) as {path: its numbered lines}: a comment names a line of the
    new file (`new`), or of the old one for a removed line."""
    files: dict[str, list[Line]] = {}
    lines: list[Line] = []
    old = new = 0
    for raw in text.splitlines():
        if raw.startswith("diff --git "):
            lines = files.setdefault(raw.rsplit(" b/", 1)[-1], [])
        elif raw.startswith("@@"):
            ranges = raw.split("@@")[1].split()
            old, new = (abs(int(r.split(",")[0])) for r in ranges[:2])
            lines.append(Line("hunk", raw))
        elif raw.startswith(("+++ ", "--- ", "index ", "new file", "deleted file", "old mode", "new mode", "similar")):
            continue
        elif raw.startswith("+"):
            lines.append(Line("add", raw[1:], new=new))
            new += 1
        elif raw.startswith("-"):
            lines.append(Line("del", raw[1:], old=old))
            old += 1
        elif raw.startswith("\\"):
            lines.append(Line("note", raw))
        elif lines or raw.startswith(" "):
            lines.append(Line("ctx", raw[1:], old=old, new=new))
            old, new = old + 1, new + 1
    return files


def working_bytes(path: str) -> bytes | None:
    """A file's bytes in the working tree, read confined to PROJECT_ROOT; None when it cannot be read (gone, a link,
    too large)."""
    root = os.path.realpath(settings.PROJECT_ROOT)
    try:
        return discovery.read(os.path.join(root, path), DIFF_MAX_BYTES)[0]
    except (OSError, discovery.Unreadable):
        return None


def untracked_lines(path: str) -> list[Line] | None:
    """A new file's lines as a diff shows them (all added); None when it cannot be read."""
    data = working_bytes(path)
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace").splitlines()
    return [
        Line("hunk", f"@@ -0,0 +1,{len(text)} @@ new file"),
        *(Line("add", t, new=n) for n, t in enumerate(text, 1)),
    ]


def review_base(task) -> str | None:
    """The commit a task's review diff starts from: the HEAD of its start snapshot, else of its last dispatch."""
    start = selectors.change_snapshot(task.id, "start")
    if start is not None:
        return start.git_head
    dispatch = selectors.dispatches(task.id, 1).first()
    return dispatch.git_head_at_dispatch if dispatch is not None else None


def review_diff(task) -> list[FileDiff]:
    """The diff a review shows of the files the task changed. For the shared checkout: the working tree against the
    HEAD its start snapshot recorded (else its dispatch's), each file marked with the other tasks that changed it
    too (its diff then holds their changes as well); a file no diff names is new (untracked: all its lines added)
    or unchanged now (no lines). For a task with a worktree of its own: its branch against its base."""
    branch = worktrees.branch_diff(task) if task.dispatch_id else None  # nothing to review before its first dispatch
    if branch is not None:  # a task with a worktree of its own: its branch against its base
        parsed = parse_diff(branch.text)
        return [FileDiff(f.path, parsed.get(f.path, []), (), f.added, f.removed) for f in branch.files]
    files = selectors.changed_files(task.id)
    if not files:
        return []
    parsed = parse_diff(git.diff(review_base(task), [f.path for f in files]))
    prefix = git.prefix() or ""
    status = parse_status(git.status(prefix) or b"", prefix)
    shown = []
    for change in files:
        lines = parsed.get(change.path)
        if lines is None and status.get(change.path) == UNTRACKED:
            lines = untracked_lines(change.path)
        shown.append(FileDiff(change.path, lines or [], tuple(change.shared_with), change.added, change.removed))
    return shown


def review_message(task_id: int, comments: Iterable[tuple[str, int, str]]) -> str:
    """The one message a request for changes queues for the task's session: each comment with its file:line."""
    lines = [f"Review of task #{task_id}: changes requested. Please address each comment, then finish the task again."]
    lines += [f"- {path}:{line}: {text}" for path, line, text in comments]
    return "\n".join(lines)

"""Services of path claims: globs held by a task (and so by its session) while it is at work or in review, taken
when it goes to work (its declared claims), by its agent (claim_paths, or an edit auto-claimed), and released when
it leaves work and review (a policy) or by its agent (release_paths); and the check an agent's file tool makes
before an edit (Claude Code's PreToolUse hook, `chorus agent pre-edit`).

Race-safe on every database: all live claims are one stream (`claim`/all), and a claim is appended at the stream's
version read before the live claims it was checked against, so of two overlapping claims racing only one is
taken; the other sees the stream moved, checks again and is refused with the holder named.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from events_app import store
from events_app.errors import ReadOnly
from events_app.store import ConcurrencyError
from tasks_app import claims, git, lifecycle, selectors
from tasks_app import events as ev
from tasks_app.errors import TaskConflict, TaskError
from tasks_app.models import PathClaim, Task
from tasks_app.selectors import CLAIMS_STREAM
from tasks_app.worktrees import WORKTREE

# The longest file path an edit check takes.
PATH_MAX = 4096
# The tool an EditDenied names for a commit the pre-commit guard refused.
COMMIT = "git commit"
# Appends that lose a race re-read the live claims and check again, this many times.
TAKE_ATTEMPTS = 10


class ClaimConflict(TaskConflict):
    """A claim overlaps one another task holds; the message names the holder."""


def checked_globs(globs: object) -> list[str]:
    """The claim patterns, normalised; TaskError (400) saying what is wrong with one."""
    try:
        return claims.normalised(globs)
    except claims.BadClaim as exc:
        raise TaskError(str(exc)) from None


def holder(claim: PathClaim) -> str:
    return f"task {claim.task_id} (session {claim.session})"


def _refusal(clash: list[tuple[str, PathClaim]]) -> str:
    return "; ".join(
        f"{glob} is claimed by {holder(claim)}" + ("" if glob == claim.glob else f" as {claim.glob}")
        for glob, claim in clash
    )


def claims_take(task: Task, session: str, globs: Iterable[str], *, source: str, reason: str) -> list[str]:
    """Take the (normalised) patterns for the task; those it holds already are kept as they are. ClaimConflict,
    with every holder named and nothing written, when one overlaps another task's live claim. Returns the patterns
    newly taken."""
    wanted = list(globs)
    for _attempt in range(TAKE_ATTEMPTS):
        version = selectors.claims_version()
        live = selectors.live_claims()
        held = {claim.glob for claim in live if claim.task_id == task.id}
        new = [glob for glob in wanted if glob not in held]
        if not new:
            return []
        clash = selectors.claim_clashes(task.id, new, live)
        if clash:
            raise ClaimConflict(_refusal(clash))
        taken = ev.PathsClaimed(task_id=task.id, session=session, globs=new, source=source, reason=reason[:500])
        try:
            store.append("claim", CLAIMS_STREAM, version, [taken])
        except ConcurrencyError:
            continue  # a claim was taken or released meanwhile: check against it
        return new
    raise ClaimConflict("the project's claims kept changing while this one was checked; try again")


def claims_release(task_id: int, globs: Iterable[str] | None = None, *, reason: str) -> list[str]:
    """Release the task's live claims (all of them by default); TaskConflict naming what it holds when it holds
    none of `globs`. Returns the patterns released."""
    held = [claim.glob for claim in selectors.live_claims(task_id=task_id)]
    if globs is None:
        released = held
    else:
        asked = list(globs)
        released = [glob for glob in asked if glob in held]
        missing = [glob for glob in asked if glob not in held]
        if missing:
            holds = ", ".join(held) or "none"
            raise TaskConflict(f"task {task_id} holds no claim {', '.join(missing)} (it holds: {holds})")
    if released:
        store.append("claim", CLAIMS_STREAM, None, [ev.PathsReleased(task_id=task_id, globs=released, reason=reason)])
    return released


def claims_apply(task: Task) -> bool:
    """Whether the task's declared claims are taken on the shared checkout: not for a task working in a git worktree
    of its own (5e.4), whose edits are in its own copy and come back by a merge."""
    return task.isolation != WORKTREE


def claims_follow_declared(task: Task, added: list[str], removed: list[str]) -> None:
    """The task's declared claims changed while it holds its claims: the new ones are taken at once (refused when
    they overlap another task's), the withdrawn ones released."""
    if not lifecycle.holds_claims(task.status) or not task.session or not claims_apply(task):
        return
    claims_take(task, task.session, added, source="person", reason=f"declared by task {task.id}")
    live = {claim.glob for claim in selectors.live_claims(task_id=task.id)}
    gone = [glob for glob in removed if glob in live]
    if gone:
        claims_release(task.id, gone, reason="no longer declared")


def claims_on_assignment(task: Task, session: str) -> None:
    """Inside an assignment's transaction: the task's declared claims become live as it goes to work."""
    if task.claims and claims_apply(task):
        claims_take(task, session, task.claims, source="declared", reason=f"declared by task {task.id}")


# --- the pre-commit guard -----------------------------------------------------------------------------------------

# Run by git before a commit. Only an agent's commit is checked (a pane with Chorus's credential, and the `chorus`
# twin beside it); a person's commit, or one where Chorus cannot answer, goes ahead.
PRE_COMMIT_MARK = "# Chorus path claims (tasks install-pre-commit)"
PRE_COMMIT_HOOK = f"""#!/bin/sh
{PRE_COMMIT_MARK}: refuses an agent's commit touching paths another task claims.
c="$CHORUS_AGENT_CREDENTIAL"; t="${{c%/*}}/bin/chorus"; [ -n "$c" ] && [ -x "$t" ] || exit 0
top="$(git rev-parse --show-toplevel)" || exit 0
git diff --cached --name-only -z | exec "$t" agent pre-commit --top "$top"
"""


def pre_commit_install() -> Path:
    """Write the pre-commit guard into PROJECT_ROOT's repository; TaskError outside one, TaskConflict when a hook
    of someone else's is there (Chorus never overwrites it). Returns the hook's path."""
    directory = git.hooks_directory()
    if directory is None:
        raise TaskError(f"{settings.PROJECT_ROOT} is not in a git repository: no pre-commit guard (claims still work)")
    hook = directory / "pre-commit"
    if hook.exists() and PRE_COMMIT_MARK not in hook.read_text(errors="replace"):
        raise TaskConflict(f"{hook} is another pre-commit hook: Chorus leaves it alone (add its check there yourself)")
    directory.mkdir(parents=True, exist_ok=True)
    hook.write_text(PRE_COMMIT_HOOK)
    hook.chmod(0o755)
    return hook


# --- the check before an edit -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EditVerdict:
    allowed: bool
    message: str
    # the pattern taken for the session's task (CHORUS_CLAIMS_AUTO), if one was
    claimed: str | None = None


def project_paths(file_path: str, cwd: str = "") -> list[str]:
    """The paths relative to PROJECT_ROOT an edit of `file_path` (absolute, or relative to `cwd`) changes: the
    path as named and, when a link on the way leads elsewhere inside the root, where it leads. Empty for a path
    outside the root. Nothing is opened: links are read (realpath), never the files."""
    root = Path(os.path.realpath(settings.PROJECT_ROOT))
    named = Path(os.path.normpath(os.path.join(cwd or root, file_path)))
    found = []
    for candidate in (named, Path(os.path.realpath(named))):
        try:
            relative = candidate.relative_to(root).as_posix()
        except ValueError:
            continue  # outside the root: no claim covers it
        if relative not in (".", *found):
            found.append(relative)
    return found


def _literal(path: str) -> str:
    """A claim pattern covering exactly this path, whatever characters its name has."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in path)


def _may_edit(claim: PathClaim, session: str, task: Task | None) -> bool:
    """A claim does not stop its own task's session; nor the session a task in review came from while that session
    has no other task (a person asking for a last change)."""
    if task is not None:
        return claim.task_id == task.id
    return claim.session == session


def _refusing_claim(session: str, task: Task | None, path: str, live: list[PathClaim]) -> PathClaim | None:
    """The first live claim covering `path` that the session (working on `task`) may not change: the one rule of
    the edit check, the commit check and the warning after the fact."""
    return next((c for c in live if claims.covers(c.glob, path) and not _may_edit(c, session, task)), None)


def _refusing(session: str, task: Task | None, paths: list[str], live: list[PathClaim]):
    """(path, claim) for the first of `paths` a claim covers that the session may not change, or None."""
    for path in paths:
        claim = _refusing_claim(session, task, path, live)
        if claim is not None:
            return path, claim
    return None


def commit_check(session: str, files: list[list[str]]) -> list[EditVerdict]:
    """The refusals of a commit by the session's agent changing `files` (project_paths of each): one per file a
    claim of another task covers, each recorded as EditDenied. Nothing is auto-claimed: the change is made."""
    task = selectors.task_of_session(session)
    live = selectors.live_claims()
    found = [_refusing(session, task, paths, live) for paths in files]
    return [_denied(session, COMMIT, task, *refusing) for refusing in found if refusing is not None]


def edit_check(session: str, tool: str, paths: list[str]) -> EditVerdict:
    """May the session's agent change `paths` (project_paths of one file) with its file tool `tool`? Refused,
    recorded as EditDenied, when a claim of another task covers one; an unclaimed path is claimed for the session's
    task at work when CHORUS_CLAIMS_AUTO is on. Run inside the caller's transaction."""
    if not paths:
        return EditVerdict(True, "outside the project's root: no claim applies")
    task = selectors.task_of_session(session)
    live = selectors.live_claims()
    refusing = _refusing(session, task, paths, live)
    if refusing is not None:
        return _denied(session, tool, task, *refusing)
    if task is None:
        return EditVerdict(True, f"{paths[0]} is not claimed by another task (session {session} has no task at work)")
    if any(claim.task_id == task.id and claims.covers(claim.glob, path) for claim in live for path in paths):
        return EditVerdict(True, f"{paths[0]} is claimed by your task {task.id}")
    if not settings.CHORUS_CLAIMS_AUTO:
        return EditVerdict(True, f"{paths[0]} is not claimed")
    pattern = _literal(paths[-1])
    try:
        claims_take(task, session, [pattern], source="auto", reason=f"edited with {tool}")
    except ClaimConflict as exc:
        return EditVerdict(False, f"{exc}: call claim_paths for another part, or ask the person (ask_human)")
    except ReadOnly:
        return EditVerdict(True, f"{paths[-1]} is not claimed (Chorus runs read-only: nothing is claimed)")
    return EditVerdict(True, f"{paths[-1]} is now claimed for your task {task.id}", claimed=pattern)


def _denied(session: str, tool: str, task: Task | None, path: str, claim: PathClaim) -> EditVerdict:
    denied = ev.EditDenied(
        task_id=task.id if task else None,
        tool=tool,
        path=path,
        glob=claim.glob,
        holder_task=claim.task_id,
        holder_session=claim.session,
    )
    with contextlib.suppress(ReadOnly):  # read-only: refused all the same, only not recorded
        store.append("agent", session, None, [denied])
    yours = f"your task {task.id}" if task else "you (no task at work)"
    what, leave = ("commit", f"Unstage it (git restore --staged {path})") if tool == COMMIT else ("edit", "Leave it")
    message = (
        f"Chorus refused this {what}: {path} is claimed by {holder(claim)} ({claim.glob}), not by {yours}. "
        f"{leave}; if your task needs it, call claim_paths (refused while the other task holds it) "
        "or ask the person (ask_human)."
    )
    return EditVerdict(False, message)


def claims_breached(task_id: int, paths: Iterable[str]) -> list[ev.ClaimedPathChanged]:
    """Record each of `paths`, changed by task `task_id` as git noticed it, that another task's live claim covers
    (ClaimedPathChanged on the task's session's `agent` stream): the warning after the fact for an edit no hook
    guarded. Whether a claim is breached is the edit check's rule (`_refusing_claim`, for the session and its task at
    work): a claim of another task in review from the same session, which the edit check lets it change, is none.
    Once per task, path and holder. Run inside the caller's transaction."""
    task = selectors.task(task_id)
    if not task.session:
        return []
    told = {(d.path, d.holder_task) for d in selectors.edit_denials(task_id=task_id, limit=None) if d.tool == "git"}
    live = [claim for claim in selectors.live_claims() if claim.task_id != task_id]
    at_work = selectors.task_of_session(task.session)
    found = []
    for path in paths:
        claim = _refusing_claim(task.session, at_work, path, live)
        if claim is None or (path, claim.task_id) in told:
            continue
        told.add((path, claim.task_id))
        found.append(
            ev.ClaimedPathChanged(
                task_id=task_id, path=path, glob=claim.glob, holder_task=claim.task_id, holder_session=claim.session
            )
        )
    if found:
        store.append("agent", task.session, None, found)
    return found

"""The git side of a task's own worktree (isolation "worktree"): `git worktree add` on branch `chorus/task-N`,
merging that branch into the shared checkout, removing it, and its diff against its base. Every call is
`git -C <directory>` on PROJECT_ROOT's repository or on the task's worktree (the one other directory git is
run in); nothing here reads a file itself, and nothing here appends an event (tasks_app.services.worktrees does).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings

from events_app.errors import NotFound
from tasks_app.errors import TaskConflict, TaskError

SHARED, WORKTREE = "shared", "worktree"
ISOLATIONS = (SHARED, WORKTREE)
# A task's worktree_state: "" (never made), then active (it exists) or removed.
ACTIVE_WORKTREE, REMOVED_WORKTREE = "active", "removed"
# A base the person names: a branch, tag or commit, never an option (no leading "-"); one that names no commit (a
# range, say) is refused by git's own lookup.
BASE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./@^~{}-]{0,199}$")
GIT_TIMEOUT = 60


class NotARepository(TaskConflict):
    """PROJECT_ROOT is not in a git repository: worktrees are off."""


class UnknownBase(TaskError, NotFound):
    """The base names no commit of the repository."""


class GitFailed(TaskConflict):
    """git refused (its own words follow)."""


class MergeConflict(TaskConflict):
    """The merge met conflicts: it was aborted, the shared checkout and the branch are as they were."""

    def __init__(self, branch: str, files: list[str]):
        self.files = files
        listed = ", ".join(files) or "(git named none)"
        super().__init__(
            f"merging {branch} met conflicts in {listed}: the merge was aborted, the checkout and the branch are as "
            "they were; merge it by hand or rebase the branch"
        )


def has_worktree(task) -> bool:
    """Whether the task's worktree exists now (made and not removed)."""
    return task.worktree_state == ACTIVE_WORKTREE


def branch_name(task_id: int) -> str:
    return f"chorus/task-{task_id}"


def check_isolation(isolation: str) -> str:
    if isolation not in ISOLATIONS:
        raise TaskError(f"isolation is {' or '.join(map(repr, ISOLATIONS))}, not {isolation!r}")
    return isolation


def _git(directory: str | Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitFailed(f"git {args[0]} did not run: {exc}") from None
    if check and result.returncode != 0:
        words = (result.stderr or result.stdout).strip().splitlines()
        raise GitFailed(f"git {args[0]} failed: {words[-1] if words else f'exit status {result.returncode}'}")
    return result


def _out(directory: str | Path, *args: str) -> str:
    return _git(directory, *args).stdout.strip()


@dataclasses.dataclass(frozen=True)
class Repository:
    """PROJECT_ROOT's repository: its top directory, and where PROJECT_ROOT sits inside it (a worktree's session
    starts at the same place in the worktree)."""

    top: Path
    subdir: str

    @classmethod
    def of_project(cls) -> Repository:
        root = Path(settings.PROJECT_ROOT)
        found = _git(root, "rev-parse", "--show-toplevel", check=False)
        if found.returncode != 0 or not found.stdout.strip():
            raise NotARepository(f"PROJECT_ROOT ({root}) is not in a git repository: worktrees are off")
        top = Path(found.stdout.strip()).resolve()
        return cls(top, root.resolve().relative_to(top).as_posix())

    def commit(self, ref: str) -> str | None:
        found = _git(self.top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        return (found.stdout.strip() or None) if found.returncode == 0 else None

    def branch_exists(self, branch: str) -> bool:
        return _git(self.top, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0

    def session_directory(self, worktree: Path) -> Path:
        return worktree / self.subdir if self.subdir != "." else worktree


def worktree_root() -> Path:
    return Path(settings.CHORUS_WORKTREE_DIR)


@dataclasses.dataclass(frozen=True)
class Created:
    path: str
    branch: str
    base: str
    base_commit: str


def create(task_id: int, base: str = "HEAD") -> Created:
    """`git worktree add -b chorus/task-N <dir>/task-N <base>`; refused, with nothing made, when the repository is
    not git, the base names no commit, or the branch or directory already exists."""
    base = (base or "HEAD").strip()
    if not BASE.fullmatch(base):
        raise TaskError(f"base {base!r} is no branch, tag or commit name")
    repository = Repository.of_project()
    commit = repository.commit(base)
    if commit is None:
        raise UnknownBase(f"base {base!r} names no commit of {repository.top}")
    branch = branch_name(task_id)
    if repository.branch_exists(branch):
        raise TaskConflict(
            f"branch {branch} already exists: delete it (git branch -D {branch}) or merge it before giving task "
            f"{task_id} a new worktree"
        )
    worktree_root().mkdir(parents=True, exist_ok=True)
    # resolved, as tmux reports a pane's directory: a session there is known to be in this worktree by its path
    path = worktree_root().resolve() / f"task-{task_id}"
    if path.exists():
        raise TaskConflict(f"{path} already exists: remove it before giving task {task_id} a worktree")
    _git(repository.top, "worktree", "add", "-b", branch, str(path), commit)
    return Created(str(path), branch, base, commit)


@dataclasses.dataclass(frozen=True)
class State:
    """What removing the worktree would lose: the branch's commits not in the shared checkout's HEAD, and its
    uncommitted changes (porcelain lines)."""

    unmerged_commits: int
    dirty: list[str]

    @property
    def loses_work(self) -> bool:
        return bool(self.unmerged_commits or self.dirty)

    def describe(self) -> str:
        said = []
        if self.unmerged_commits:
            said.append(f"{self.unmerged_commits} commit(s) not merged")
        if self.dirty:
            said.append(f"{len(self.dirty)} uncommitted change(s)")
        return " and ".join(said)


def state(path: str, branch: str) -> State:
    repository = Repository.of_project()
    unmerged = 0
    if repository.branch_exists(branch):
        unmerged = int(_out(repository.top, "rev-list", "--count", f"HEAD..refs/heads/{branch}") or 0)
    dirty = []
    if Path(path).is_dir():
        dirty = _out(path, "status", "--porcelain", "--untracked-files=all").splitlines()
    return State(unmerged, dirty)


@dataclasses.dataclass(frozen=True)
class Merged:
    into: str
    commit: str
    fast_forward: bool
    changed: bool  # False: the branch had nothing the checkout lacked


def merge(branch: str, *, no_ff: bool = False) -> Merged:
    """Merge the task's branch into the branch the shared checkout has out: fast-forward when it can (unless
    `no_ff`), else a merge commit. Conflicts abort the merge and are reported with their files (MergeConflict);
    any other refusal by git (local changes in the way, ...) leaves the checkout as git left it."""
    repository = Repository.of_project()
    if not repository.branch_exists(branch):
        raise TaskConflict(f"branch {branch} no longer exists")
    into = _git(repository.top, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
    if not into:
        raise TaskConflict(f"{repository.top} has no branch checked out (a detached HEAD): check one out to merge into")
    before = _out(repository.top, "rev-parse", "HEAD")
    mode = "--no-ff" if no_ff else "--ff"
    message = f"Merge {branch} (Chorus)"
    result = _git(repository.top, "merge", mode, "--no-edit", "-m", message, f"refs/heads/{branch}", check=False)
    if result.returncode != 0:
        conflicted = _out(repository.top, "diff", "--name-only", "--diff-filter=U").splitlines()
        if conflicted:
            _git(repository.top, "merge", "--abort")
            raise MergeConflict(branch, conflicted)
        words = (result.stderr or result.stdout).strip().splitlines()
        raise GitFailed(f"git merge refused: {' '.join(words[:3]) or result.returncode}")
    after = _out(repository.top, "rev-parse", "HEAD")
    parents = _out(repository.top, "rev-list", "--parents", "-n", "1", after).split()[1:]
    return Merged(into, after, fast_forward=after != before and len(parents) <= 1, changed=after != before)


@dataclasses.dataclass(frozen=True)
class Removed:
    tip: str | None  # the branch's last commit (None: the branch was gone): `git branch <branch> <tip>` restores it
    dropped: str  # what a forced removal threw away, in words ("" when nothing)


def remove(path: str, branch: str, *, force: bool = False) -> Removed:
    """Remove the worktree and its branch; refused (nothing removed) when that would lose work, unless `force`."""
    repository = Repository.of_project()
    left = state(path, branch)
    if left.loses_work and not force:
        raise TaskConflict(f"{path} holds {left.describe()}: merge them first, or remove it with force")
    tip = repository.commit(f"refs/heads/{branch}") if repository.branch_exists(branch) else None
    if Path(path).is_dir():
        _git(repository.top, "worktree", "remove", "--force", path)
    _git(repository.top, "worktree", "prune")
    if tip is not None:
        _git(repository.top, "branch", "-D", branch)
    if Path(path).exists():
        shutil.rmtree(path)
    return Removed(tip, left.describe())


@dataclasses.dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # git's letter: A, M, D, R, ...
    added: int | None  # None for a binary file
    removed: int | None


@dataclasses.dataclass(frozen=True)
class BranchDiff:
    """A task's branch against its base: the worktree as it is (commits and uncommitted changes to tracked files;
    untracked files listed apart), or once the worktree is gone, the branch's last commit."""

    base_commit: str
    branch: str
    files: list[FileChange]
    text: str
    untracked: list[str]


def diff(path: str, branch: str, base_commit: str) -> BranchDiff | None:
    """None when neither the worktree nor the branch is left to compare."""
    if Path(path).is_dir():
        where, against = path, [base_commit]
        untracked = _out(path, "ls-files", "--others", "--exclude-standard").splitlines()
    else:
        repository = Repository.of_project()
        if not repository.branch_exists(branch):
            return None
        where, against, untracked = str(repository.top), [base_commit, f"refs/heads/{branch}"], []
    statuses = _out(where, "diff", "--name-status", "--no-renames", *against, "--").splitlines()
    counts = _out(where, "diff", "--numstat", "--no-renames", *against, "--").splitlines()
    numbers = {}
    for line in counts:
        added, removed, name = line.split("\t", 2)
        numbers[name] = (None, None) if added == "-" else (int(added), int(removed))
    files = []
    for line in statuses:
        letter, name = line.split("\t", 1)
        files.append(FileChange(name, letter, *numbers.get(name, (None, None))))
    text = _git(where, "diff", "--no-renames", *against, "--").stdout
    return BranchDiff(base_commit, branch, files, text, untracked)


def branch_diff(task) -> BranchDiff | None:
    """The task's branch against its base (what its review shows), or None when the task never had a worktree or
    nothing of it is left."""
    if not task.worktree_branch:
        return None
    return diff(task.worktree_path, task.worktree_branch, task.worktree_base_commit)

"""Approval policies: the rules in `[approvals]` of chorus.toml (validated with pydantic), the built-in guard list no
rule overrides, and the decision for one permission request. Pure but for reading the policy file: no database.

A request is a tool an agent wants to run (`Bash` with its command, `Edit` with its file, ...). The guard list comes
first (a match is denied), then the fleet-wide pause (everything else is asked), then the rules in order: the first
whose every condition holds decides allow, deny or ask. With no rule matching, the person is asked, as before
approval policies existed.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from tasks_app import claims

if TYPE_CHECKING:
    from tasks_app.approval_tables import ApprovalRule

ALLOW, DENY, ASK = "allow", "deny", "ask"
DEFAULT_RULE = "default"
PAUSED_RULE = "paused"
POLICY_FILE = "chorus.toml"
# The file tools, whose request names the file they would write.
WRITE_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})


@dataclasses.dataclass(frozen=True)
class Request:
    """What an agent asks to do: the tool, its command text (Bash), the files it names as given, the agent's working
    directory, and who asks."""

    tool: str
    command: str = ""
    files: tuple[str, ...] = ()
    cwd: str = ""
    session: str = ""
    profile: str = ""

    @property
    def subject(self) -> str:
        """The exact command or path the decision is about."""
        return self.command or ", ".join(self.files) or self.tool


@dataclasses.dataclass(frozen=True)
class Decision:
    decision: str
    rule: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Policy:
    """The rules in force and the file they came from (empty: the default policy)."""

    rules: tuple[ApprovalRule, ...] = ()
    path: str = ""


class BadPolicy(ValueError):
    """A policy file that cannot be used; `problems` holds one line per problem naming the file and rule."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _location(path: str, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rest = ".".join(str(part) for part in loc[2:])
        return f"{path}: approvals rule {loc[1] + 1}" + (f" ({rest})" if rest else "")
    return f"{path}: approvals" + (f".{'.'.join(map(str, loc))}" if loc else "")


def parse(text: str, path: str = POLICY_FILE) -> Policy:
    """The policy that TOML text holds (its `[approvals]` table; none: the default); BadPolicy naming each problem."""
    from pydantic import ValidationError  # pydantic costs a command ~0.2 s: only when a policy is read

    from tasks_app.approval_tables import ApprovalsTable

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadPolicy([f"{path}: not TOML: {exc}"]) from None
    table = document.get("approvals", {})
    try:
        found = ApprovalsTable.model_validate(table)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = (
                "unknown key" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
            )
            problems.append(f"{_location(path, tuple(error['loc']))}: {message}")
        raise BadPolicy(problems) from None
    return Policy(tuple(found.rules), path)


class PolicySource:
    """The policy of a file, read again when its stat changes; a file that became invalid leaves the last valid
    policy in force (kept in `keep`, a copy beside Chorus's data, so a new process finds it too)."""

    def __init__(self, path: Path, keep: Path):
        self.path, self.keep = path, keep
        self._stamp: tuple | None = None
        self._policy = Policy()
        self.problems: list[str] = []

    def current(self) -> Policy:
        try:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp and self._stamp is not None:
            return self._policy
        self._stamp = stamp
        if stamp is None:
            self._policy, self.problems = Policy(), []
            return self._policy
        text = self.path.read_text(encoding="utf-8", errors="replace")
        try:
            self._policy, self.problems = parse(text, str(self.path)), []
        except BadPolicy as exc:
            self.problems = exc.problems
            self._policy = self._kept()
            return self._policy
        self._save(text)
        return self._policy

    def _kept(self) -> Policy:
        try:
            return parse(self.keep.read_text(encoding="utf-8"), str(self.path))
        except (OSError, BadPolicy):
            return Policy()

    def _save(self, text: str) -> None:
        try:
            self.keep.parent.mkdir(parents=True, exist_ok=True)
            part = self.keep.with_suffix(".part")
            part.write_text(text, encoding="utf-8")
            part.replace(self.keep)
        except OSError:
            pass  # the copy only matters once the file turns invalid


# --- The guard list ---------------------------------------------------------------------------------------------

# A download piped into a shell, or a shell reading one: curl|sh, wget -O- | bash, bash <(curl ...), sh -c "$(curl".
DOWNLOAD_TO_SHELL = re.compile(
    r"\b(?:curl|wget|fetch)\b[^;&\n]*\|\s*(?:sudo\s+)?(?:env\s+)?\S*\b(?:ba|z|da|k|fi)?sh\b"
    r"|\b(?:ba|z|da|k)?sh\b\s+(?:-c\s+)?[\"']?(?:<\(|\$\()\s*(?:curl|wget)\b"
)
FORCE_PUSH = re.compile(r"\bgit\b[^;&|\n]*\bpush\b[^;&|\n]*?(?:\s-[A-Za-z]*f[A-Za-z]*\b|\s--force\b|\s\+\S)")
TOKEN_FILES = re.compile(
    r"\.claude/\.credentials\.json|\.codex/auth\.json|\.gemini/oauth_creds\.json|\.git-credentials|\.netrc\b"
    r"|\.aws/credentials|\.ssh/id_|\.config/gh/hosts\.yml|\.docker/config\.json"
)
SEPARATORS = re.compile(r"(?:&&|\|\||[;&|\n()])")
HOME_NAMES = ("~", "~/", "$HOME", "${HOME}", "$HOME/", "${HOME}/")


def _segments(command: str) -> list[list[str]]:
    """The command's simple commands, each split into words (a command that does not split is kept as one word)."""
    found = []
    for part in SEPARATORS.split(command):
        try:
            words = shlex.split(part, comments=False)
        except ValueError:
            words = part.split()
        if words:
            found.append(words)
    return found


def _is_recursive_rm(words: list[str]) -> bool:
    while words and (words[0] in ("sudo", "command", "env", "nice") or "=" in words[0]):
        words = words[1:]
    if not words or os.path.basename(words[0]) != "rm":
        return False
    flags = [word for word in words[1:] if word.startswith("-")]
    return any(flag in ("--recursive",) or (not flag.startswith("--") and re.search("[rR]", flag)) for flag in flags)


def _dangerous_target(target: str, cwd: Path, root: Path) -> bool:
    """A target of `rm -r` that is the filesystem's root, a home directory, a parent of the working directory or
    of the project's root, or anything outside the project's root."""
    stripped = target.rstrip("/") or "/"
    if target in HOME_NAMES or stripped in ("/", "/*", "~", "$HOME", "${HOME}") or stripped.startswith(("~", "$HOME")):
        return True
    if "*" in stripped and stripped.startswith("/") and stripped.count("/") == 1:
        return True
    resolved = Path(os.path.normpath(cwd / stripped))
    if resolved == Path(resolved.anchor) or resolved in cwd.parents or resolved == root or resolved in root.parents:
        return True
    return not resolved.is_relative_to(root)


def _outside(path: str, cwd: Path, root: Path) -> bool:
    named = Path(os.path.normpath(cwd / os.path.expanduser(path)))
    real = Path(os.path.realpath(named))
    return not (named.is_relative_to(root) and real.is_relative_to(root))


REDIRECT = re.compile(r"(?:^|[^<>&0-9])(?:[12]?>>?|&>)\s*(?P<target>[^\s;&|<>()]+)")
DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")


def guard(request: Request, root: Path, data_dir: Path) -> Decision | None:
    """The guard list's refusal of `request`, or None. No rule overrides it."""
    root = Path(os.path.realpath(root))
    cwd = Path(request.cwd) if request.cwd else root
    command = request.command
    if request.tool in WRITE_TOOLS:
        outside = next((path for path in request.files if _outside(path, cwd, root)), None)
        if outside is not None:
            return Decision(DENY, "guard.outside_root", f"{outside} is outside the project's root ({root})")
    if command:
        for target in (match["target"] for match in REDIRECT.finditer(command)):
            if target not in DEVICES and _outside(target, cwd, root):
                return Decision(DENY, "guard.outside_root", f"the command writes {target}, outside the project's root")
        for words in _segments(command):
            if _is_recursive_rm(words):
                for target in (word for word in words[1:] if not word.startswith("-")):
                    if _dangerous_target(target, cwd, root):
                        return Decision(
                            DENY, "guard.rm_rf", f"rm -r of {target}: the root, a home or a parent directory"
                        )
            if words[0] == "tee" and any(_outside(w, cwd, root) for w in words[1:] if not w.startswith("-")):
                return Decision(DENY, "guard.outside_root", "the command writes outside the project's root (tee)")
        if DOWNLOAD_TO_SHELL.search(command):
            return Decision(DENY, "guard.download_to_shell", "a download piped into a shell")
        if FORCE_PUSH.search(command):
            return Decision(DENY, "guard.force_push", "a force-push (git push -f/--force)")
    text = " ".join((command, *request.files))
    if TOKEN_FILES.search(text) or str(data_dir) in text or _in(request.files, cwd, data_dir):
        return Decision(DENY, "guard.token_files", f"touches a token file or Chorus's data directory ({data_dir})")
    return None


def _in(files: tuple[str, ...], cwd: Path, directory: Path) -> bool:
    real = Path(os.path.realpath(directory))
    return any(Path(os.path.realpath(cwd / os.path.expanduser(path))).is_relative_to(real) for path in files)


# --- Rules ------------------------------------------------------------------------------------------------------


def relative_paths(request: Request, root: Path) -> list[str] | None:
    """The request's files relative to the project's root; None when one lies outside it."""
    root = Path(os.path.realpath(root))
    cwd = Path(request.cwd) if request.cwd else root
    found = []
    for path in request.files:
        named = Path(os.path.normpath(cwd / path))
        if not named.is_relative_to(root):
            return None
        found.append(named.relative_to(root).as_posix())
    return found


def matches(rule: ApprovalRule, request: Request, paths: list[str] | None, task_claims: list[str]) -> bool:
    """Whether every condition of `rule` holds for `request` (`paths`: its files relative to the root)."""
    for pattern, value in ((rule.profile, request.profile), (rule.session, request.session), (rule.tool, request.tool)):
        if pattern is not None and not any(fnmatch.fnmatchcase(value, one) for one in pattern.split("|")):
            return False
    if rule.command is not None and not re.search(rule.command, request.command):
        return False
    if rule.paths is not None or rule.within_claims:
        if not paths:
            return False
        if rule.paths is not None and not all(any(claims.covers(g, p) for g in rule.paths) for p in paths):
            return False
        if rule.within_claims and not all(any(claims.covers(g, p) for g in task_claims) for p in paths):
            return False
    return True


def decide(
    policy: Policy,
    request: Request,
    *,
    root: Path,
    data_dir: Path,
    task_claims: list[str] = (),
    paused: bool = False,
) -> Decision:
    """The decision for `request`: the guard list, then the pause, then the first matching rule, else ask."""
    guarded = guard(request, root, data_dir)
    if guarded is not None:
        return guarded
    if paused:
        return Decision(ASK, PAUSED_RULE, "approvals are paused: the person decides")
    paths = relative_paths(request, root)
    for index, rule in enumerate(policy.rules, 1):
        if matches(rule, request, paths, list(task_claims)):
            name = rule.name or f"rule {index}"
            return Decision(rule.decision, name, rule.reason or f"{name} of {policy.path or POLICY_FILE}")
    return Decision(ASK, DEFAULT_RULE, "no rule matches: the person decides")

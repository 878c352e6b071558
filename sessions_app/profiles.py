"""What an agent profile is: how to start the agent, how to type into it, and every signal that tells its state.

Profiles are data: status rules over the screen and the pane title, the input-line (composer) rule, the dialog
rule, delivery settings, the self-report plug-in, and the tier and loader of Chorus's tools for the agent. The
built-in profiles live in sessions_app.agents (one module per agent), user profiles come from TOML files
(sessions_app.catalog); generic code reads only what is here.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from re import _constants as sre_constants
from re import _parser as sre_parser

from events_app.errors import NotFound
from sessions_app.composer import Composer
from sessions_app.conversations import ConversationFinder
from sessions_app.dialogs import Dialog, PermissionScreen
from sessions_app.errors import SessionError
from sessions_app.limits import LimitRule
from sessions_app.screen import screen_lines
from sessions_app.self_report import SelfReportPlugin, SignalCheck
from sessions_app.tools_loader import ToolsLoader, check_tier
from sessions_app.usage import UsageReader


class Status(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    WAITING = "waiting"
    STOPPED = "stopped"
    UNKNOWN = "unknown"
    # a session just started (or restarted) whose agent has given no signal yet: it is booting
    STARTING = "starting"


# A rule without an explicit priority ranks by what it claims: a human-needed dialog must win over a busy marker
# drawn beside it, and a busy marker over an input line that stays visible while the agent works.
DEFAULT_PRIORITY = {Status.STOPPED: 400, Status.WAITING: 300, Status.BUSY: 200, Status.IDLE: 100}

# Foreground commands that are a shell at its prompt: for an agent profile, the agent is gone.
SHELL_NAMES = frozenset(
    {"bash", "zsh", "sh", "dash", "ash", "fish", "ksh", "mksh", "oksh", "tcsh", "csh", "yash", "nu", "pwsh", "elvish"}
)


@functools.lru_cache(maxsize=1024)
def command_name(command: str) -> str:
    """tmux's #{pane_current_command} as a bare name: login shells show as `-bash`, some report a path. Cached:
    the worker asks this of every pane at every tick, and a pathlib.Path per call was 11% of a busy tick's CPU."""
    return Path(command.strip().lstrip("-")).name


def is_shell(command: str) -> bool:
    return command_name(command) in SHELL_NAMES


class UnknownProfile(SessionError, NotFound, LookupError):
    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown profile {name!r} (known: {', '.join(self.known)})")


class ProfileConfigError(SessionError, ValueError):
    """A user profile file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Region:
    """Where a rule looks: the pane title, the whole screen, or the top/bottom N lines.

    The bottom is counted from the last non-blank line, because capture-pane pads a short screen with blank
    lines and inline (non-fullscreen) renderers leave their prompt near the top of an empty pane.
    """

    kind: str
    lines: int = 0

    KINDS = ("screen", "title", "bottom", "top")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"region kind must be one of {', '.join(self.KINDS)}, not {self.kind!r}")
        if self.kind in ("bottom", "top") and self.lines < 1:
            raise ValueError(f"region {self.kind} needs a number of lines >= 1, not {self.lines}")

    @classmethod
    def bottom(cls, lines: int) -> Region:
        return cls("bottom", lines)

    @classmethod
    def parse(cls, text: str) -> Region:
        """`screen`, `title`, `bottom:N` or `top:N` (the form used in TOML files)."""
        kind, _, count = text.strip().partition(":")
        if kind in ("screen", "title") and not count:
            return cls(kind)
        if kind in ("bottom", "top") and count.isdigit():
            return cls(kind, int(count))
        raise ValueError(f"region must be 'screen', 'title', 'bottom:N' or 'top:N', not {text!r}")

    def describe(self) -> str:
        if self.kind == "title":
            return "in the pane title"
        if self.kind == "screen":
            return "on the screen"
        if self.kind == "bottom" and self.lines == 1:
            return "on the last line"
        return f"in the {self.kind} {self.lines} lines"

    def __str__(self) -> str:
        return f"{self.kind}:{self.lines}" if self.kind in ("bottom", "top") else self.kind


TITLE = Region("title")


@dataclass(frozen=True)
class Rule:
    """One status signal: if `pattern` is found in `region` (and `unless` is not), the status is `status`.

    Patterns are regular expressions searched with re.MULTILINE over the region's lines joined by newlines,
    after trailing spaces and vertical box borders (│ ┃ ║) are stripped from each line, so the same words match
    inside a boxed renderer too. A no-break space is kept: some input lines draw one after their prompt mark.
    A `menu` rule sees a dialog's numbered menu: its pattern is built from the markers of its profile's dialog.
    """

    name: str
    status: Status
    pattern: str
    region: Region
    priority: int
    unless: str | None = None
    ignore_case: bool = False
    menu: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    unless_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    # texts any match holds (required_texts): a screen without them is passed over without running the pattern
    required: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a rule needs a name: verdicts name the rule that decided")
        object.__setattr__(self, "status", Status(self.status))
        if self.status is Status.UNKNOWN:
            raise ValueError("a rule cannot decide 'unknown': that is what no matching rule means")
        if self.status is Status.STARTING:
            raise ValueError("a rule cannot decide 'starting': that is a session before its agent's first signal")
        flags = re.MULTILINE | (re.IGNORECASE if self.ignore_case else 0)
        object.__setattr__(self, "regex", _compile(self.pattern, flags, "pattern"))
        object.__setattr__(self, "required", required_texts(self.pattern, flags))
        unless = _compile(self.unless, flags, "unless") if self.unless else None
        object.__setattr__(self, "unless_regex", unless)

    def search(self, text: str) -> re.Match[str] | None:
        """The pattern's first match in `text`, unless `unless` is found there too."""
        for texts in self.required:
            for part in texts:
                if part in text:
                    break
            else:
                return None
        match = self.regex.search(text)
        if match is None or (self.unless_regex is not None and self.unless_regex.search(text)):
            return None
        return match

    @classmethod
    def for_menu(cls, name: str, dialog: Dialog, region: Region, priority: int) -> Rule:
        """A waiting rule that sees `dialog`'s numbered menu under a question."""
        return cls(name, Status.WAITING, dialog.menu_pattern(), region, priority, menu=True)


def _required(items) -> list[tuple[str, ...]]:
    """What any match of a parsed pattern's `items` contains: a list of sets, each a tuple of strings at least one
    of which every match holds (a run of literal characters, a class of a few literal characters, one literal of
    each branch of an alternation). Anything else (an optional part, a lookaround, a case-insensitive group) adds
    nothing, so the list errs on the side of demanding less."""
    found: list[tuple[str, ...]] = []
    run = ""
    for op, value in items:
        if op is sre_constants.LITERAL:
            run += chr(value)
            continue
        if run:
            found.append((run,))
            run = ""
        if op is sre_constants.IN and all(kind is sre_constants.LITERAL for kind, _ in value):
            found.append(tuple(chr(char) for _, char in value))
        elif op is sre_constants.SUBPATTERN and not value[1] & re.IGNORECASE:
            found += _required(value[3])
        elif op is sre_constants.ATOMIC_GROUP:
            found += _required(value)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
            if value[0] >= 1:
                found += _required(value[2])
        elif op is sre_constants.BRANCH:
            branches = [_most_telling(_required(branch)) for branch in value[1]]
            if all(branches):
                found.append(tuple(text for branch in branches for text in branch))
    if run:
        found.append((run,))
    # blank text is on every screen: it tells nothing
    return [texts for texts in found if all(text.strip(" \t\n") for text in texts)]


def _most_telling(found: list[tuple[str, ...]]) -> tuple[str, ...]:
    return max(found, key=lambda texts: min(map(len, texts)), default=())


def required_texts(pattern: str, flags: int) -> tuple[tuple[str, ...], ...]:
    """Up to two sets of texts that any match of `pattern` holds (see _required), the most telling first; none
    for a case-insensitive pattern (a case-insensitive match may hold other characters than the pattern's).
    `in` finds them far faster than a regular expression fails to match: most rules fail on most screens."""
    parsed = sre_parser.parse(pattern, flags)
    if parsed.state.flags & re.IGNORECASE:
        return ()
    found = _required(parsed.data)
    return tuple(sorted(found, key=lambda texts: -min(map(len, texts)))[:2])


def _compile(pattern: str, flags: int, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"{what} is not a valid regular expression: {exc}") from None


@dataclass(frozen=True)
class Delivery:
    """How to type a prompt into the agent.

    enter_delay: seconds between the typed text and Enter; some TUIs drop an Enter that follows a paste at once.
    """

    enter_delay: float = 0.1
    use_bracketed_paste: bool = True
    submit_key: str = "Enter"
    interrupt_key: str = "Escape"


@dataclass(frozen=True)
class Profile:
    """An agent (or a plain shell) Chorus can start in tmux and watch.

    command: argv; empty means tmux's default shell.
    cwd: working directory: empty is PROJECT_ROOT, relative paths are under it, absolute paths and ~ as given.
    process_names: fnmatch patterns of #{pane_current_command} meaning the profile's program runs (defaults to
      the command's basename). A shell in the foreground that is not one of them means the program has exited.
    child_command_status: the status while a foreground command other than the program runs (the shell profile:
      a command runs under the shell -> busy); None lets the rules decide (an agent started by a wrapper script).
    fallback_status / fallback_reason: what to say when no rule matches (None: unknown).
    busy_cpu_percent: when no rule matches, the program's CPU use at or above this means busy.
    composer: where the input line is and how an empty one looks (None: not known; nothing is read as a draft).
    dialog: how the agent draws a dialog's options; its `menu` rules are built from it.
    permission_screen: how its permission dialog reads on screen, for an agent without a permission hook: approval
      policies answer it by pressing the allowing or refusing option's key (None: they leave it to the person).
    self_report: the plug-in that reads what the agent says of itself (None: the screen alone decides).
    signal_check: says whether the agent's other signals (its pane title) are on where it runs, for the setup check
      (None: nothing to check).
    agent: whether the program is an AI agent that takes a task's prompt (a shell or a generic terminal program is
      not: auto-dispatch and next_task never pick it, and a person assigning it a task must confirm).
    agent_tools: the tier of Chorus's tools its sessions get (self, fleet-read, fleet-write), or off (no tools, no
      credential); a session may choose another when it is created.
    tools_loader: the plug-in that points the agent's MCP client at Chorus (None: the CLI twins alone).
    limits: the screens that say the agent hit its usage limit, and when it resets (sessions_app.limits).
    resume: the arguments that start the agent on a conversation it had, `{conversation}` standing for its id
      (empty: it cannot resume one).
    conversation_finder: looks the conversation's id up in the agent's files, for an agent whose self-report does
      not say it (None: only the self-report binds one).
    isolation: "shared" (its sessions work in the project's checkout) or "worktree" (each session works on one task
      in that task's own git worktree: started for the task, never in the shared checkout).
    usage_reader: the reader of the tokens its agent spends, from the agent's own records (None: not counted).
    """

    name: str
    command: tuple[str, ...]
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    rules: tuple[Rule, ...] = ()
    process_names: tuple[str, ...] = ()
    child_command_status: Status | None = None
    fallback_status: Status | None = None
    fallback_reason: str = ""
    busy_cpu_percent: float | None = None
    composer: Composer | None = None
    dialog: Dialog = field(default_factory=Dialog)
    permission_screen: PermissionScreen | None = None
    self_report: SelfReportPlugin | None = None
    signal_check: SignalCheck | None = None
    delivery: Delivery = field(default_factory=Delivery)
    agent: bool = False
    agent_tools: str = "self"
    tools_loader: ToolsLoader | None = None
    limits: tuple[LimitRule, ...] = ()
    resume: tuple[str, ...] = ()
    conversation_finder: ConversationFinder | None = None
    isolation: str = "shared"
    usage_reader: UsageReader | None = None
    extends: str | None = None
    ordered_rules: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", tuple(self.command))
        object.__setattr__(self, "limits", tuple(self.limits))
        object.__setattr__(self, "resume", tuple(self.resume))
        check_tier(self.agent_tools)
        menu = self.dialog.menu_pattern()
        rules = tuple(replace(r, pattern=menu) if r.menu and r.pattern != menu else r for r in self.rules)
        object.__setattr__(self, "rules", rules)
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule names: {', '.join(duplicates)}")
        if not self.process_names and self.command:
            object.__setattr__(self, "process_names", (command_name(self.command[0]),))
        object.__setattr__(self, "process_names", tuple(self.process_names))
        # sorted() is stable: among equal priorities the declared order decides.
        object.__setattr__(self, "ordered_rules", tuple(sorted(self.rules, key=lambda rule: -rule.priority)))

    def resume_arguments(self, conversation: str) -> tuple[str, ...]:
        """The arguments that resume `conversation`, added to its command; empty when the agent cannot."""
        return tuple(part.replace("{conversation}", conversation) for part in self.resume)

    def agent_environment(self) -> dict[str, str]:
        """The environment its agent runs with: Chorus's own (the tmux server passes the same user's on) under the
        profile's `env`. Where the agent keeps its own files (its HOME, a variable of its own) is read from this."""
        return {**os.environ, **self.environment}

    @property
    def program(self) -> str:
        """The program's name for reasons: "foreground command is bash, not aider"."""
        return command_name(self.command[0]) if self.command else "the shell"

    def missing_program(self, environ: Mapping[str, str]) -> str | None:
        """Why the profile's program cannot start here (not on `environ`'s PATH, or not executable), else None.
        A profile without a command runs tmux's default shell, which is always there."""
        if not self.command:
            return None
        path = self.environment.get("PATH", environ.get("PATH", os.defpath))
        if shutil.which(self.command[0], path=path) is not None:
            return None
        where = "not executable" if os.sep in self.command[0] else "not on PATH"
        return f"{self.program} is not installed ({where}); install it or pick another profile"

    def runs(self, command: str) -> bool:
        """Whether a #{pane_current_command} is this profile's program."""
        name = command_name(command)
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.process_names)

    def working_directory(self, project_root: Path) -> Path:
        if not self.cwd:
            return Path(project_root)
        return (Path(project_root) / Path(self.cwd).expanduser()).resolve()

    def draft(self, screen: str) -> str | None:
        """What is typed in the agent's input line on `screen`: "" when empty, None when no input line shows."""
        if self.composer is None:
            return None
        return self.composer.draft(screen_lines(screen), self.dialog.is_option)

    def dialog_options(self, screen: str) -> list[tuple[str, str]]:
        """The options of the dialog on `screen` as (key to press, label); empty when there is none."""
        return self.dialog.options(screen)

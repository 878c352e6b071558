# ruff: noqa: RUF001  -- the rules match the look-alike glyphs TUIs really draw (U+276F, U+203A), not typos for >.
"""Agent profiles as data: how to start each agent, how to type into it, and the rules that tell its status.

A new agent or a new CLI version is a new profile or a new rule, not new code: built-ins live here, user profiles
come from `chorus.toml` (PROJECT_ROOT) and `$XDG_CONFIG_HOME/chorus/profiles.toml`, read with tomllib.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


class Status(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    WAITING = "waiting"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


# A rule without an explicit priority ranks by what it claims: a human-needed dialog must win over a busy marker
# drawn beside it, and a busy marker over an input line that stays visible while the agent works.
DEFAULT_PRIORITY = {Status.STOPPED: 400, Status.WAITING: 300, Status.BUSY: 200, Status.IDLE: 100}

# Foreground commands that are a shell at its prompt: for an agent profile, the agent is gone.
SHELL_NAMES = frozenset(
    {"bash", "zsh", "sh", "dash", "ash", "fish", "ksh", "mksh", "oksh", "tcsh", "csh", "yash", "nu", "pwsh", "elvish"}
)


def command_name(command: str) -> str:
    """tmux's #{pane_current_command} as a bare name: login shells show as `-bash`, some report a path."""
    return Path(command.strip().lstrip("-")).name


def is_shell(command: str) -> bool:
    return command_name(command) in SHELL_NAMES


class UnknownProfile(LookupError):
    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown profile {name!r} (known: {', '.join(self.known)})")


class ProfileConfigError(ValueError):
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
    inside a boxed renderer too. A no-break space is kept: Claude Code's live input line depends on it.
    """

    name: str
    status: Status
    pattern: str
    region: Region
    priority: int
    unless: str | None = None
    ignore_case: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    unless_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a rule needs a name: verdicts name the rule that decided")
        object.__setattr__(self, "status", Status(self.status))
        if self.status is Status.UNKNOWN:
            raise ValueError("a rule cannot decide 'unknown': that is what no matching rule means")
        flags = re.MULTILINE | (re.IGNORECASE if self.ignore_case else 0)
        object.__setattr__(self, "regex", _compile(self.pattern, flags, "pattern"))
        unless = _compile(self.unless, flags, "unless") if self.unless else None
        object.__setattr__(self, "unless_regex", unless)


def _compile(pattern: str, flags: int, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"{what} is not a valid regular expression: {exc}") from None


@dataclass(frozen=True)
class Delivery:
    """How to type a prompt into the agent.

    enter_delay: seconds between the typed text and Enter; some TUIs drop an Enter that follows a paste at once
    (Gemini needs about 0.5 s, Codex has a ~120 ms paste-burst window).
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
    self_report: which self-report the agent keeps that the worker should read (e.g. "claude_session_file").
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
    self_report: str | None = None
    delivery: Delivery = field(default_factory=Delivery)
    extends: str | None = None
    ordered_rules: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", tuple(self.command))
        object.__setattr__(self, "rules", tuple(self.rules))
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule names: {', '.join(duplicates)}")
        if not self.process_names and self.command:
            object.__setattr__(self, "process_names", (command_name(self.command[0]),))
        object.__setattr__(self, "process_names", tuple(self.process_names))
        # sorted() is stable: among equal priorities the declared order decides.
        object.__setattr__(self, "ordered_rules", tuple(sorted(self.rules, key=lambda rule: -rule.priority)))

    @property
    def program(self) -> str:
        """The program's name for reasons: "foreground command is bash, not claude"."""
        return command_name(self.command[0]) if self.command else "the shell"

    def runs(self, command: str) -> bool:
        """Whether a #{pane_current_command} is this profile's program."""
        name = command_name(command)
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.process_names)

    def working_directory(self, project_root: Path) -> Path:
        if not self.cwd:
            return Path(project_root)
        return (Path(project_root) / Path(self.cwd).expanduser()).resolve()


# --- Rule building blocks -------------------------------------------------------------------------------------

# A full-width horizontal rule, or the top/bottom edge of a rounded box (older Claude Code renderer).
_HR = r"[╭╰]?[─━]{8,}[╮╯]?"
# Selection markers in front of the highlighted menu option. Not ●: Claude Code starts its messages with it.
_MARKERS = "❯›>▸▶→»◉"


def _option_menu(markers: str) -> str:
    """A numbered menu with a highlighted option right under a question or heading (ending in ? or :).

    The heading matters: a prompt the user typed as a numbered list is echoed with the same marker, but it
    follows a transcript line, not a question. Two consecutive options are required, one of them highlighted.
    """
    option = rf"[ \t]*(?:[{markers}][ \t]*)?\d{{1,2}}[.)][ \t]+\S[^\n]*\n"
    selected = rf"[ \t]*[{markers}][ \t]*\d{{1,2}}[.)][ \t]+\S[^\n]*\n"
    return rf"^[^\n]*[?:][ \t]*\n(?:[ \t]*\n)?(?={option}{option})(?:{option})*?{selected}"


# Dialogs any TUI or CLI may open, first-run dialogs above all (sign-in, folder trust, theme): a human is needed.
# Each needs the structure of a dialog, not just its words, so an agent's answer that asks "Do you want me
# to...?" above its input line stays idle.
GENERIC_DIALOG_RULES = (
    Rule(
        "generic.trust_question",
        Status.WAITING,
        r"^[^\w\n]{0,4}Do you trust\b[^\n]*\?"
        r"|\b(?:trust (?:this|the) (?:folder|files|directory|workspace|project)|one you trust)\b[^\n]*\?",
        Region.bottom(25),
        305,
    ),
    Rule(
        "generic.question_with_choices",
        Status.WAITING,
        r"^[^\w\n]{0,4}(?:Do you want|Would you like|Allow|Approve|Proceed|Trust)\b[^\n]*\?[ \t]*\n(?:[^\n]*\n){0,4}?"
        r"[^\w\n]{0,4}(?:\d{1,2}[.)][ \t]+)?(?:Yes|No|Allow|Deny|Always|Trust|Don't|Approve|Reject)\b",
        Region.bottom(20),
        302,
    ),
    Rule("generic.option_menu", Status.WAITING, _option_menu(_MARKERS), Region.bottom(20), 300),
    Rule(
        "generic.confirm_hint",
        Status.WAITING,
        # Line-initial only: Gemini's busy line says "(esc to cancel, 3s)" and is excluded by the ", 3s".
        r"^[^\w\n]{0,3}(?:use |press )?(?:enter|return|⏎)\s+to\s+(?:confirm|select|continue|submit|proceed|approve)\b"
        r"|^[^\w\n]{0,3}(?:press )?esc(?:ape)?\s+to\s+(?:cancel|go back|exit|skip|deny)\b(?!,\s*\d)",
        Region.bottom(5),
        300,
        ignore_case=True,
    ),
    Rule(
        "generic.yes_no_prompt",
        Status.WAITING,
        r"(?:\(y/n\)|\[y/n\]|\(yes/no\)|\[yes/no\]|\(y\)es/\(n\)o)[^\n]{0,60}$",
        Region.bottom(2),
        300,
        ignore_case=True,
    ),
    Rule(
        "generic.password_prompt",
        Status.WAITING,
        r"\b(?:password|passphrase|passcode)\b[^\n]{0,40}:$",
        Region.bottom(1),
        300,
        ignore_case=True,
    ),
)

CLAUDE_RULES = (
    Rule(
        "claude.permission_dialog",
        Status.WAITING,
        r"^[ \t]*Do you want to [^\n]*\?[ \t]*\n(?:[ \t]*\n)?[ \t]*(?:[❯›>][ \t]*)?1[.)][ \t]",
        Region.bottom(15),
        320,
    ),
    Rule("claude.esc_to_interrupt", Status.BUSY, r"esc to interrupt", Region.bottom(6), 220, ignore_case=True),
    # The spinner line: a cycling glyph, a random gerund and an ellipsis ("✶ Blanching… (4s · ↓ 17 tokens)").
    # Glyphs and verbs vary by version, so any non-word glyph counts except the transcript's own markers; the
    # finished form "✻ Brewed for 8s" has no ellipsis after the verb. It also catches busy while a typed draft
    # hides "esc to interrupt" in the footer.
    Rule(
        "claude.spinner",
        Status.BUSY,
        r"^ ?[^\w\s●⏺❯›>⎿│\-]\s[\w'-]+(?:…|\.\.\.)(?=\s|$)",
        Region.bottom(15),
        210,
    ),
    # The live input line sits between two rules; a prompt echoed in the transcript does not.
    Rule("claude.input_empty", Status.IDLE, rf"^{_HR}\n[❯>][\u00a0 ]?\n{_HR}$", Region.bottom(12), 110),
    # A draft in the input line while idle. A draft typed during a busy turn hides "esc to interrupt" and, while
    # text streams, there is no spinner either: the session file is the signal that tells those apart.
    Rule(
        "claude.input_draft",
        Status.IDLE,
        rf"^{_HR}\n[❯>][\u00a0 ]\S[^\n]*\n(?:[^\n]*\n){{0,6}}?{_HR}$",
        Region.bottom(12),
        100,
    ),
)

CODEX_RULES = (
    # Waiting for approval, the title blinks between "[ ! ] Action Required | …" and "[ . ] …".
    Rule("codex.title_action_required", Status.WAITING, r"Action Required|^\[ [!.] \]", TITLE, 330),
    # While answer text streams Codex draws no status line; its title's braille spinner is the busy signal.
    Rule("codex.title_spinner", Status.BUSY, r"^[\u2800-\u28ff]", TITLE, 250),
    Rule("codex.esc_to_interrupt", Status.BUSY, r"esc to interrupt", Region.bottom(8), 220, ignore_case=True),
    Rule("codex.composer", Status.IDLE, r"^[ \t]?[›▌][ \t\u00a0]", Region.bottom(6), 100),
    Rule(
        "codex.footer",
        Status.IDLE,
        r"context left|\? for shortcuts|⏎ send",
        Region.bottom(3),
        95,
        ignore_case=True,
    ),
)

GEMINI_RULES = (
    Rule("gemini.title_action_required", Status.WAITING, r"✋\s*Action Required", TITLE, 330),
    # Gemini's radio buttons mark the chosen option with ●.
    Rule("gemini.option_menu", Status.WAITING, _option_menu(_MARKERS + "●"), Region.bottom(20), 310),
    Rule("gemini.title_working", Status.BUSY, r"✦\s*Working", TITLE, 250),
    Rule("gemini.esc_to_cancel", Status.BUSY, r"\(esc to cancel, ?\d", Region.bottom(10), 220, ignore_case=True),
    Rule("gemini.input_box", Status.IDLE, r"^[ \t]*>[ \t\u00a0]|Type your message", Region.bottom(8), 100),
    # The title says Ready during first-run dialogs too, so it ranks below every screen rule.
    Rule("gemini.title_ready", Status.IDLE, r"◇\s*Ready", TITLE, 90),
)

AIDER_RULES = (
    Rule("aider.waiting_for_model", Status.BUSY, r"^[^\w\n]{0,4}Waiting for\b", Region.bottom(3), 210),
    # "> ", "architect> ", "ask> ", "multi> " ..., possibly with a typed draft after it.
    Rule("aider.prompt", Status.IDLE, r"^(?:[a-z][\w-]*)?>(?:[ \t\u00a0][^\n]*)?$", Region.bottom(1), 100),
)

SHELL_RULES = (
    Rule(
        "shell.prompt",
        Status.IDLE,
        r"^[^\n]{0,120}?[$#%>❯➜»λ](?:[ \t\u00a0][^\n]*)?$",
        Region.bottom(1),
        100,
    ),
)

BUILTIN_PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="claude",
            command=("claude",),
            description="Claude Code",
            rules=(*CLAUDE_RULES, *GENERIC_DIALOG_RULES),
            process_names=("claude", "claude.exe", "node"),
            busy_cpu_percent=25.0,
            self_report="claude_session_file",
            delivery=Delivery(enter_delay=0.1),
        ),
        Profile(
            name="codex",
            command=("codex",),
            description="OpenAI Codex CLI",
            rules=(*CODEX_RULES, *GENERIC_DIALOG_RULES),
            process_names=("codex", "codex-*", "node"),
            busy_cpu_percent=25.0,
            delivery=Delivery(enter_delay=0.15),
        ),
        Profile(
            name="gemini",
            command=("gemini",),
            description="Gemini CLI",
            rules=(*GEMINI_RULES, *GENERIC_DIALOG_RULES),
            process_names=("node", "gemini"),
            busy_cpu_percent=25.0,
            delivery=Delivery(enter_delay=0.5),
        ),
        Profile(
            name="aider",
            command=("aider",),
            description="Aider",
            rules=(*AIDER_RULES, *GENERIC_DIALOG_RULES),
            process_names=("aider", "python", "python3*"),
            fallback_status=Status.BUSY,
            fallback_reason="aider's last line is not its prompt, so it is still printing",
            delivery=Delivery(enter_delay=0.1, interrupt_key="C-c"),
        ),
        Profile(
            name="shell",
            command=(),
            description="A plain shell; any command it runs in the foreground counts as busy",
            rules=(*SHELL_RULES, *GENERIC_DIALOG_RULES),
            process_names=tuple(sorted(SHELL_NAMES)),
            child_command_status=Status.BUSY,
            # Lines typed into a shell must run one by one, as typed, not arrive as one pasted block.
            delivery=Delivery(enter_delay=0.05, use_bracketed_paste=False, interrupt_key="C-c"),
        ),
    )
}


# --- User profiles from TOML ----------------------------------------------------------------------------------

PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
PROFILE_KEYS = frozenset(
    {
        "extends",
        "description",
        "command",
        "env",
        "cwd",
        "process_names",
        "rules",
        "generic_rules",
        "delivery",
        "child_command_status",
        "fallback_status",
        "fallback_reason",
        "busy_cpu_percent",
    }
)
RULE_KEYS = frozenset({"name", "status", "pattern", "region", "priority", "unless", "ignore_case"})


def profile_files(project_root: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The user profile files in the order they apply: a later file's profile replaces an earlier one's."""
    environ = os.environ if environ is None else environ
    config_home = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME", "~")).expanduser() / ".config")
    return [config_home / "chorus" / "profiles.toml", Path(project_root) / "chorus.toml"]


def load_profiles(project_root: Path, environ: Mapping[str, str] | None = None) -> dict[str, Profile]:
    """Built-in profiles plus the user's, by name. Raises ProfileConfigError for a file that cannot be used."""
    definitions: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in profile_files(project_root, environ):
        for name, table in _read_profile_tables(path).items():
            definitions[name] = (path, table)
    profiles = dict(BUILTIN_PROFILES)
    resolved: dict[str, Profile] = {}
    for name in definitions:
        profiles[name] = _resolve(name, definitions, resolved, ())
    return profiles


def get_profile(name: str, project_root: Path, environ: Mapping[str, str] | None = None) -> Profile:
    profiles = load_profiles(project_root, environ)
    try:
        return profiles[name]
    except KeyError:
        raise UnknownProfile(name, profiles) from None


def _read_profile_tables(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProfileConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileConfigError(f"{path}: invalid TOML: {exc}") from None
    # chorus.toml may hold other settings too; profiles are the [profiles.NAME] tables.
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ProfileConfigError(f"{path}: 'profiles' must be a table of [profiles.NAME] tables")
    for name, table in tables.items():
        if not PROFILE_NAME.match(name):
            raise ProfileConfigError(
                f"{path}: invalid profile name {name!r}: use letters, digits, '.', '-' or '_' (at most 40)"
            )
        if not isinstance(table, dict):
            raise ProfileConfigError(f"{path}: profiles.{name} must be a table")
    return tables


def _resolve(
    name: str,
    definitions: dict[str, tuple[Path, dict[str, Any]]],
    resolved: dict[str, Profile],
    chain: tuple[str, ...],
) -> Profile:
    if name in resolved:
        return resolved[name]
    path, table = definitions[name]
    where = f"{path}: profiles.{name}"
    if name in chain:
        raise ProfileConfigError(f"{where}: 'extends' loops: {' -> '.join((*chain, name))}")
    try:
        parent_name = table.get("extends")
        if parent_name is not None and not isinstance(parent_name, str):
            raise ValueError("'extends' must be a profile name")
        # A user profile named like a built-in customises that built-in.
        if parent_name is None and name in BUILTIN_PROFILES:
            parent_name = name
        parent = None
        if parent_name is not None:
            if parent_name in definitions and parent_name != name:
                parent = _resolve(parent_name, definitions, resolved, (*chain, name))
            elif parent_name in BUILTIN_PROFILES:
                parent = BUILTIN_PROFILES[parent_name]
            else:
                known = sorted({*BUILTIN_PROFILES, *definitions} - {name})
                raise ValueError(f"extends unknown profile {parent_name!r} (known: {', '.join(known)})")
        profile = _build(name, table, parent)
    except ProfileConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ProfileConfigError(f"{where}: {exc}") from None
    resolved[name] = profile
    return profile


def _build(name: str, table: dict[str, Any], parent: Profile | None) -> Profile:
    unknown = sorted(set(table) - PROFILE_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(PROFILE_KEYS))})")
    rules = tuple(_rule(index, raw) for index, raw in enumerate(_list(table, "rules", dict)))
    if parent is None:
        if "command" not in table:
            raise ValueError("'command' is required (a list of strings) unless the profile extends another")
        if table.get("generic_rules", True):
            rules = (*rules, *GENERIC_DIALOG_RULES)
        base = Profile(name=name, command=())
    else:
        if "generic_rules" in table:
            raise ValueError("'generic_rules' applies only to a profile that extends none (it inherits them)")
        # A rule with an inherited rule's name replaces it; new rules are added.
        own = {rule.name: rule for rule in rules}
        rules = (*(own.pop(rule.name, rule) for rule in parent.rules), *own.values())
        base = parent
    command = tuple(_list(table, "command", str)) if "command" in table else base.command
    if "process_names" in table:
        process_names = tuple(_list(table, "process_names", str))
    elif parent is not None and _program(command) != _program(parent.command):
        process_names = ()  # another program: Profile defaults to its own name
    else:
        process_names = base.process_names
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ValueError("'env' must be a table of strings")
    return Profile(
        name=name,
        command=command,
        description=_typed(table, "description", str, base.description),
        environment={**base.environment, **env},
        cwd=_typed(table, "cwd", str, base.cwd),
        rules=rules,
        process_names=process_names,
        child_command_status=_status(table, "child_command_status", base.child_command_status),
        fallback_status=_status(table, "fallback_status", base.fallback_status),
        fallback_reason=_typed(table, "fallback_reason", str, base.fallback_reason),
        busy_cpu_percent=_typed(table, "busy_cpu_percent", (int, float), base.busy_cpu_percent),
        self_report=base.self_report,
        delivery=_delivery(table.get("delivery", {}), base.delivery),
        extends=parent.name if parent else None,
    )


def _program(command: tuple[str, ...]) -> str:
    return command_name(command[0]) if command else ""


def _rule(index: int, raw: dict[str, Any]) -> Rule:
    where = f"rules[{index}]"
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(RULE_KEYS))})")
    missing = [key for key in ("name", "status", "pattern") if key not in raw]
    if missing:
        raise ValueError(f"{where}: {missing[0]!r} is required")
    try:
        status = _status(raw, "status", None)
        priority = _typed(raw, "priority", int, DEFAULT_PRIORITY.get(status, 0))
        return Rule(
            name=_typed(raw, "name", str, ""),
            status=status,
            pattern=_typed(raw, "pattern", str, ""),
            region=Region.parse(_typed(raw, "region", str, "bottom:15")),
            priority=priority,
            unless=_typed(raw, "unless", str, None),
            ignore_case=_typed(raw, "ignore_case", bool, False),
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _delivery(raw: Any, base: Delivery) -> Delivery:
    if not isinstance(raw, dict):
        raise ValueError("'delivery' must be a table")
    allowed = {"enter_delay": (int, float), "use_bracketed_paste": bool, "submit_key": str, "interrupt_key": str}
    changes = {}
    for key in raw:
        if key not in allowed:
            raise ValueError(f"delivery: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        changes[key] = _typed(raw, key, allowed[key], None)
    return replace(base, **changes)


def _status(table: dict[str, Any], key: str, default: Status | None) -> Status | None:
    raw = table.get(key)
    if raw is None:
        return default
    try:
        return Status(raw)
    except ValueError:
        allowed = ", ".join(status.value for status in Status if status is not Status.UNKNOWN)
        raise ValueError(f"{key!r} must be one of {allowed}, not {raw!r}") from None


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = table.get(key, default)
    if key not in table:
        return value
    # TOML booleans are not numbers here, although bool is a subclass of int in Python.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{key!r} must be {names}, not {value!r}")
    return value


def _list(table: dict[str, Any], key: str, kind: type) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        noun = "tables" if kind is dict else "strings"
        raise ValueError(f"{key!r} must be a list of {noun}")
    return value

# ruff: noqa: RUF001, RUF002, RUF003  -- the glyphs Claude Code really draws (U+276F), not typos for >.
"""Claude Code: its screen rules, its input line, and what it says about itself (its session file and its hooks).

Observed in 2.1.330 (see design.md): the live input line is `❯` + a no-break space between two full-width rules,
and while it runs Claude Code keeps `~/.claude/sessions/<pid>.json`, whose `status` (idle, busy, waiting with
`waitingFor`) changes ~50 ms before the screen and stays right where screen scraping goes wrong. After SIGKILL the
file stays behind saying idle, so a report counts only while its pid is alive and belongs to the pane's process
tree. Hooks passed with `--settings` say which prompt was accepted. Chorus's tools come in with `--mcp-config`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.dialogs import Dialog
from sessions_app.limits import LimitRule
from sessions_app.profiles import Delivery, Profile, Region, Rule, Status
from sessions_app.screen import HORIZONTAL_RULE
from sessions_app.self_report import (
    EditRequest,
    FileWrite,
    Launch,
    PermissionAsk,
    Readiness,
    SelfReport,
    SelfReportPlugin,
    Signal,
)
from sessions_app.stamps import recently
from sessions_app.tools_loader import SERVER_NAME, AgentAccess, ToolsLaunch, ToolsLoader, write_private
from sessions_app.usage import SessionRef, Turn, UsageReader, count

RULES = (
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
    Rule(
        "claude.input_empty",
        Status.IDLE,
        rf"^{HORIZONTAL_RULE}\n[❯>][\u00a0 ]?\n{HORIZONTAL_RULE}$",
        Region.bottom(12),
        110,
    ),
    # A draft in the input line while idle. A draft typed during a busy turn hides "esc to interrupt" and, while
    # text streams, there is no spinner either: the session file is the signal that tells those apart.
    Rule(
        "claude.input_draft",
        Status.IDLE,
        rf"^{HORIZONTAL_RULE}\n[❯>][\u00a0 ]\S[^\n]*\n(?:[^\n]*\n){{0,6}}?{HORIZONTAL_RULE}$",
        Region.bottom(12),
        100,
    ),
)

# Between its two rules: `❯` + NBSP and the draft, whose further lines follow until the lower rule. The older boxed
# renderer draws `>` inside a rounded box, whose top and bottom edges match the same rules.
COMPOSER = Composer(
    prompt=r"^[ \t]*[❯>][\u00a0 ]?(?P<text>.*)$",
    above=rf"^{HORIZONTAL_RULE}$",
    below=rf"^{HORIZONTAL_RULE}$",
    region=15,
    # While idle, the first Ctrl-C empties the input (a second one on an empty input would quit: the service
    # presses it only when the input holds something).
    clear_keys=("C-c",),
)

# Its limit notices, as users quote them (anthropics/claude-code issues #15064, #54698, #55876, #74079): "Claude usage
# limit reached. Your limit will reset at 9am (America/Chicago).", "You've hit your session limit · resets 12:50am
# (America/Los_Angeles)", "You've hit your limit · resets May 5 at 9pm (America/New_York)", "5-hour limit reached
# ∙ resets 3pm". 2.1.330 logged in to a plan, refused by the kit's stand-in (429 rate_limit_error with the unified
# limiter's headers, rejected, and its reset), draws "⎿  You've hit your 5-hour limit · resets 6:22pm (UTC)", then
# "● Usage limit reached · set to continue automatically at 6:22pm" and, above its footer, "⚠ Usage limit reached ·
# limit resets 6:22pm" over "Continuing automatically at 6:22pm · Esc to cancel". With an API key it does not read
# the refusal and shows the API's words: "● API Error: Request rejected (429) · Claude AI usage limit
# reached|1796235600", the reset a Unix time.
LIMITS = (
    LimitRule(
        "claude.usage_limit",
        r"^[^\w\n]*(?:claude )?(?:usage limit reached|you[’']ve hit your (?:[\w-]+ )?limit|\d+-hour limit reached"
        r"|weekly limit reached)"
        r"(?:[^\n]*?\breset(?:s)?(?: at)?\s+(?P<reset>[^\n]+))?",
        words=("limit",),
        # it sends the conversation again by itself at the reset (until Esc cancels that)
        resumes=r"\bcontinu(?:e|ing) automatically\b|\bcontinuing shortly\b",
    ),
    LimitRule(
        "claude.usage_limit_api_error",
        r"^[^\w\n]*api error:[^\n]*?\busage limit reached\|(?P<reset>\d{9,11})\b",
        words=("usage limit",),
    ),
)

# Not ●: Claude Code starts its messages with it.
DIALOG = Dialog()


# --- The session file ---------------------------------------------------------------------------------------------

KNOWN_STATUSES = frozenset({"idle", "busy", "waiting"})
SOURCE = "Claude Code session file"


def claude_home(environment: Mapping[str, str]) -> Path:
    """Claude Code's own directory for an agent run with `environment`: $CLAUDE_CONFIG_DIR (its documented way to
    move it), else $HOME/.claude; the agent's HOME, which a profile's `env` may set, not Chorus's."""
    if environment.get("CLAUDE_CONFIG_DIR"):
        return Path(environment["CLAUDE_CONFIG_DIR"])
    home = environment.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude"


def sessions_dir(environment: Mapping[str, str] | None = None) -> Path:
    """Where an agent run with `environment` (None: Chorus's own) keeps its session files:
    CHORUS_CLAUDE_SESSIONS_DIR when that environment sets it, else the sessions/ of its Claude directory."""
    environment = os.environ if environment is None else environment
    return Path(environment.get("CHORUS_CLAUDE_SESSIONS_DIR") or claude_home(environment) / "sessions")


def session_report(data: Mapping[str, Any], pid_alive: bool | None) -> SelfReport:
    """A session file's content as a self-report."""
    pid = data.get("pid")
    return SelfReport(
        status=str(data.get("status") or ""),
        waiting_for=str(data.get("waitingFor") or ""),
        pid=pid if isinstance(pid, int) else None,
        pid_alive=pid_alive,
        source=SOURCE,
        conversation=str(data.get("sessionId") or ""),
    )


class Processes:
    """What the finder asks about processes (psutil): a seam, so the mapping logic is tested without any."""

    def lineage(self, pid: int) -> list[int]:
        """`pid` and its ancestors, nearest first; empty when it is gone."""
        try:
            process = psutil.Process(pid)
            return [pid, *(parent.pid for parent in process.parents())]
        except psutil.NoSuchProcess:
            return []

    def alive(self, pid: int) -> bool:
        return psutil.pid_exists(pid)


class SessionFileFinder:
    """Maps the session files in the directory to the panes whose process trees own them.

    Per poll it costs one stat of the directory and one of each watched file: the directory is listed again only
    when its mtime changes (a file came or went) or a new pane appears, and a file is parsed only when it changed.
    """

    def __init__(self, directory: Path | None = None, processes: Processes | None = None):
        self.directory = directory or sessions_dir()
        self.processes = processes or Processes()
        self._listed: tuple[int, frozenset[int]] | None = None
        self._pid_for_pane: dict[int, int] = {}
        self._parsed: dict[int, tuple[tuple[int, int, int], SelfReport | None]] = {}

    def refresh(self, pane_pids: set[int]) -> None:
        """Call once per poll with the pids of the panes that run Claude Code."""
        try:
            stamp = os.stat(self.directory).st_mtime_ns
        except OSError:
            self._pid_for_pane.clear()
            self._listed = None
            return
        panes = frozenset(pane_pids)
        if self._listed == (stamp, panes) and not recently(stamp):
            return
        self._listed = (stamp, panes)
        pids = {int(name[:-5]) for name in os.listdir(self.directory) if name.endswith(".json") and name[:-5].isdigit()}
        mapping = {}
        for pid in pids:
            # The pane pid among `panes` that is `pid` or one of its ancestors.
            owner = next((candidate for candidate in self.processes.lineage(pid) if candidate in panes), None)
            if owner is not None:
                mapping[owner] = pid
        self._pid_for_pane = mapping
        self._parsed = {pid: parsed for pid, parsed in self._parsed.items() if pid in pids}

    def report(self, pane_pid: int | None) -> SelfReport | None:
        pid = self._pid_for_pane.get(pane_pid) if pane_pid else None
        if pid is None:
            return None
        path = self.directory / f"{pid}.json"
        try:
            info = os.stat(path)
        except OSError:
            return None
        changed = (info.st_mtime_ns, info.st_ino, info.st_size)
        cached = self._parsed.get(pid)
        if cached is None or cached[0] != changed or recently(info.st_mtime_ns):
            cached = self._parsed[pid] = (changed, self._read(path, pid))
        report = cached[1]
        return report if report is not None and self.processes.alive(pid) else None

    def _read(self, path: Path, pid: int) -> SelfReport | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("status") not in KNOWN_STATUSES or not self.processes.alive(pid):
            return None
        return session_report({**data, "pid": pid}, pid_alive=True)


# --- Hooks, passed with `claude --settings <json>` ----------------------------------------------------------------

# Events worth hearing about: the prompt accepted (delivery confirmation), a dialog opened, a turn ended, an API
# error, the session's end. Notification is left out: it only nudges after 6 s or 60 s.
HOOK_EVENTS = ("UserPromptSubmit", "PermissionRequest", "Stop", "StopFailure", "SessionEnd")

# Writes the payload into the session's hook directory atomically (write, then rename) and exits 0 at once, so
# a slow disk never delays the agent and a missing directory never prints an error into the transcript.
HOOK_COMMAND = (
    'd="$CHORUS_HOOK_DIR"; [ -d "$d" ] || exit 0; f="$d/$(date +%s%N)-$$"; '
    'cat > "$f.part" && mv "$f.part" "$f.json"; exit 0'
)


# The file-writing tools whose changes a PreToolUse hook may refuse: another task's path claims (design.md 5e.1).
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
# Asks Chorus through the pane's own `chorus` twin (the database, not the web server), synchronously: its answer
# decides. The twin is the one beside the credential (sessions_app.tools_loader writes both into one directory), not
# whatever `chorus` comes first on PATH, which may be another Chorus's. A session without Chorus's tools has no
# credential and is not checked; the twin itself allows the edit, saying why on stderr, when Chorus cannot answer.
PRE_EDIT_COMMAND = (
    'c="$CHORUS_AGENT_CREDENTIAL"; t="${c%/*}/bin/chorus"; [ -n "$c" ] && [ -x "$t" ] || exit 0; '
    'exec "$t" agent pre-edit'
)
PRE_EDIT_TIMEOUT = 10
# The permission dialog's hook: Chorus's approval policy answers it (allow or deny, with the reason), or prints
# nothing and the dialog opens for the person. It fires only where Claude Code would ask, so the user's own allowed
# tools never reach it; the claims check stays a PreToolUse hook of its own, as it must run for every edit.
PERMISSION_COMMAND = PRE_EDIT_COMMAND.replace("agent pre-edit", "agent permission")
PERMISSION_TIMEOUT = 10
# The file-writing tools, whose PostToolUse payloads say which file the agent changed (change attribution). They
# go into a directory of their own, which the worker's signal reading leaves alone: the tasks' watch consumes them.
FILE_TOOLS = EDIT_TOOLS
FILES_DIR = "files"
FILES_HOOK_COMMAND = HOOK_COMMAND.replace('d="$CHORUS_HOOK_DIR"', f'd="$CHORUS_HOOK_DIR/{FILES_DIR}"')


def hook_settings() -> str:
    """Inline JSON for `--settings`: it merges with the user's settings and never edits their files."""
    hook = {"type": "command", "command": HOOK_COMMAND, "timeout": 5, "async": True}
    hooks: dict[str, list] = {event: [{"hooks": [hook]}] for event in HOOK_EVENTS}
    pre_edit = {"type": "command", "command": PRE_EDIT_COMMAND, "timeout": PRE_EDIT_TIMEOUT}
    hooks["PreToolUse"] = [{"matcher": "|".join(EDIT_TOOLS), "hooks": [pre_edit]}]
    permission = {"type": "command", "command": PERMISSION_COMMAND, "timeout": PERMISSION_TIMEOUT}
    hooks["PermissionRequest"] = [*hooks["PermissionRequest"], {"hooks": [permission]}]
    hooks["PostToolUse"] = [{"matcher": "|".join(FILE_TOOLS), "hooks": [{**hook, "command": FILES_HOOK_COMMAND}]}]
    return json.dumps({"hooks": hooks}, separators=(",", ":"))


def edit_request(payload: object) -> EditRequest | None:
    """The file a PreToolUse payload of a file-writing tool would change (`tool_input.file_path`, or
    `notebook_path` for NotebookEdit), with the agent's working directory."""
    if not isinstance(payload, dict) or payload.get("hook_event_name") != "PreToolUse":
        return None
    tool, arguments = payload.get("tool_name"), payload.get("tool_input")
    if tool not in EDIT_TOOLS or not isinstance(arguments, dict):
        return None
    path = arguments.get("notebook_path") if tool == "NotebookEdit" else arguments.get("file_path")
    path = path or arguments.get("file_path")
    if not isinstance(path, str) or not path:
        return None
    cwd = payload.get("cwd")
    return EditRequest(tool, path, cwd if isinstance(cwd, str) else "")


def permission_request(payload: object) -> PermissionAsk | None:
    """What a PermissionRequest payload asks: the tool, a Bash command's text, the file a file tool names (or a
    Read, Grep or Glob's path)."""
    if not isinstance(payload, dict) or payload.get("hook_event_name") != "PermissionRequest":
        return None
    tool, arguments = payload.get("tool_name"), payload.get("tool_input")
    if not isinstance(tool, str) or not tool:
        return None
    arguments = arguments if isinstance(arguments, dict) else {}
    command = arguments.get("command") if isinstance(arguments.get("command"), str) else ""
    files = tuple(
        value
        for key in ("file_path", "notebook_path", "path")
        if isinstance(value := arguments.get(key), str) and value
    )
    cwd = payload.get("cwd")
    return PermissionAsk(tool, command, files, cwd if isinstance(cwd, str) else "")


def permission_answer(decision: str, reason: str) -> str:
    """A PermissionRequest hook's answer: allow or deny with the reason the agent reads; nothing for ask."""
    if decision not in ("allow", "deny"):
        return ""
    verdict = {"behavior": decision, **({"message": reason} if decision == "deny" else {})}
    return json.dumps({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": verdict}})


def edit_refusal(reason: str) -> str:
    """A PreToolUse hook's refusal: the tool does not run and the agent reads the reason."""
    decision = {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}
    return json.dumps({"hookSpecificOutput": decision})


def hooks_disabled_by(environment: Mapping[str, str]) -> Path | None:
    """The user settings file that turns every hook off (`"disableAllHooks": true`) for an agent run with
    `environment`, if it does. That turns ours off too; overriding it would re-enable theirs, so Chorus only
    warns."""
    path = claude_home(environment) / "settings.json"
    try:
        disabled = json.loads(path.read_text()).get("disableAllHooks") is True
    except (OSError, ValueError, AttributeError):
        return None
    return path if disabled else None


def _consume(directory: Path) -> list[dict]:
    """The JSON objects in `directory`'s payload files, oldest first; each file is removed once read."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".json"))
    except (FileNotFoundError, NotADirectoryError):
        return []
    payloads = []
    for name in names:
        path = directory / name
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            payload = None
        path.unlink(missing_ok=True)
        if isinstance(payload, dict):
            payloads.append(payload)
    return payloads


def read_hook_events(directory: Path) -> list[dict]:
    """The hook payloads written since the last call, oldest first; each file is consumed."""
    return [payload for payload in _consume(directory) if payload.get("hook_event_name") in HOOK_EVENTS]


def read_file_writes(directory: Path) -> list[FileWrite]:
    """The files named by the PostToolUse payloads of file-writing tools written since the last call, oldest
    first; each payload file is consumed. A notebook's tool names `notebook_path`, the others `file_path`."""
    writes = []
    for payload in _consume(directory / FILES_DIR):
        tool_input = payload.get("tool_input")
        if payload.get("hook_event_name") != "PostToolUse" or payload.get("tool_name") not in FILE_TOOLS:
            continue
        if not isinstance(tool_input, dict):
            continue
        path = tool_input.get("notebook_path") or tool_input.get("file_path")
        if isinstance(path, str) and path:
            cwd = payload.get("cwd")
            writes.append(FileWrite(path, cwd if isinstance(cwd, str) else ""))
    return writes


# A pasted prompt comes back in UserPromptSubmit wrapped in these tags, the paste's text between them.
PASTED_CONTENT = re.compile(r"</?pasted_content\b[^>]*>")


def submitted_text(prompt: str) -> str:
    """The text a UserPromptSubmit payload's prompt holds, without the tags that wrap a pasted part."""
    return PASTED_CONTENT.sub("", prompt)


def signal(payload: dict) -> Signal:
    """What a hook payload tells the worker."""
    kind = payload["hook_event_name"]
    if kind == "UserPromptSubmit" and isinstance(payload.get("prompt"), str):
        return Signal("prompt_accepted", submitted_text(payload["prompt"]))
    if kind == "StopFailure":
        # 2.1.330 at a plan's limit: {"error": "rate_limit", "last_assistant_message": "You've hit your 5-hour limit
        # · resets 6:46pm (UTC)"}: the message is what its limit rules read
        said = payload.get("last_assistant_message") or payload.get("error") or payload.get("reason")
        return Signal("error", str(said or "the model request failed"))
    return Signal("activity")


class SessionFile(SelfReportPlugin):
    """Claude Code's session file for its state, its hooks for the prompt it accepted and its errors."""

    name = "claude_session_file"
    confirmation = "UserPromptSubmit hook"

    def launch(self, hook_dir: Path, environment: Mapping[str, str] | None = None) -> Launch:
        shutil.rmtree(hook_dir, ignore_errors=True)
        hook_dir.mkdir(parents=True, mode=0o700)
        (hook_dir / FILES_DIR).mkdir(mode=0o700)
        warnings = ()
        disabled = hooks_disabled_by(os.environ if environment is None else environment)
        if disabled is not None:
            warnings = (f"{disabled} sets disableAllHooks: Chorus relies on the session file alone",)
        return Launch(("--settings", hook_settings()), {"CHORUS_HOOK_DIR": str(hook_dir)}, warnings)

    def reader(self, environment: Mapping[str, str] | None = None) -> SessionFileFinder:
        return SessionFileFinder(sessions_dir(environment))

    def signals(self, hook_dir: Path) -> list[Signal]:
        return [signal(payload) for payload in read_hook_events(hook_dir)]

    def edit_request(self, payload: object) -> EditRequest | None:
        return edit_request(payload)

    def edit_refusal(self, reason: str) -> str:
        return edit_refusal(reason)

    def files_written(self, hook_dir: Path) -> list[FileWrite]:
        return read_file_writes(hook_dir)

    def permission_request(self, payload: object) -> PermissionAsk | None:
        return permission_request(payload)

    def permission_answer(self, decision: str, reason: str) -> str:
        return permission_answer(decision, reason)

    def readiness(self, environment: Mapping[str, str]) -> list[Readiness]:
        directory = sessions_dir(environment)
        found = (
            Readiness(True, f"session files in {directory}")
            if directory.is_dir()
            else Readiness(
                False,
                f"no session-file directory {directory}: its status comes from the screen alone",
                "run Claude Code once (it makes the directory), or set CHORUS_CLAUDE_SESSIONS_DIR",
            )
        )
        disabled = hooks_disabled_by(environment)
        hooks = (
            Readiness(
                False,
                f"{disabled} sets disableAllHooks: no prompt confirmations or errors from its hooks",
                "remove disableAllHooks from that file",
            )
            if disabled
            else Readiness(True, f"hooks enabled ({claude_home(environment) / 'settings.json'})")
        )
        return [found, hooks]


SESSION_FILE = SessionFile()


# --- Chorus's tools ---------------------------------------------------------------------------------------------


def mcp_config(url: str, secret: str) -> dict:
    """The `--mcp-config` file: an HTTP (streamable) server with its bearer header, in the `mcpServers` format of
    `.mcp.json` (code.claude.com/docs/en/mcp: "type": "http", "url", "headers")."""
    server = {"type": "http", "url": url, "headers": {"Authorization": f"Bearer {secret}"}}
    return {"mcpServers": {SERVER_NAME: server}}


class McpConfigFile(ToolsLoader):
    """Claude Code's `--mcp-config <file>` (code.claude.com/docs/en/cli-reference) adds the file's servers to the
    user's own; without `--strict-mcp-config` theirs stay. `--allowedTools mcp__chorus` lets the agent call
    Chorus's tools without a permission dialog each time: the credential's tier bounds what they can do."""

    name = "claude_mcp_config"

    def launch(self, access: AgentAccess) -> ToolsLaunch:
        path = write_private(access.directory / "claude-mcp.json", json.dumps(mcp_config(access.url, access.secret)))
        # Claude Code names a server's tools mcp__<server>__<tool>; a rule naming the server alone allows them all.
        return ToolsLaunch(("--mcp-config", str(path), "--allowedTools", f"mcp__{SERVER_NAME}"))


MCP_CONFIG = McpConfigFile()

# --- Usage: its transcript ----------------------------------------------------------------------------------------

# Claude Code names a project's transcript directory after its working directory, every other character a dash.
PROJECT_SLUG = re.compile(r"[^A-Za-z0-9]")
# Claude Code writes one transcript line per content block of a message, each with the message's whole usage: the
# keys of the last few messages counted are remembered so that the next block of one is not counted again.
RECENT_KEYS = 8


def transcript_path(environment: Mapping[str, str], cwd: str, session_id: str) -> Path:
    """Where Claude Code keeps the transcript of conversation `session_id` started in `cwd` (the same path its hook
    payloads give as `transcript_path`)."""
    return claude_home(environment) / "projects" / PROJECT_SLUG.sub("-", cwd) / f"{session_id}.jsonl"


SYNTHETIC_MODEL = "<synthetic>"


class Transcript(UsageReader):
    """The usage of each assistant message in Claude Code's transcript (`message.usage`), found through the session
    file of the agent in the session's pane (its `tmux` names the pane, its `sessionId` the conversation)."""

    name = "claude_transcript"

    def files(self, session: SessionRef, environment: Mapping[str, str] | None = None) -> list[Path]:
        environment = os.environ if environment is None else environment
        directory = sessions_dir(environment)
        try:
            names = [entry.path for entry in os.scandir(directory) if entry.name.endswith(".json")]
        except OSError:
            return []
        found = []
        for name in names:
            try:
                data = json.loads(Path(name).read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or not isinstance(data.get("sessionId"), str):
                continue
            pane = str(data.get("tmux") or "").rpartition(".")[2]
            if session.pane_id and pane == session.pane_id:
                found.append(transcript_path(environment, str(data.get("cwd") or session.cwd), data["sessionId"]))
        return found

    def turn(self, record: dict, memo: dict[str, Any]) -> Turn | None:
        message = record.get("message")
        if record.get("type") != "assistant" or not isinstance(message, dict):
            return None
        # A refused request is written as an assistant message of its own (2.1.330: `isApiErrorMessage`, model
        # "<synthetic>", zero usage, the notice as its text, `apiError` "usage_limit_reached"): no model's turn.
        if record.get("isApiErrorMessage") or message.get("model") == SYNTHETIC_MODEL:
            return None
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return None
        key = f"{message.get('id') or ''}:{record.get('requestId') or ''}"
        recent = memo.get("recent", [])
        if key != ":" and key in recent:
            return None
        memo["recent"] = [*recent[1 - RECENT_KEYS :], key]
        return Turn(
            model=str(message.get("model") or "unknown"),
            input=count(usage.get("input_tokens")),
            output=count(usage.get("output_tokens")),
            cache_read=count(usage.get("cache_read_input_tokens")),
            cache_write=count(usage.get("cache_creation_input_tokens")),
        )


TRANSCRIPT = Transcript()

PROFILE = Profile(
    name="claude",
    command=("claude",),
    description="Claude Code",
    agent=True,
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=("claude", "claude.exe", "node"),
    busy_cpu_percent=25.0,
    composer=COMPOSER,
    dialog=DIALOG,
    self_report=SESSION_FILE,
    delivery=Delivery(enter_delay=0.1),
    tools_loader=MCP_CONFIG,
    limits=LIMITS,
    # its session id (the session file's sessionId, every hook payload's session_id)
    resume=("--resume", "{conversation}"),
    usage_reader=TRANSCRIPT,
)

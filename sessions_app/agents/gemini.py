"""Gemini CLI: its screen and title rules, its input box and its dialogs.

The input (packages/cli/src/ui/components/InputPrompt.tsx) is `> ` (`! ` in shell mode, `* ` in YOLO mode,
`(r:) ` while searching) inside a rounded box, or between two horizontal lines, or between half-block lines
(▀ ▄) when it paints a background; empty, it shows the placeholder "Type your message or @path/to/file".
Chorus's tools come in through a system settings file of the session's own.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.conversations import ConversationFinder
from sessions_app.dialogs import DEFAULT_MARKERS, Dialog, PermissionScreen
from sessions_app.limits import LimitRule
from sessions_app.profiles import TITLE, Delivery, Profile, Region, Rule, Status
from sessions_app.screen import HORIZONTAL_RULE
from sessions_app.self_report import Readiness
from sessions_app.tools_loader import SERVER_NAME, AgentAccess, ToolsLaunch, ToolsLoader, write_private
from sessions_app.usage import SessionRef, Turn, UsageReader, count

# Gemini's radio buttons mark the chosen option with ●, and every menu it draws has one chosen; numbered lines
# without it are its start-up tips. Between the question and the options it may draw a hint.
DIALOG = Dialog(markers=DEFAULT_MARKERS + "●", question_lines=3, needs_selection=True)

RULES = (
    # The title says "Action Required" for a tool's confirmation and for a question alike: the box tells them apart.
    Rule("gemini.question_dialog", Status.WAITING, r"^[ \t]*Answer Questions?[ \t]*$", Region.bottom(25), 345),
    Rule(
        "gemini.tool_confirmation",
        Status.WAITING,
        r"^[ \t]*(?:Allow execution of\b[^\n]*\?|Apply this change\?|Do you want to proceed\?)[ \t]*$",
        Region.bottom(25),
        340,
    ),
    Rule("gemini.title_action_required", Status.WAITING, r"✋\s*Action Required", TITLE, 330),
    Rule.for_menu("gemini.option_menu", DIALOG, Region.bottom(20), 310),
    Rule("gemini.title_working", Status.BUSY, r"✦\s*Working", TITLE, 250),
    Rule("gemini.esc_to_cancel", Status.BUSY, r"\(esc to cancel, ?\d", Region.bottom(10), 220, ignore_case=True),
    Rule("gemini.input_box", Status.IDLE, r"^[ \t]*>[ \t\u00a0]|Type your message", Region.bottom(8), 100),
    # The title says Ready during first-run dialogs too, so it ranks below every screen rule.
    Rule("gemini.title_ready", Status.IDLE, r"◇\s*Ready", TITLE, 90),
)

# The input line's edges: a full-width rule or a rounded box's edge, half blocks when it paints a background in
# true colour, or, with 256 colours (0.61.0 in tmux), a background-painted line that a plain capture reads blank.
_EDGE = rf"^(?:{HORIZONTAL_RULE}|[▀▄]{{8,}}|)$"

COMPOSER = Composer(
    prompt=r"^[ \t]?(?:[>!*]|\(r:\))(?:[ \t\u00a0]+(?P<text>.*))?$",
    above=_EDGE,
    below=_EDGE,
    placeholders=("Type your message or @path/to/file",),
    region=20,
    # Below the input only its footer (folder, sandbox, model): a prompt echoed in the transcript has more.
    footer=4,
    # Ctrl-C empties an input that holds text (on an empty one it asks to press it again to quit).
    clear_keys=("C-c",),
)

# Gemini CLI reads four settings files (google-gemini/gemini-cli docs/cli/configuration.md): system defaults, the
# user's, the project's, and the system settings, which override them all and whose path GEMINI_CLI_SYSTEM_SETTINGS_PATH
# replaces. `mcpServers` is merged key by key across them (its settings schema: SHALLOW_MERGE), so a server in the
# system file joins the user's and the project's servers.
SYSTEM_SETTINGS_VARIABLE = "GEMINI_CLI_SYSTEM_SETTINGS_PATH"
SYSTEM_SETTINGS = {
    "darwin": Path("/Library/Application Support/GeminiCli/settings.json"),
    "linux": Path("/etc/gemini-cli/settings.json"),
}


def system_settings_path(environ: Mapping[str, str], platform: str = sys.platform) -> Path | None:
    """The system settings file Gemini CLI would read without Chorus."""
    if environ.get(SYSTEM_SETTINGS_VARIABLE):
        return Path(environ[SYSTEM_SETTINGS_VARIABLE])
    return SYSTEM_SETTINGS.get(platform)


def settings_with_server(system: dict, url: str, secret: str) -> dict:
    """The system settings with Chorus's server added: `httpUrl` is streamable HTTP (`url` would be SSE), `headers`
    go with every request, and `trust` spares a confirmation per call (the credential's tier bounds them)."""
    server = {"httpUrl": url, "headers": {"Authorization": f"Bearer {secret}"}, "trust": True}
    return {**system, "mcpServers": {**system.get("mcpServers", {}), SERVER_NAME: server}}


def read_system_settings(path: Path | None) -> tuple[dict, tuple[str, ...]]:
    """The administrator's system settings (they keep applying to the session), and a warning if unreadable."""
    if path is None:
        return {}, ()
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ()
    except (OSError, ValueError) as exc:
        return {}, (f"Gemini CLI's system settings {path} cannot be read ({exc}); this session goes without them",)
    if not isinstance(settings, dict) or not isinstance(settings.get("mcpServers", {}), dict):
        return {}, (f"Gemini CLI's system settings {path} are not a settings object; this session goes without them",)
    return settings, ()


def _hides_title(path: Path) -> bool | None:
    """Whether the settings file sets ui.hideWindowTitle (None: it says nothing of it, or cannot be read)."""
    try:
        ui = json.loads(path.read_text(encoding="utf-8")).get("ui", {})
    except (OSError, ValueError, AttributeError):
        return None
    value = ui.get("hideWindowTitle") if isinstance(ui, dict) else None
    return value if isinstance(value, bool) else None


def title_check(environment: Mapping[str, str]) -> list[Readiness]:
    """Its pane title (Ready, Working, Action Required) is on unless `ui.hideWindowTitle` is set in the settings
    file that decides it: the system settings override the project's, which override the user's."""
    from django.conf import settings

    files = [
        system_settings_path(environment),
        Path(settings.PROJECT_ROOT) / ".gemini" / "settings.json",
        Path(environment.get("HOME", "~")).expanduser() / ".gemini" / "settings.json",
    ]
    for path in files:
        hides = _hides_title(path) if path is not None else None
        if hides:
            return [
                Readiness(
                    False,
                    f"{path} sets ui.hideWindowTitle: no pane title, its status comes from the screen alone",
                    "remove ui.hideWindowTitle from that file",
                )
            ]
        if hides is False:
            break
    return [Readiness(True, "pane title on (ui.hideWindowTitle not set)")]


class SystemSettingsFile(ToolsLoader):
    """A system settings file of the session's own, holding the administrator's settings and Chorus's server,
    named by GEMINI_CLI_SYSTEM_SETTINGS_PATH: the user's own settings files are neither edited nor replaced."""

    name = "gemini_system_settings"

    def launch(self, access: AgentAccess) -> ToolsLaunch:
        system, warnings = read_system_settings(system_settings_path(access.environment))
        text = json.dumps(settings_with_server(system, access.url, access.secret), indent=2)
        path = write_private(access.directory / "gemini-settings.json", text)
        return ToolsLaunch(environment={SYSTEM_SETTINGS_VARIABLE: str(path)}, warnings=warnings)


SYSTEM_SETTINGS_FILE = SystemSettingsFile()

# --- Usage: its chat recording ------------------------------------------------------------------------------------


# How many recently counted message ids a recording's memo keeps: Gemini CLI writes a message again, with the same id
# and tokens, when its tool calls are added.
RECENT_IDS = 8


class ChatRecording(UsageReader):
    """Gemini CLI 0.61.0's chat recording, as it wrote it in the conformance kit: `~/.gemini/tmp/<the project's
    short name>/chats/session-<start>-<first 8 of the id>.jsonl` (the short name from `~/.gemini/projects.json`,
    which maps each working directory to one), lines appended as the conversation goes: first the conversation's
    record (`sessionId`, `projectHash`, `startTime`, `kind`), then one line per message (`id`, `type` user or
    gemini, `content`, and for a gemini message `tokens` {input, output, cached, thoughts, tool, total} and
    `model`), `{"$set": ...}` lines updating the record. A gemini message is written again with the same id and
    tokens when its tool calls are added: counted once. input includes the cached part; thoughts and tool-use
    prompts are billed as output and input."""

    name = "gemini_chat_recording"

    def files(self, session: SessionRef, environment: Mapping[str, str] | None = None) -> list[Path]:
        environment = os.environ if environment is None else environment
        found = []
        for chats in chats_directories(gemini_home(environment), session.cwd):
            try:
                entries = [entry for entry in os.scandir(chats) if entry.name.startswith("session-")]
            except OSError:
                continue
            found += [
                Path(entry.path)
                for entry in entries
                if entry.name.endswith(".jsonl") and entry.stat().st_mtime >= session.created_at
            ]
        return sorted(found)

    def turn(self, record: dict, memo: dict[str, Any]) -> Turn | None:
        tokens = record.get("tokens")
        if record.get("type") != "gemini" or not isinstance(tokens, dict):
            return None
        key = str(record.get("id") or "")
        recent = memo.get("recent", [])
        if key and key in recent:
            return None
        memo["recent"] = [*recent[1 - RECENT_IDS :], key]
        cached = min(count(tokens.get("cached")), count(tokens.get("input")))
        return Turn(
            model=str(record.get("model") or "unknown"),
            input=count(tokens.get("input")) - cached + count(tokens.get("tool")),
            output=count(tokens.get("output")) + count(tokens.get("thoughts")),
            cache_read=cached,
        )


CHAT_RECORDING = ChatRecording()


def gemini_home(environment: Mapping[str, str]) -> Path:
    home = Path(environment["HOME"]) if environment.get("HOME") else Path.home()
    return home / ".gemini"


def chats_directories(gemini: Path, cwd: str) -> list[Path]:
    """Where Gemini CLI records the conversations it has in `cwd`: under the short name `projects.json` gives the
    directory (0.61.0), and under the sha256 of the directory (the versions before it)."""
    found = []
    try:
        projects = json.loads((gemini / "projects.json").read_text(encoding="utf-8")).get("projects") or {}
        short = projects.get(os.path.normpath(cwd)) if isinstance(projects, dict) else None
    except (OSError, ValueError, AttributeError):
        short = None
    if isinstance(short, str) and short and "/" not in short and short not in (".", ".."):
        found.append(gemini / "tmp" / short / "chats")
    found.append(gemini / "tmp" / hashlib.sha256(cwd.encode()).hexdigest() / "chats")
    return found


class ChatFinder(ConversationFinder):
    """A session's conversation is the first chat recording of its directory started at or after the session
    (its first line's `sessionId` and `startTime`); two Gemini sessions started in one directory at the same moment
    cannot be told apart: the earlier wins."""

    name = "gemini_chat_recording"

    def find(self, environment: Mapping[str, str], cwd: str, since: datetime.datetime) -> str | None:
        found = []
        for chats in chats_directories(gemini_home(environment), cwd):
            for path in chats.glob("session-*.jsonl"):
                try:
                    with open(path, encoding="utf-8") as file:
                        data = json.loads(file.readline())
                    started = datetime.datetime.fromisoformat(data["startTime"])
                    conversation = str(data["sessionId"])
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    continue  # being written, or not a recording
                if started >= since and data.get("kind", "main") == "main":
                    found.append((started, conversation))
        return min(found)[1] if found else None


CHATS = ChatFinder()


# Quota notices (google-gemini/gemini-cli issues #3796, #11461, #17081, #26696): "You have reached your daily
# gemini-2.5-pro quota limit.", "Usage limit reached for gemini-3-flash-preview", "Individual quota reached.
# Resets in 157h". A bare 429 (RESOURCE_EXHAUSTED, "please wait and try again later") is a rate limit it retries
# by itself, not a plan's limit, so it is no rule here.
LIMITS = (
    LimitRule(
        "gemini.quota_limit",
        r"^[^\w\n]*(?:you have (?:reached your daily (?:[\w.-]+ )?quota limit|exhausted your (?:daily )?quota)"
        r"|usage limit reached for|(?:individual )?quota (?:limit )?reached)"
        r"(?:[^\n]*?\b(?:resets?|try again)\s+(?P<reset>[^\n]+))?",
        words=("quota", "limit"),
    ),
)

# Its shell confirmation, in a box: "? Shell  <command>" over "Allow execution of [Shell]?", then "1. Allow once",
# "2. Allow for this session", "3. No, suggest changes (esc)" (0.61.0, tests/fixtures/gemini-0.61.0).
PERMISSION_SCREEN = PermissionScreen(
    question=r"Allow execution of \[Shell\]\?",
    command=r"^[│ \t]*\?\s+Shell\s+(?P<command>\S.*?)[│ \t]*$",
    allow=r"^Allow once\b",
    deny=r"^No\b",
)

PROFILE = Profile(
    name="gemini",
    command=("gemini",),
    description="Gemini CLI",
    agent=True,
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=("node", "gemini"),
    busy_cpu_percent=25.0,
    composer=COMPOSER,
    dialog=DIALOG,
    permission_screen=PERMISSION_SCREEN,
    # An Enter right after the typed text is not taken as submit; about 0.5 s later it is.
    delivery=Delivery(enter_delay=0.5),
    tools_loader=SYSTEM_SETTINGS_FILE,
    limits=LIMITS,
    # `gemini --resume <session id>`
    resume=("--resume", "{conversation}"),
    conversation_finder=CHATS,
    usage_reader=CHAT_RECORDING,
    signal_check=title_check,
)

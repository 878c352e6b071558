# ruff: noqa: RUF001, RUF002, RUF003  -- the glyphs Codex really draws (U+203A), not typos for >.
"""OpenAI Codex CLI: its screen and title rules and its composer.

The composer line starts with `›` (`▌` on every line of it in older releases, before 0.4x) and shows a dimmed
placeholder when empty; captured without colours the placeholder reads as text, so the rule knows the phrases
(codex-rs/tui: the composer's default and chatwidget's PLACEHOLDERS and SIDE_PLACEHOLDERS). Its dialogs select
with the same `›`, so a line drawn like a numbered option is never the composer. Chorus's tools come in with `-c`
overrides of its MCP configuration.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.conversations import ConversationFinder
from sessions_app.dialogs import Dialog, PermissionScreen
from sessions_app.limits import LimitRule
from sessions_app.profiles import TITLE, Delivery, Profile, Region, Rule, Status
from sessions_app.tools_loader import SERVER_NAME, AgentAccess, ToolsLaunch, ToolsLoader
from sessions_app.usage import SessionRef, Turn, UsageReader, count

# Its dialogs select with the same `›` as the composer, and draw the question a few lines above the options (the
# approval shows the command and the reason between them).
DIALOG = Dialog(question_lines=5)

RULES = (
    # The approval prompt's question, so the reason says what is asked (the title says only "Action Required").
    Rule(
        "codex.approval_question",
        Status.WAITING,
        r"^[ \t]*(?:Would you like to|Do you want to|Allow)\b[^\n]*\?[ \t]*$",
        Region.bottom(15),
        340,
    ),
    # Every Codex dialog (approvals, questions, first-run trust and sign-in) ends with a hint how to confirm:
    # "Press enter to confirm or esc to cancel", "enter continue · esc back", "enter to submit answer".
    Rule(
        "codex.dialog_hint",
        Status.WAITING,
        r"(?:^[ \t]*|[|·•][ \t]*)(?:press )?enter (?:to )?(?:confirm|continue|submit|select)\b",
        Region.bottom(3),
        335,
        ignore_case=True,
    ),
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

# codex-rs's usage-limit error, as 0.169.0 draws it against the kit's stand-in (its 429 usage_limit_reached body with
# resets_at): "■ You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit ... to purchase
# more credits or try again" wrapped onto "at 6:20 PM." (the reset formatted "%-I:%M %p", with its date when not
# today: "Dec 29th, 2025 10:15 PM"); "You've hit your usage limit for <model>"; "Try again later." when it names no
# reset. The notice wraps at the pane's width, so the reset is looked for over the next lines, up to its full stop.
LIMITS = (
    LimitRule(
        "codex.usage_limit",
        r"^[^\w\n]*you[’']ve hit your usage limit\b(?:(?:[^\n]*\n){0,4}?[^\n]*?\btry\s+again\s+"
        r"(?P<reset>(?:in|at)\s[^.]{1,60}?)\.(?=\s|$))?",
        words=("usage limit",),
    ),
)

PLACEHOLDERS = (
    "Ask Codex to do anything",
    "Describe a task like 'write tests for <filepath>'",
    "Explain this codebase",
    "Summarize recent commits",
    "Implement {feature}",
    "Find and fix a bug in @filename",
    "Write tests for @filename",
    "Improve documentation in @filename",
    "Run /review on my current changes",
    "Use /skills to list available skills",
    "Check recently modified functions for compatibility",
    "How many files have been modified?",
    "Will this algorithm scale well?",
)

# A draft's further lines are indented under its first (two columns: the glyph and a blank), or, in the older
# look, marked with ▌ too. Below the composer only its footer follows (one or two lines of hints).
COMPOSER = Composer(
    prompt=r"^[ \t]?[›▌](?:[ \t\u00a0](?P<text>.*))?$",
    continuation=r"^(?:  |[ \t]?▌(?:[ \t\u00a0]|$))(?P<text>.*)$",
    placeholders=PLACEHOLDERS,
    region=20,
    footer=2,
    # Ctrl-C empties a composer that holds text (on an empty one it would quit: the service presses it only when
    # the input holds something).
    clear_keys=("C-c",),
)

# Codex sends the value of this variable as `Authorization: Bearer ...`; the launcher sets it from the credential
# file, so the secret is in no argv. Codex's shell tool drops variables named *TOKEN* from the commands it runs
# (shell_environment_policy's default excludes).
TOKEN_VARIABLE = "CHORUS_AGENT_TOKEN"  # noqa: S105  -- the name of a variable, not its value


class McpOverrides(ToolsLoader):
    """`-c key=value` overrides of config.toml for this run only (openai/codex docs/config.md: the value is TOML;
    a streamable HTTP server is `[mcp_servers.<name>]` with `url` and `bearer_token_env_var`). The user's
    config.toml and its servers stay as they are."""

    name = "codex_mcp_overrides"

    def launch(self, access: AgentAccess) -> ToolsLaunch:
        # A JSON string of printable characters is a TOML basic string too.
        settings = {"url": access.url, "bearer_token_env_var": TOKEN_VARIABLE}
        arguments = [("-c", f"mcp_servers.{SERVER_NAME}.{key}={json.dumps(value)}") for key, value in settings.items()]
        return ToolsLaunch(tuple(part for pair in arguments for part in pair), token_variable=TOKEN_VARIABLE)


MCP_OVERRIDES = McpOverrides()

# --- Usage: its session rollout files ----------------------------------------------------------------------------

# The cumulative counts of a token_count event (codex-rs protocol TokenUsage). input_tokens includes the cached part,
# output_tokens the reasoning part (as the Responses API counts them), so neither is added twice.
TOTALS = ("input_tokens", "cached_input_tokens", "output_tokens")


def codex_home(environment: Mapping[str, str]) -> Path:
    """$CODEX_HOME, else $HOME/.codex (of the agent's environment)."""
    if environment.get("CODEX_HOME"):
        return Path(environment["CODEX_HOME"])
    home = environment.get("HOME")
    return (Path(home) if home else Path.home()) / ".codex"


def rollout_cwd(path: Path) -> str | None:
    """The working directory in a rollout's first line (`session_meta`), if it has one."""
    try:
        with open(path, "rb") as file:
            first = json.loads(file.readline())
    except (OSError, ValueError):
        return None
    payload = first.get("payload") if isinstance(first, dict) else None
    if not isinstance(payload, dict) or first.get("type") != "session_meta":
        return None
    return str(payload.get("cwd") or "") or None


class Rollout(UsageReader):
    """Codex's session rollout (`sessions/YYYY/MM/DD/rollout-*.jsonl`): each `token_count` event carries the
    session's cumulative totals, so a turn is the growth since the last one counted, and an event repeated with the
    same totals counts nothing. The model comes from the `turn_context` line before it. A rollout is the session's
    when it was written since the session started, in the session's working directory."""

    name = "codex_rollout"

    def files(self, session: SessionRef, environment: Mapping[str, str] | None = None) -> list[Path]:
        root = codex_home(os.environ if environment is None else environment) / "sessions"
        start = datetime.datetime.fromtimestamp(session.created_at, tz=datetime.UTC).date()
        today = datetime.datetime.now(tz=datetime.UTC).date()
        found = []
        for offset in range((today - start).days + 2):
            day = start + datetime.timedelta(days=offset - 1)
            directory = root / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"
            try:
                entries = [entry for entry in os.scandir(directory) if entry.name.startswith("rollout-")]
            except OSError:
                continue
            found += [
                Path(entry.path)
                for entry in entries
                if entry.name.endswith(".jsonl")
                and entry.stat().st_mtime >= session.created_at
                and rollout_cwd(Path(entry.path)) == session.cwd
            ]
        return sorted(found)

    def turn(self, record: dict, memo: dict[str, Any]) -> Turn | None:
        payload = record.get("payload")
        if not isinstance(payload, dict):
            return None
        if record.get("type") == "turn_context" and isinstance(payload.get("model"), str):
            memo["model"] = payload["model"]
            return None
        info = payload.get("info")
        if record.get("type") != "event_msg" or payload.get("type") != "token_count" or not isinstance(info, dict):
            return None
        totals = info.get("total_token_usage")
        if not isinstance(totals, dict):
            return None
        now = {key: count(totals.get(key)) for key in TOTALS}
        before = memo.get("totals") or dict.fromkeys(TOTALS, 0)
        growth = {key: now[key] - before.get(key, 0) for key in TOTALS}
        if any(value < 0 for value in growth.values()):
            growth = now  # the totals started again (a new conversation in the same file)
        memo["totals"] = now
        if not any(growth.values()):
            return None
        cached = min(growth["cached_input_tokens"], growth["input_tokens"])
        return Turn(
            model=str(memo.get("model") or "unknown"),
            input=growth["input_tokens"] - cached,
            output=growth["output_tokens"],
            cache_read=cached,
        )


ROLLOUT = Rollout()


class RolloutFinder(ConversationFinder):
    """Codex records each conversation in `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`, whose first
    line is its `session_meta` (`payload.id`, `payload.cwd`, `payload.timestamp`); the conversation of a session is
    the first one started in its directory at or after its start. Two Codex sessions started in one directory at
    the same moment cannot be told apart this way: the earlier rollout wins."""

    name = "codex_rollout"

    def find(self, environment: Mapping[str, str], cwd: str, since: datetime.datetime) -> str | None:
        root = codex_home(environment) / "sessions"
        found = []
        day = (since - datetime.timedelta(days=1)).date()
        today = datetime.datetime.now().date() + datetime.timedelta(days=1)
        while day <= today:  # rollouts are filed by day: only the days since the start are looked at
            directory = root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
            for path in sorted(directory.glob("rollout-*.jsonl")) if directory.is_dir() else ():
                meta = _session_meta(path)
                if meta is not None and meta[1] == cwd and meta[2] >= since:
                    found.append((meta[2], meta[0]))
            day += datetime.timedelta(days=1)
        return min(found)[1] if found else None


def _session_meta(path: Path) -> tuple[str, str, datetime.datetime] | None:
    """(id, cwd, started) from a rollout's first line, None when it is not a session_meta Chorus can read."""
    try:
        with open(path, encoding="utf-8") as file:
            first = json.loads(file.readline())
        payload = first["payload"]
        started = datetime.datetime.fromisoformat(payload.get("timestamp") or first["timestamp"])
        return str(payload["id"]), os.path.normpath(str(payload["cwd"])), started
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


ROLLOUTS = RolloutFinder()

# Its command approval: "Would you like to run the following command?", the command after "$ ", then "1. Yes,
# proceed (y)" ... "3. No, and tell Codex what to do differently (esc)" (0.169.0, tests/fixtures/codex-0.169.0).
PERMISSION_SCREEN = PermissionScreen(
    question=r"^\s*Would you like to run the following command\?",
    command=r"^\s*\$ (?P<command>\S.*)$",
    allow=r"^Yes, proceed\b",
    deny=r"^No\b",
)

PROFILE = Profile(
    name="codex",
    # After a usage-limit refusal whose rate-limit headers say its window is used up (90 % or more), Codex 0.169.0
    # asks "Approaching rate limits · Switch to <model>?" (1. switch, 2. keep, 3. keep and never ask again): a
    # dialog that holds the session waiting past the reset, so Chorus's continue message would wait for a person.
    command=("codex", "-c", "notice.hide_rate_limit_model_nudge=true"),
    description="OpenAI Codex CLI",
    agent=True,
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=("codex", "codex-*", "node"),
    busy_cpu_percent=25.0,
    composer=COMPOSER,
    dialog=DIALOG,
    permission_screen=PERMISSION_SCREEN,
    # A paste-burst window of ~120 ms: an Enter inside it becomes a line break.
    delivery=Delivery(enter_delay=0.15),
    tools_loader=MCP_OVERRIDES,
    limits=LIMITS,
    # `codex resume <session id>`: the id its rollout file and session meta carry
    resume=("resume", "{conversation}"),
    conversation_finder=ROLLOUTS,
    usage_reader=ROLLOUT,
)

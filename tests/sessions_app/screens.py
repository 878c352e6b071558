# ruff: noqa: RUF001  -- screens hold the look-alike glyphs TUIs really draw (U+276F, U+203A), not typos for >.
"""Captured and hand-written screens for the detection tests.

The fixtures are real Claude Code 2.1.330 captures (see tests/fixtures/claude_code-2.1.330/README.md). The
hand-written screens stand for what the fixtures lack: other agents, first-run dialogs, another renderer. They
are written from what a user of each CLI sees, not copied from one capture, so rules fitted to them must
generalise too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sessions_app.detection import Observation

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claude_code-2.1.330"
NBSP = "\u00a0"
RULE = "─" * 120
WIDE = 62

# Expected status by file-name prefix, as the fixtures' README says.
EXPECTED_BY_PREFIX = {
    "idle": "idle",
    "exitpending": "idle",
    "busy": "busy",
    "permission": "waiting",
    "stopped": "stopped",
}


@dataclass(frozen=True)
class Capture:
    name: str
    time: str
    observation: Observation
    note: str

    @property
    def expected(self) -> str:
        return EXPECTED_BY_PREFIX[self.name.split("_")[0]]

    @property
    def seconds(self) -> float:
        hours, minutes, seconds = self.time.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def captures() -> list[Capture]:
    """Every fixture with the pane metadata INDEX.tsv recorded at capture time, in capture order."""
    with (FIXTURES / "INDEX.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Capture(
            name=row["name"],
            time=row["time"],
            note=row["note"],
            observation=Observation(
                screen=fixture(row["name"]),
                pane_title=row["pane_title"],
                pane_current_command=row["pane_current_command"],
                pane_dead=row["pane_dead"] == "1",
                pane_dead_status=int(row["pane_dead_status"]) if row["pane_dead_status"] else None,
                alternate_on=row["alternate_on"] == "1",
            ),
        )
        for row in rows
    ]


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def screen(*lines: str, height: int = 0) -> str:
    """A capture-pane text: the lines, padded with blank lines to `height` like a real pane."""
    padded = list(lines) + [""] * max(0, height - len(lines))
    return "\n".join(padded) + "\n"


def boxed(*lines: str, width: int = WIDE) -> list[str]:
    """Lines drawn inside a rounded box, as Ink-based TUIs (older Claude Code, Gemini CLI) draw dialogs."""
    inner = width - 4
    return [
        "╭" + "─" * (width - 2) + "╮",
        *(f"│ {line.ljust(inner)} │" for line in lines),
        "╰" + "─" * (width - 2) + "╯",
    ]


# --- Claude Code, as the older boxed renderer draws it: other glyphs and layout, the same words ---------------

CLAUDE_BOXED_IDLE = screen(
    *boxed("✻ Welcome to Claude Code!", "", "  /help for help, /status for your current setup"),
    "",
    "> write a haiku about terminals",
    "",
    "⏺ Panes split the glass / a cursor blinks in the dark / the build is still green",
    "",
    *boxed(">"),
    "  ? for shortcuts",
    height=40,
)

CLAUDE_BOXED_BUSY = screen(
    "> refactor the parser",
    "",
    "⏺ Reading the module first.",
    "",
    "✳ Pondering… (12s · ↑ 340 tokens · esc to interrupt)",
    "",
    *boxed(">"),
    "  ? for shortcuts",
    height=40,
)

CLAUDE_BOXED_PERMISSION = screen(
    "> clean the build",
    "",
    "⏺ Bash(rm -rf build)",
    "",
    *boxed(
        "Bash command",
        "",
        "  rm -rf build",
        "  Remove the build output",
        "",
        "Do you want to proceed?",
        "❯ 1. Yes",
        "  2. Yes, and don't ask again for rm commands in /home/u/proj",
        "  3. No, and tell Claude what to do differently (esc)",
    ),
    height=40,
)

CLAUDE_TRUST_DIALOG = screen(
    RULE,
    " Accessing workspace:",
    "",
    " /home/u/new-project",
    "",
    " Quick safety check: Is this a project you created or one you trust? (Like your own code, a well-known open",
    " source project, or work from your team). If not, take a moment to review what's in this folder first.",
    "",
    " Claude Code'll be able to read, edit, and execute files here.",
    "",
    " ❯ 1. Yes, I trust this folder",
    "   2. No, exit",
    "",
    " Enter to confirm · Esc to cancel",
    height=50,
)

# --- Codex CLI ------------------------------------------------------------------------------------------------

CODEX_STREAMING = screen(
    "› explain this repository",
    "",
    "• The repository is a Django project with three apps: events, sessions and tasks.",
    "  Each app keeps its services, projectors and read models apart.",
    "",
    "› Ask Codex to do anything",
    "",
    "  ? for shortcuts                                                       98% context left",
    height=30,
)

CODEX_WORKING_LINE = screen(
    "› run the tests",
    "",
    "• Working (14s • esc to interrupt)",
    "",
    "› Ask Codex to do anything",
    "",
    "  ? for shortcuts                                                       97% context left",
    height=30,
)

CODEX_APPROVAL = screen(
    "› remove the build directory",
    "",
    "  Would you like to run the following command?",
    "",
    "  Reason: the build output is stale",
    "",
    "  $ rm -rf build",
    "",
    "› 1. Yes, proceed (y)",
    "  2. Yes, and don't ask again for this command (p)",
    "  3. No, and tell Codex what to do differently (esc)",
    "",
    "  Press enter to confirm or esc to cancel",
    height=30,
)

CODEX_TRUST = screen(
    "> You are running Codex in /home/u/proj",
    "",
    "  Since this folder is version controlled, you may wish to allow Codex to work in this folder without",
    "  asking for approval.",
    "",
    "› 1. Yes, allow Codex to work in this folder without asking for approval",
    "  2. No, ask me to approve edits and commands",
    "",
    "  Press enter to continue",
    height=30,
)

# Older Codex releases drew the approval as a bar-marked block with letter shortcuts.
CODEX_OLD_APPROVAL = screen(
    "user",
    "run the tests",
    "",
    "▌Allow command?",
    "▌",
    "▌ $ make test",
    "▌",
    "▌ Yes (y)    Always (a)    No (n)",
    height=30,
)

# --- Gemini CLI -----------------------------------------------------------------------------------------------

GEMINI_FOOTER = "~/proj                     no sandbox (see /docs)              gemini-2.5-pro (100% context left)"
GEMINI_INPUT = boxed(">   Type your message or @path/to/file")

GEMINI_IDLE = screen(
    "> summarise the README",
    "",
    "✦ The README describes Chorus, a control room for coding agents.",
    "",
    *GEMINI_INPUT,
    GEMINI_FOOTER,
    height=30,
)

GEMINI_BUSY = screen(
    "> summarise the README",
    "",
    "⠏ Reading the project files (esc to cancel, 3s)",
    "",
    *GEMINI_INPUT,
    GEMINI_FOOTER,
    height=30,
)

# A spinner frame with no phrase: "(esc to cancel" then stands at the start of the line.
GEMINI_BUSY_BARE = screen(
    "> summarise the README",
    "",
    "⠏ (esc to cancel, 12s)",
    "",
    *GEMINI_INPUT,
    GEMINI_FOOTER,
    height=30,
)

GEMINI_TRUST = screen(
    " ███ GEMINI",
    "",
    "Tips for getting started:",
    "1. Ask questions, edit files, or run commands.",
    "",
    *boxed(
        "Do you trust this folder?",
        "",
        "Trusting a folder allows Gemini to execute commands it suggests. This",
        "is a security feature to prevent accidental execution in untrusted",
        "directories.",
        "",
        "● 1. Trust folder (proj)",
        "  2. Trust parent folder (u)",
        "  3. Don't trust (esc)",
        width=76,
    ),
    GEMINI_FOOTER,
    height=30,
)

GEMINI_AUTH = screen(
    " ███ GEMINI",
    "",
    *boxed(
        "Get started",
        "",
        "How would you like to authenticate for this project?",
        "",
        "● 1. Login with Google",
        "  2. Use Gemini API Key",
        "  3. Vertex AI",
        "",
        "(Use Enter to select)",
        "",
        "Terms of Services and Privacy Notice for Gemini CLI",
        "",
        "https://github.com/google-gemini/gemini-cli/blob/main/docs/tos-privacy.md",
        width=80,
    ),
    height=30,
)

GEMINI_TOOL_CONFIRMATION = screen(
    "> delete the temp files",
    "",
    *boxed(
        "?  Shell rm -rf tmp/",
        "",
        "rm -rf tmp/",
        "",
        "Allow execution of: 'rm'?",
        "",
        "● 1. Yes, allow once",
        "  2. Yes, allow always ...",
        "  3. No, suggest changes (esc)",
    ),
    GEMINI_FOOTER,
    height=30,
)

# --- Aider ----------------------------------------------------------------------------------------------------

AIDER_BANNER = (
    "Aider v0.86.1",
    "Main model: gpt-4o with diff edit format",
    "Git repo: .git with 12 files",
    "Repo-map: using 1024 tokens, auto refresh",
    RULE,
)

AIDER_IDLE = screen(*AIDER_BANNER, "> ", height=30)
AIDER_DRAFT = screen(*AIDER_BANNER, "architect> split the settings module", height=30)
AIDER_CONFIRM = screen(
    *AIDER_BANNER,
    "> add a health check endpoint",
    "",
    "Add src/app.py to the chat? (Y)es/(N)o/(D)on't ask again [Yes]: ",
    height=30,
)
AIDER_STREAMING = screen(
    *AIDER_BANNER,
    "> add a health check endpoint",
    "",
    "I'll add a `/health` view that returns 200 with the app's version.",
    "",
    "src/app.py",
    height=30,
)
AIDER_WAITING_FOR_MODEL = screen(
    *AIDER_BANNER, "> add a health check endpoint", "", "░█  Waiting for gpt-4o", height=30
)

# --- A plain shell --------------------------------------------------------------------------------------------

SHELL_PROMPT = screen("user@host:~/proj$ ls", "README.md  chorus_site  manage.py", "user@host:~/proj$ ", height=24)
SHELL_TYPED = screen("user@host:~/proj$ git status --short", height=24)
SHELL_SLEEP = screen("user@host:~/proj$ sleep 30", height=24)
SHELL_APT = screen(
    "user@host:~$ sudo apt install ripgrep",
    "The following NEW packages will be installed:",
    "  ripgrep",
    "Do you want to continue? [Y/n] ",
    height=24,
)
SHELL_SUDO = screen("user@host:~$ sudo true", "[sudo] password for user: ", height=24)

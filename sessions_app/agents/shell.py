# ruff: noqa: RUF001  -- prompt glyphs shells really draw (U+276F), not typos for >.
"""A plain shell: its prompt line, and any command it runs in the foreground counts as busy."""

from __future__ import annotations

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.dialogs import DEFAULT_MARKERS, Dialog
from sessions_app.profiles import SHELL_NAMES, Delivery, Profile, Region, Rule, Status

RULES = (
    Rule(
        "shell.prompt",
        Status.IDLE,
        r"^[^\n]{0,120}?[$#%>❯➜»λ](?:[ \t\u00a0][^\n]*)?$",
        Region.bottom(1),
        100,
    ),
)

# What follows a prompt's last character is typed. Only prompts that end in one of these count: a theme that
# starts with its glyph ("➜  proj git:(main)") shows no boundary between itself and a draft, so it reads as no
# known input line. The typed line stays on screen after Enter, so it says nothing about the submit.
COMPOSER = Composer(
    prompt=r"^[^\n]{0,120}?[$#%>❯»λ](?:[ \t\u00a0](?P<text>.*))?$",
    region=1,
    footer=0,
    clears_on_submit=False,
    # at its prompt a shell drops the line on Ctrl-C and draws a new prompt (only pressed while it is idle there)
    clear_keys=("C-c",),
)

PROFILE = Profile(
    name="shell",
    command=(),
    description="A plain shell; any command it runs in the foreground counts as busy",
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=tuple(sorted(SHELL_NAMES)),
    child_command_status=Status.BUSY,
    composer=COMPOSER,
    # Menus of terminal programs (pick, many TUI prompt libraries) mark the selection with * too.
    dialog=Dialog(markers=DEFAULT_MARKERS + "*"),
    # Lines typed into a shell must run one by one, as typed, not arrive as one pasted block.
    delivery=Delivery(enter_delay=0.05, use_bracketed_paste=False, interrupt_key="C-c"),
)

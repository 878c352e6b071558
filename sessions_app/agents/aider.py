"""Aider: a prompt_toolkit prompt on the last line (`> `, or the chat mode's name: `architect> `, `ask> `, ...)."""

from __future__ import annotations

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.profiles import Delivery, Profile, Region, Rule, Status

PROMPT = r"^(?:[a-z][\w-]*)?>"

RULES = (
    Rule("aider.waiting_for_model", Status.BUSY, r"^[^\w\n]{0,4}Waiting for\b", Region.bottom(3), 210),
    # Possibly with a typed draft after it.
    Rule("aider.prompt", Status.IDLE, rf"{PROMPT}(?:[ \t\u00a0][^\n]*)?$", Region.bottom(1), 100),
)

# The prompt ends the screen; a multi-line draft continues on lines indented by the prompt's width. The submitted
# line stays on screen as aider's echo, so it says nothing about whether Enter took.
COMPOSER = Composer(
    prompt=rf"{PROMPT}(?:[ \t\u00a0](?P<text>.*))?$",
    continuation=r"^ +(?P<text>\S.*)$",
    region=8,
    footer=0,
    clears_on_submit=False,
)

PROFILE = Profile(
    name="aider",
    command=("aider",),
    description="Aider",
    agent=True,
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=("aider", "python", "python3*"),
    fallback_status=Status.BUSY,
    fallback_reason="aider's last line is not its prompt, so it is still printing",
    composer=COMPOSER,
    delivery=Delivery(enter_delay=0.1, interrupt_key="C-c"),
)

"""Gemini CLI: its screen and title rules, its input box and its dialogs.

The input (packages/cli/src/ui/components/InputPrompt.tsx) is `> ` (`! ` in shell mode, `* ` in YOLO mode,
`(r:) ` while searching) inside a rounded box, or between two horizontal lines, or between half-block lines
(▀ ▄) when it paints a background; empty, it shows the placeholder "Type your message or @path/to/file".
"""

from __future__ import annotations

from sessions_app.agents.generic import GENERIC_DIALOG_RULES
from sessions_app.composer import Composer
from sessions_app.dialogs import DEFAULT_MARKERS, Dialog
from sessions_app.profiles import TITLE, Delivery, Profile, Region, Rule, Status
from sessions_app.screen import HORIZONTAL_RULE

# Gemini's radio buttons mark the chosen option with ●.
DIALOG = Dialog(markers=DEFAULT_MARKERS + "●")

RULES = (
    Rule("gemini.title_action_required", Status.WAITING, r"✋\s*Action Required", TITLE, 330),
    Rule.for_menu("gemini.option_menu", DIALOG, Region.bottom(20), 310),
    Rule("gemini.title_working", Status.BUSY, r"✦\s*Working", TITLE, 250),
    Rule("gemini.esc_to_cancel", Status.BUSY, r"\(esc to cancel, ?\d", Region.bottom(10), 220, ignore_case=True),
    Rule("gemini.input_box", Status.IDLE, r"^[ \t]*>[ \t\u00a0]|Type your message", Region.bottom(8), 100),
    # The title says Ready during first-run dialogs too, so it ranks below every screen rule.
    Rule("gemini.title_ready", Status.IDLE, r"◇\s*Ready", TITLE, 90),
)

_EDGE = rf"^(?:{HORIZONTAL_RULE}|[▀▄]{{8,}})$"

COMPOSER = Composer(
    prompt=r"^[ \t]?(?:[>!*]|\(r:\))(?:[ \t\u00a0]+(?P<text>.*))?$",
    above=_EDGE,
    below=_EDGE,
    placeholders=("Type your message or @path/to/file",),
    region=20,
)

PROFILE = Profile(
    name="gemini",
    command=("gemini",),
    description="Gemini CLI",
    rules=(*RULES, *GENERIC_DIALOG_RULES),
    process_names=("node", "gemini"),
    busy_cpu_percent=25.0,
    composer=COMPOSER,
    dialog=DIALOG,
    # An Enter right after the typed text is not taken as submit; about 0.5 s later it is.
    delivery=Delivery(enter_delay=0.5),
)

"""Dialogs any TUI or CLI may open, first-run dialogs above all (sign-in, folder trust, theme): a human is needed.

Each rule needs the structure of a dialog, not just its words, so an agent's answer that asks "Do you want me
to...?" above its input line stays idle. Every built-in profile carries them; so does a user profile that extends
none, unless it says `generic_rules = false`.
"""

from __future__ import annotations

from sessions_app.dialogs import Dialog
from sessions_app.profiles import Region, Rule, Status

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
    # Built from the markers of each profile's own dialog (see Profile).
    Rule.for_menu("generic.option_menu", Dialog(), Region.bottom(20), 300),
    Rule(
        "generic.confirm_hint",
        Status.WAITING,
        # Line-initial only: a busy line saying "(esc to cancel, 3s)" is excluded by the ", 3s".
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

# ruff: noqa: RUF001, RUF003  -- screens hold the look-alike glyphs TUIs really draw (U+276F, U+203A), not typos.
"""Input-line (composer) rules: every built-in profile tells an empty input (a placeholder included) from a person's
draft on realistic screens, and finds no input line where a dialog or plain output shows."""

from __future__ import annotations

import pytest

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.agents.codex import PLACEHOLDERS
from sessions_app.composer import Composer
from sessions_app.screen import screen_lines
from tests.sessions_app import screens as s

CLAUDE, CODEX, GEMINI, AIDER, SHELL = (BUILTIN_PROFILES[n] for n in ("claude", "codex", "gemini", "aider", "shell"))
NBSP = s.NBSP
CODEX_FOOTER = "  ? for shortcuts                                                       97% context left"


def claude_input(*lines: str) -> list[str]:
    return [s.RULE, *lines, s.RULE, "  ⏸ manual mode on · ? for shortcuts"]


def codex(*composer: str) -> str:
    return s.screen("› explain this repository", "", "• It is a Django project.", "", *composer, "", CODEX_FOOTER)


def gemini(*lines: str) -> str:
    return s.screen("> summarise the README", "", "✦ The README describes Chorus.", "", *lines, s.GEMINI_FOOTER)


@pytest.mark.parametrize(
    ("profile", "screen", "draft"),
    [
        # Claude Code: the line between the two rules; ❯ + NBSP
        (CLAUDE, s.screen("● Done.", "", *claude_input(f"❯{NBSP}")), ""),
        (CLAUDE, s.screen("● Done.", "", *claude_input(f"❯{NBSP}fix the parser")), "fix the parser"),
        (CLAUDE, s.screen("● Done.", *claude_input(f"❯{NBSP}first line", "second line")), "first line\nsecond line"),
        (CLAUDE, s.CLAUDE_BOXED_IDLE, ""),
        (CLAUDE, s.CLAUDE_BOXED_BUSY, ""),
        (CLAUDE, s.CLAUDE_BOXED_PERMISSION, None),
        (CLAUDE, s.CLAUDE_TRUST_DIALOG, None),
        # Codex: the › line and its indented further lines, a placeholder when empty
        (CODEX, codex("›"), ""),
        (CODEX, s.CODEX_STREAMING, ""),
        (CODEX, codex("› Find and fix a bug in @filename"), ""),
        (CODEX, codex("› fix the flaky test"), "fix the flaky test"),
        (CODEX, codex("› first line", "  second line"), "first line\nsecond line"),
        (CODEX, s.CODEX_WORKING_LINE, ""),
        (CODEX, codex("• Working (3s • esc to interrupt)", "", "› and the docs"), "and the docs"),
        (CODEX, s.CODEX_APPROVAL, None),
        (CODEX, s.CODEX_TRUST, None),
        (CODEX, s.screen("› explain this repository", "", "• It is a Django project", "  with three apps.", "x"), None),
        # the older look: every line of the composer marked with ▌
        (CODEX, s.screen("▌ Ask Codex to do anything", *["▌"] * 8, " ⏎ send   Ctrl+J newline   Ctrl+C quit"), ""),
        (CODEX, s.screen("▌ first line", "▌ second line", "▌", " ⏎ send   Ctrl+J newline"), "first line\nsecond line"),
        # Gemini: > inside a rounded box, between rules, or between half-block lines; its placeholder when empty
        (GEMINI, s.GEMINI_IDLE, ""),
        (GEMINI, gemini("─" * 60, " >   Type your message or @path/to/file", "─" * 60), ""),
        (GEMINI, gemini("▀" * 60, " >   Type your message or @path/to/file", "▄" * 60), ""),
        (GEMINI, gemini(*s.boxed("*   Type your message or @path/to/file")), ""),
        (GEMINI, gemini(*s.boxed("> summarise the docs")), "summarise the docs"),
        (GEMINI, gemini(*s.boxed("> first line", "  second line")), "first line\nsecond line"),
        (GEMINI, gemini(*s.boxed("! ls -la")), "ls -la"),
        (GEMINI, s.GEMINI_BUSY, ""),
        (GEMINI, s.GEMINI_TOOL_CONFIRMATION, None),
        (GEMINI, s.GEMINI_TRUST, None),
        (GEMINI, s.GEMINI_AUTH, None),
        # Aider: the prompt on the last line, further lines indented by its width
        (AIDER, s.AIDER_IDLE, ""),
        (AIDER, s.AIDER_DRAFT, "split the settings module"),
        (AIDER, s.screen(*s.AIDER_BANNER, "multi> first line", "       second line"), "first line\nsecond line"),
        (AIDER, s.AIDER_WAITING_FOR_MODEL, None),
        (AIDER, s.AIDER_STREAMING, None),
        (AIDER, s.AIDER_CONFIRM, None),
        # A shell: what follows the prompt's last character on the last line
        (SHELL, s.SHELL_PROMPT, ""),
        (SHELL, s.SHELL_TYPED, "git status --short"),
        (SHELL, s.screen("user@host:~/proj$ for f in *; do", "> echo $f"), "echo $f"),
        (SHELL, s.screen("user@host:~/proj$ cargo build", "   Compiling chorus v0.1.0"), None),
        (SHELL, s.SHELL_APT, None),
        (SHELL, s.SHELL_SUDO, None),
        # a theme that starts with its glyph draws no boundary between itself and a draft
        (SHELL, s.screen("➜  proj git:(main) ✗ "), None),
    ],
)
def test_each_profile_reads_its_input_line(profile, screen, draft):
    assert profile.draft(screen) == draft


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_every_codex_placeholder_is_an_empty_composer(placeholder):
    assert CODEX.draft(codex(f"› {placeholder}")) == ""


def test_the_real_claude_captures():
    """Every live capture shows the input box (empty, but for the draft of idle_3) unless a dialog replaced it."""
    for capture in s.captures():
        draft = CLAUDE.draft(capture.observation.screen)
        if capture.name == "idle_3":
            assert draft == "a draft that is typed but not sent"
        elif capture.expected == "waiting":
            assert draft is None, capture.name
        elif capture.expected in ("idle", "busy"):
            assert draft == "", capture.name


def test_a_prompt_echoed_in_the_transcript_is_not_the_input():
    echo = s.fixture("idle_after_5")
    assert "❯ hello" in echo
    assert CLAUDE.draft(echo) == ""
    without_box = echo[: echo.index(s.RULE[:20])]
    assert CLAUDE.draft(without_box) is None


def test_only_shell_and_aider_keep_the_submitted_line_on_screen():
    kept = {name for name, profile in BUILTIN_PROFILES.items() if not profile.composer.clears_on_submit}
    assert kept == {"aider", "shell"}


# --- The rule itself ------------------------------------------------------------------------------------------


def test_the_input_must_start_within_the_region():
    composer = Composer(prompt=r"^> (?P<text>.*)$", region=3)
    assert composer.draft(screen_lines("> typed\na\nb\n")) == "typed"
    assert composer.draft(screen_lines("> typed\na\nb\nc\n")) is None


def test_a_footer_limit_rules_out_a_prompt_with_more_below():
    composer = Composer(prompt=r"^> (?P<text>.*)$", footer=1)
    assert composer.draft(screen_lines("> typed\nhint\n")) == "typed"
    assert composer.draft(screen_lines("> typed\nanswer\nmore answer\n")) is None


def test_without_a_text_group_what_follows_the_prompt_is_typed():
    assert Composer(prompt=r"^\$ ").draft(["$ make test"]) == "make test"


def test_an_input_without_its_lower_edge_is_no_input():
    composer = Composer(prompt=r"^> ?(?P<text>.*)$", above="^-{3,}$", below="^-{3,}$")
    assert composer.draft(["-----", "> half", "-----"]) == "half"
    assert composer.draft(["-----", "> half", "text"]) is None
    assert composer.draft(["text", "> half", "-----"]) is None


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"prompt": "("}, "prompt is not a valid regular expression"),
        ({"prompt": ">", "below": "["}, "below is not a valid regular expression"),
        ({"prompt": ">", "region": 0}, "region must be a number of lines >= 1"),
        ({"prompt": ">", "footer": -1}, "footer must be a number of lines >= 0"),
    ],
)
def test_bad_rules_are_refused(options, error):
    with pytest.raises(ValueError, match=error):
        Composer(**options)

# ruff: noqa: RUF001, RUF003  -- screens hold the look-alike glyphs TUIs really draw (U+276F, U+203A), not typos.
"""Dialog-option rules: one parser of a dialog's options for detection, delivery and the pages, with the selection
markers each profile's agent really draws."""

from __future__ import annotations

import pytest

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.detection import Observation, detect
from sessions_app.dialogs import Dialog, Menu
from sessions_app.profiles import Profile, Region, Rule, Status
from tests.sessions_app import screens as s

CLAUDE, CODEX, GEMINI, AIDER, SHELL = (BUILTIN_PROFILES[n] for n in ("claude", "codex", "gemini", "aider", "shell"))


def test_the_options_are_the_last_run_counting_from_one():
    screen = "\n".join(
        [
            "● Plan:",
            "  1. read the code",
            "  2. fix it",
            "────",
            " Do you want to proceed?",
            " ❯ 1. Yes",
            "   2. Yes, and don't ask again for rm commands",
            "   3. No, and tell Claude what to do differently (esc)",
            "",
            " Esc to cancel",
        ]
    )
    assert CLAUDE.dialog.menu(screen) == Menu(
        options=(
            ("1", "Yes"),
            ("2", "Yes, and don't ask again for rm commands"),
            ("3", "No, and tell Claude what to do differently (esc)"),
        ),
        question="Do you want to proceed?",
        selected="1",
    )


@pytest.mark.parametrize(
    "screen",
    [f"❯{s.NBSP}\n? for shortcuts\n 3. alone\n", " ❯ 1. only one option\n", "no dialog here\n", ""],
    ids=["a-lone-3", "one-option", "text", "empty"],
)
def test_no_dialog_without_a_run_of_two_from_one(screen):
    assert CLAUDE.dialog_options(screen) == []


def test_the_real_claude_permission_dialogs():
    for number in range(1, 7):
        menu = CLAUDE.dialog.menu(s.fixture(f"permission_{number}"))
        assert menu.question == "Do you want to proceed?", number
        assert menu.options[0] == ("1", "Yes")
        assert menu.selected in {key for key, _label in menu.options}  # where the ❯ points: a person may move it
        assert menu.options[-1][1].startswith("No"), menu.options


@pytest.mark.parametrize(
    ("profile", "screen", "options", "selected"),
    [
        (CLAUDE, s.CLAUDE_BOXED_PERMISSION, ["Yes", "Yes, and don't ask again for rm commands in /home/u/proj"], "1"),
        (CLAUDE, s.CLAUDE_TRUST_DIALOG, ["Yes, I trust this folder", "No, exit"], "1"),
        (CODEX, s.CODEX_APPROVAL, ["Yes, proceed (y)", "Yes, and don't ask again for this command (p)"], "1"),
        (CODEX, s.CODEX_TRUST, ["Yes, allow Codex to work in this folder without asking for approval"], "1"),
        # inside a rounded box, with Gemini's radio button
        (GEMINI, s.GEMINI_TRUST, ["Trust folder (proj)", "Trust parent folder (u)"], "1"),
        (GEMINI, s.GEMINI_AUTH, ["Login with Google", "Use Gemini API Key"], "1"),
        (GEMINI, s.GEMINI_TOOL_CONFIRMATION, ["Yes, allow once", "Yes, allow always ..."], "1"),
    ],
)
def test_each_agents_dialogs(profile, screen, options, selected):
    menu = profile.dialog.menu(screen)
    assert [label for _key, label in menu.options][: len(options)] == options
    assert menu.options[0][0] == "1" and menu.selected == selected


@pytest.mark.parametrize(
    ("profile", "marked", "unmarked"),
    [
        (CLAUDE, "❯›>▸▶→»◉", "●*"),
        (CODEX, "❯›>▸▶→»◉", "●*"),
        (GEMINI, "❯›>▸▶→»◉●", "*"),
        (AIDER, "❯›>▸▶→»◉", "●*"),
        (SHELL, "❯›>▸▶→»◉*", "●"),
    ],
)
def test_which_markers_select_an_option(profile, marked, unmarked):
    """The union of what the agents draw, but not ● where it starts a message, nor * where it is a spinner."""
    for marker in marked:
        menu = profile.dialog.menu(f"Pick one:\n {marker} 1. first\n   2. second\n")
        assert menu is not None and menu.selected == "1", marker
    for marker in unmarked:
        assert profile.dialog.menu(f"Pick one:\n {marker} 1. first\n   2. second\n") is None, marker


def test_an_answer_that_is_a_numbered_list_is_no_dialog_for_claude():
    screen = "❯ what next?\n\n● 1. Add tests for the parser\n  2. Fix the flaky build\n"
    assert CLAUDE.dialog_options(screen) == []
    assert detect(CLAUDE, Observation(screen=screen)).status is not Status.WAITING


def test_is_option_tells_a_dialog_line_from_a_composer_line():
    assert CODEX.dialog.is_option("› 1. Yes, proceed (y)")
    assert not CODEX.dialog.is_option("› fix 1. the parser")


def test_the_menu_rules_are_built_from_the_profiles_markers():
    """generic.option_menu sees the markers of the dialog its profile draws."""
    menu = Rule.for_menu("x.menu", Dialog(), Region.bottom(20), 300)
    diamond = Profile(name="x", command=("x",), rules=(menu,), dialog=Dialog(markers="◆"))
    screen = "Which model?\n  ◆ 1. fast\n    2. careful\n"
    assert detect(diamond, Observation(screen=screen)).rule == "x.menu"
    assert detect(Profile(name="y", command=("y",), rules=(menu,)), Observation(screen=screen)).rule == "no_match"
    for profile in BUILTIN_PROFILES.values():
        built = [rule for rule in profile.rules if rule.menu]
        assert built and all(rule.pattern == profile.dialog.menu_pattern() for rule in built), profile.name


@pytest.mark.parametrize(("markers", "region"), [("", 20), ("a", 20), ("> ", 20), ("❯", 0)])
def test_bad_dialog_rules_are_refused(markers, region):
    with pytest.raises(ValueError, match=r"markers|region"):
        Dialog(markers=markers, region=region)

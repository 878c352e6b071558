"""Codex CLI 0.169.0's profile against screens captured from the real CLI (tests/fixtures/codex-0.169.0)."""

import pytest

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.detection import detect
from tests.sessions_app.agents.captured import captures

CODEX = BUILTIN_PROFILES["codex"]
CAPTURES = {capture.name: capture for capture in captures("codex-0.169.0")}


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_captured_screen_has_the_status_its_name_says(name):
    capture = CAPTURES[name]
    assert detect(CODEX, capture.observation).status == capture.expected, capture.note


@pytest.mark.parametrize(
    ("name", "draft"),
    [("idle_1", ""), ("idle_after_1", ""), ("busy_3", ""), ("draft_1", "123"), ("draft_2", "draft while idle after")],
)
def test_the_input_line_tells_a_draft_from_the_placeholder(name, draft):
    assert CODEX.draft(CAPTURES[name].screen) == draft


@pytest.mark.parametrize("name", ["permission_1", "question_1", "firstrun_trust_1", "firstrun_login_1"])
def test_a_dialog_is_no_input_line(name):
    assert CODEX.draft(CAPTURES[name].screen) is None


def test_the_approval_reason_quotes_its_question_and_options():
    verdict = detect(CODEX, CAPTURES["permission_1"].observation)
    assert verdict.rule == "codex.approval_question"
    assert "'Would you like to run the following command?'" in verdict.reason
    assert "1 Yes, proceed (y) / 2 Yes, and don't ask again" in verdict.reason
    assert "/ 3 No, and tell Codex what to do differently (esc)" in verdict.reason


def test_the_question_dialog_reason_quotes_the_question():
    verdict = detect(CODEX, CAPTURES["question_1"].observation)
    assert verdict.rule == "codex.dialog_hint"
    assert "asks 'Which colour should the kit use?': 1 Red the first / 2 Blue the second" in verdict.reason


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("firstrun_trust_1", [("1", "Trust and continue"), ("2", "Back to Agent Command Center")]),
        (
            "firstrun_login_1",
            [("1", "Sign in with ChatGPT"), ("2", "Sign in with Device Code"), ("3", "Sign in another way")],
        ),
        ("permission_2", [("1", "Yes, proceed (y)")]),
    ],
)
def test_first_run_and_approval_menus_are_waiting_with_their_options(name, options):
    capture = CAPTURES[name]
    assert detect(CODEX, capture.observation).status == "waiting"
    assert CODEX.dialog_options(capture.screen)[: len(options)] == options


def test_the_streaming_screen_is_idle_but_for_the_title():
    """While text streams Codex draws no status line: without the title its screen reads idle."""
    capture = CAPTURES["busy_3"]
    assert detect(CODEX, capture.observation).rule == "codex.title_spinner"
    bare = type(capture.observation)(screen=capture.screen, pane_current_command="node")
    assert detect(CODEX, bare).status == "idle"

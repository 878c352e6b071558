"""Gemini CLI 0.61.0's profile against screens captured from the real CLI (tests/fixtures/gemini-0.61.0)."""

import pytest

from sessions_app.agents import BUILTIN_PROFILES
from sessions_app.detection import detect
from tests.sessions_app.agents.captured import captures

GEMINI = BUILTIN_PROFILES["gemini"]
CAPTURES = {capture.name: capture for capture in captures("gemini-0.61.0")}


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_every_captured_screen_has_the_status_its_name_says(name):
    capture = CAPTURES[name]
    assert detect(GEMINI, capture.observation).status == capture.expected, capture.note


@pytest.mark.parametrize(
    ("name", "draft"),
    [
        ("idle_1", ""),
        ("idle_after_2", ""),
        ("busy_3", ""),
        ("draft_1", "123"),
        ("draft_2", "line one\\\nline two"),
    ],
)
def test_the_input_line_tells_a_draft_from_the_placeholder(name, draft):
    assert GEMINI.draft(CAPTURES[name].screen) == draft


def test_a_prompt_echoed_in_the_transcript_is_not_the_input_line():
    """In a dialog the input line is gone; the echoed prompt above has the same look but the answer after it."""
    assert GEMINI.draft(CAPTURES["permission_1"].screen) is None


def test_a_question_is_told_from_a_permission():
    question = detect(GEMINI, CAPTURES["question_1"].observation)
    permission = detect(GEMINI, CAPTURES["permission_1"].observation)
    assert (question.rule, permission.rule) == ("gemini.question_dialog", "gemini.tool_confirmation")
    assert "asks 'Which colour should the kit use?': 1 Red / 2 Blue / 3 Enter a custom value" in question.reason
    assert "asks 'Allow execution of [Shell]?': 1 Allow once / 2 Allow for this session" in permission.reason


def test_the_start_up_tips_are_no_dialog():
    assert GEMINI.dialog_options(CAPTURES["idle_1"].screen) == []


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("firstrun_trust_1", [("1", "Trust folder (proj)"), ("2", "Trust parent folder (fr1)"), ("3", "Don't trust")]),
        ("firstrun_auth_1", [("1", "Sign in with Google"), ("2", "Use Gemini API Key"), ("3", "Vertex AI")]),
    ],
)
def test_first_run_dialogs_are_waiting_with_their_options_although_the_title_says_ready(name, options):
    capture = CAPTURES[name]
    assert "Ready" in capture.observation.pane_title
    assert detect(GEMINI, capture.observation).status == "waiting"
    assert GEMINI.dialog_options(capture.screen) == options

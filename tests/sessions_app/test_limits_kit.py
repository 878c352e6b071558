# ruff: noqa: RUF001  -- screens hold the glyphs the CLIs really draw (U+2019, U+00B7), not typos.
"""The usage-limit screens the real CLIs drew in the conformance kit (tests/fixtures/limits: Claude Code 2.1.330,
Codex 0.169.0 and Gemini CLI 0.61.0, each refused by its stand-in with that vendor's usage-limit answer, in a
160x50 pane, TZ=UTC): what Chorus reads of each, its reset, and whether the agent goes on by itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from sessions_app.agents import claude, codex, gemini
from sessions_app.detection import Observation, detect
from sessions_app.limits import LimitWatch, find_limit, parse_reset
from sessions_app.profiles import Status

LIMITS = Path(__file__).resolve().parent.parent / "fixtures" / "limits"
# the day of the captures, before their resets
NOW = datetime(2026, 12, 2, 18, 18, tzinfo=UTC)


def capture(name: str) -> str:
    return (LIMITS / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("profile", "name", "rule", "until", "itself"),
    [
        # logged in to a plan: its own words, and it goes on by itself at the reset
        (claude.PROFILE, "claude_code-2.1.330-plan", "claude.usage_limit", datetime(2026, 12, 2, 18, 23), True),
        # with an API key it shows the API's refusal, the reset a Unix time
        (
            claude.PROFILE,
            "claude_code-2.1.330-api_key",
            "claude.usage_limit_api_error",
            datetime(2026, 12, 2, 18, 20),
            False,
        ),
        # the notice wraps before its reset; the model-switch nudge below it (shown without Chorus's -c override)
        (codex.PROFILE, "codex-0.169.0-nudge", "codex.usage_limit", datetime(2026, 12, 2, 18, 20), False),
        # Gemini names no reset: its dialog offers "Keep trying" or "Stop"
        (gemini.PROFILE, "gemini-0.61.0", "gemini.quota_limit", None, False),
    ],
)
def test_the_real_clis_limit_screens_are_read_with_their_reset(profile, name, rule, until, itself):
    seen = find_limit(profile.limits, capture(name), NOW, UTC)
    assert seen is not None, name
    assert seen.rule == rule
    assert seen.until == (until.replace(tzinfo=UTC) if until else None)
    assert seen.resumes_itself is itself


def test_codex_s_wrapped_notice_is_quoted_whole():
    seen = find_limit(codex.PROFILE.limits, capture("codex-0.169.0-nudge"), NOW, UTC)
    assert seen.text.startswith("■ You’ve hit your usage limit. Upgrade to Pro")
    assert seen.text.endswith("or try again at 6:20 PM.")


def test_a_unix_time_is_a_reset():
    assert parse_reset("1796235600", NOW, UTC) == datetime(2026, 12, 2, 18, 20, tzinfo=UTC)
    assert parse_reset("17962", NOW, UTC) is None


def session(**fields):
    return SimpleNamespace(name="s", limit_text="", limit_until=None, **fields)


def test_an_agent_that_goes_on_by_itself_is_parked_until_it_works_again_after_the_reset(monkeypatch):
    screen = capture("claude_code-2.1.330-plan")
    watch = LimitWatch(timedelta(seconds=120), UTC)
    idle = detect(claude.PROFILE, Observation(screen=screen))
    busy = replace(idle, status=Status.BUSY)
    clock = Clock(datetime(2026, 12, 2, 18, 22, tzinfo=UTC))
    monkeypatch.setattr("sessions_app.limits.datetime", clock)
    parked = watch.overrule(session(), claude.PROFILE, screen, idle)
    assert parked.status is Status.WAITING and parked.reason == "usage limit until 18:23"
    # before the reset a busy screen is the limit's still (a redraw); after it, its own "Continuing shortly" waits
    assert watch.overrule(session(), claude.PROFILE, screen, busy).status is Status.WAITING
    clock.moment = datetime(2026, 12, 2, 18, 24, tzinfo=UTC)
    assert watch.overrule(session(), claude.PROFILE, screen, idle).status is Status.WAITING
    # it went on by itself: busy, and idle after that turn though its line is still on screen
    assert watch.overrule(session(), claude.PROFILE, screen, busy) == busy
    assert watch.overrule(session(), claude.PROFILE, screen, idle) == idle


class Clock:
    """datetime as sessions_app.limits sees it, its now() the test's `moment`."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self, tz=None):
        return self.moment

    def __getattr__(self, name):
        return getattr(datetime, name)


# Claude Code 2.1.330's StopFailure payload at its plan's limit, as it sent it in the kit (paths trimmed)
STOP_FAILURE = {
    "session_id": "e29c0ad2-d93b-4d9e-8f13-a043606f2825",
    "transcript_path": "/home/me/.claude/projects/-work-project/e29c0ad2-d93b-4d9e-8f13-a043606f2825.jsonl",
    "cwd": "/work/project",
    "prompt_id": "62bccef0-c10b-4c7a-a99e-3b61d427f904",
    "effort": {"level": "medium"},
    "hook_event_name": "StopFailure",
    "error": "rate_limit",
    "last_assistant_message": "You've hit your 5-hour limit · resets 6:46pm (UTC)",
}


def test_a_limit_the_stop_failure_hook_reports_parks_the_agent_whatever_its_screen_says(monkeypatch):
    heard = claude.signal(STOP_FAILURE)
    assert (heard.kind, heard.text) == ("error", "You've hit your 5-hour limit · resets 6:46pm (UTC)")
    # a screen in words no rule knows (a new version's), the agent idle
    screen = capture("claude_code-2.1.330-plan").replace("hit your 5-hour limit", "run out").replace("limit", "cap")
    idle = detect(claude.PROFILE, Observation(screen=screen))
    assert find_limit(claude.PROFILE.limits, screen, NOW, UTC) is None
    watch = LimitWatch(timedelta(seconds=120), UTC)
    monkeypatch.setattr("sessions_app.limits.datetime", Clock(datetime(2026, 12, 2, 18, 40, tzinfo=UTC)))
    assert watch.overrule(session(), claude.PROFILE, screen, idle) == idle
    watch.hear("s", heard.text)
    parked = watch.overrule(session(), claude.PROFILE, screen, idle)
    assert parked.status is Status.WAITING and parked.reason == "usage limit until 18:46"
    assert watch.current("s").text == heard.text
    # a new prompt taken: what the hook said is over
    watch.hear("s", "")
    assert watch.overrule(session(), claude.PROFILE, screen, idle) == idle

# ruff: noqa: RUF001  -- screens hold the glyphs the CLIs really draw (U+203A, U+2019), not typos.
"""Usage limits: the screens that say an agent hit its limit, the reset times they give, and what the worker's
LimitWatch makes of them (waiting until the reset plus the margin, then the verdict of the screen again).

The limit lines are written to match what each CLI prints, as its users quote it in the CLI's issue tracker
(sources in each agent module beside its LIMITS), inside the captures of tests/fixtures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from sessions_app.agents import claude, codex, gemini
from sessions_app.detection import Observation, detect
from sessions_app.limits import LimitRule, LimitWatch, find_limit, parse_reset, reason
from sessions_app.profiles import Status

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Wednesday 2 December 2026, 10:00 UTC
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2h 13m", NOW + timedelta(hours=2, minutes=13)),
        ("in 45 minutes", NOW + timedelta(minutes=45)),
        ("in 3 hours", NOW + timedelta(hours=3)),
        ("in 1d 2h", NOW + timedelta(days=1, hours=2)),
        ("in 157h", NOW + timedelta(hours=157)),
        ("in 90s.", NOW + timedelta(seconds=90)),
        # a clock time in the zone it names
        ("3pm (Europe/Paris)", datetime(2026, 12, 2, 14, 0, tzinfo=UTC)),
        ("12:50am (America/Los_Angeles)", datetime(2026, 12, 2, 8, 50, tzinfo=UTC) + timedelta(days=1)),
        ("3:00 PM.", datetime(2026, 12, 2, 15, 0, tzinfo=UTC)),
        ("at 3:00 p.m.", datetime(2026, 12, 2, 15, 0, tzinfo=UTC)),
        ("15:00", datetime(2026, 12, 2, 15, 0, tzinfo=UTC)),
        ("at 12pm UTC", datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        ("12am", datetime(2026, 12, 3, 0, 0, tzinfo=UTC)),
        # an hour already past today is tomorrow's
        ("9am", datetime(2026, 12, 3, 9, 0, tzinfo=UTC)),
        ("09:59", datetime(2026, 12, 3, 9, 59, tzinfo=UTC)),
        # dates: with and without a year; a date past this year is next year's
        ("May 5 at 9pm (America/New_York)", datetime(2027, 5, 6, 1, 0, tzinfo=UTC)),
        ("Dec 29th, 2026 10:15 PM.", datetime(2026, 12, 29, 22, 15, tzinfo=UTC)),
        ("at Dec 3 9:30 AM", datetime(2026, 12, 3, 9, 30, tzinfo=UTC)),
        ("2026-12-04 08:00", datetime(2026, 12, 4, 8, 0, tzinfo=UTC)),
    ],
)
def test_reset_times_are_read_in_every_form_the_clis_print(text, expected):
    assert parse_reset(text, NOW, UTC) == expected


def test_a_reset_without_a_zone_is_in_the_given_zone():
    assert parse_reset("3pm", NOW, PARIS) == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert parse_reset("3pm", NOW, timezone(timedelta(hours=-5))) == datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["soon", "later today", "13pm", "25:00", "at 3", "Feb 30 at 3pm", "every 5h and every week", ""]
)
def test_a_reset_that_says_nothing_readable_is_none(text):
    assert parse_reset(text, NOW, UTC) is None


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def with_lines(name: str, before: str, *lines: str) -> str:
    """The fixture screen `name` with `lines` inserted above its first line matching `before` (the input box)."""
    rows = fixture(name).split("\n")
    at = next(i for i, row in enumerate(rows) if re.search(before, row))
    return "\n".join(rows[:at] + list(lines) + rows[at:])


CLAUDE_RULE = r"^─{20}"
CODEX_COMPOSER = r"^› "
GEMINI_RULE = r"^─{20}"

LIMIT_SCREENS = [
    (
        claude.PROFILE,
        with_lines(
            "claude_code-2.1.330/idle_1",
            CLAUDE_RULE,
            "⏺ I'll run the tests.",
            "  ⎿  Claude usage limit reached. Your limit will reset at 3pm (Europe/Paris).",
        ),
        datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
    ),
    (
        claude.PROFILE,
        with_lines(
            "claude_code-2.1.330/idle_1",
            CLAUDE_RULE,
            "  ⎿  You've hit your session limit · resets 12:50am (America/Los_Angeles)",
        ),
        datetime(2026, 12, 3, 8, 50, tzinfo=UTC),
    ),
    (
        claude.PROFILE,
        with_lines("claude_code-2.1.330/idle_1", CLAUDE_RULE, "  ⎿  5-hour limit reached ∙ resets 3pm"),
        datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    ),
    (
        codex.PROFILE,
        with_lines(
            "codex-0.169.0/idle_1",
            CODEX_COMPOSER,
            "■ You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
            "2h 13m.",
        ),
        NOW + timedelta(hours=2, minutes=13),
    ),
    (
        codex.PROFILE,
        with_lines("codex-0.169.0/idle_1", CODEX_COMPOSER, "■ You’ve hit your usage limit. Try again at 3:00 PM."),
        datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
    ),
    (
        gemini.PROFILE,
        with_lines(
            "gemini-0.61.0/idle_1", GEMINI_RULE, "✕ Individual quota reached. Resets in 5h.", "  ⚡ Switch with /auth"
        ),
        NOW + timedelta(hours=5),
    ),
]


@pytest.mark.parametrize(("profile", "screen", "until"), LIMIT_SCREENS)
def test_each_agent_s_limit_screen_is_found_with_its_reset(profile, screen, until):
    # without it the screen is the agent idle at its input line
    assert detect(profile, Observation(screen=screen)).status is Status.IDLE
    seen = find_limit(profile.limits, screen, NOW, UTC)
    assert seen is not None and seen.until == until
    assert seen.rule == f"{profile.name}.{'quota_limit' if profile.name == 'gemini' else 'usage_limit'}"


def test_the_limit_line_is_quoted_whole():
    screen = LIMIT_SCREENS[0][1]
    seen = find_limit(claude.PROFILE.limits, screen, NOW, UTC)
    assert seen.text == "⎿ Claude usage limit reached. Your limit will reset at 3pm (Europe/Paris)."


@pytest.mark.parametrize(
    ("profile", "screen"),
    [
        (claude.PROFILE, with_lines("claude_code-2.1.330/idle_1", CLAUDE_RULE, "  ⎿  Usage limit reached")),
        (
            gemini.PROFILE,
            with_lines("gemini-0.61.0/idle_1", GEMINI_RULE, "⚡ You have reached your daily quota limit."),
        ),
    ],
)
def test_a_limit_without_a_readable_reset_has_none(profile, screen):
    seen = find_limit(profile.limits, screen, NOW, UTC)
    assert seen is not None and seen.until is None
    assert reason(seen, UTC, NOW) == f"usage limit: {seen.text}"


@pytest.mark.parametrize("name", ["claude_code-2.1.330/idle_1", "codex-0.169.0/idle_1", "gemini-0.61.0/idle_1"])
def test_ordinary_screens_show_no_limit(name):
    for profile in (claude.PROFILE, codex.PROFILE, gemini.PROFILE):
        assert find_limit(profile.limits, fixture(name), NOW, UTC) is None


def test_a_bare_rate_limit_is_not_a_plan_s_limit():
    screen = with_lines(
        "gemini-0.61.0/idle_1", GEMINI_RULE, '✕ [API Error: {"code":429,"status":"RESOURCE_EXHAUSTED"}]'
    )
    assert find_limit(gemini.PROFILE.limits, screen, NOW, UTC) is None


def test_a_limit_far_above_the_input_line_is_transcript():
    screen = with_lines("claude_code-2.1.330/idle_1", CLAUDE_RULE, "Usage limit reached", *["text"] * 10)
    assert find_limit(claude.PROFILE.limits, screen, NOW, UTC) is None


@pytest.mark.parametrize(
    ("profile", "name", "before"),
    [
        (claude.PROFILE, "claude_code-2.1.330/idle_1", CLAUDE_RULE),
        (codex.PROFILE, "codex-0.169.0/idle_1", CODEX_COMPOSER),
        (gemini.PROFILE, "gemini-0.61.0/idle_1", GEMINI_RULE),
    ],
)
def test_a_reply_that_quotes_a_notice_is_none(profile, name, before):
    quoted = '⏺ The rule matches "You\'ve hit your usage limit" and "usage limit reached for", quota reached too.'
    assert find_limit(profile.limits, with_lines(name, before, quoted), NOW, UTC) is None


def test_the_reason_gives_the_reset_in_chorus_s_zone():
    seen = find_limit(claude.PROFILE.limits, LIMIT_SCREENS[0][1], NOW, UTC)
    assert reason(seen, UTC, NOW) == "usage limit until 14:00"
    assert reason(seen, PARIS, NOW) == "usage limit until 15:00"
    later = find_limit(claude.PROFILE.limits, LIMIT_SCREENS[1][1], NOW, UTC)
    assert reason(later, UTC, NOW) == "usage limit until 2026-12-03 08:50"


def test_a_rule_s_words_gate_its_pattern():
    screen = "● done\nOut of credits; resets in 5m\n> "
    assert find_limit((LimitRule("x.credits", "credits; resets (?P<reset>.+)", words=("CREDITS",)),), screen, NOW, UTC)
    assert not find_limit(
        (LimitRule("x.credits", "credits; resets (?P<reset>.+)", words=("quota",)),), screen, NOW, UTC
    )


def test_a_limit_rule_is_checked():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        LimitRule("x.limit", "(")
    with pytest.raises(ValueError, match="needs a name"):
        LimitRule("", "limit")


# --- LimitWatch: what the worker asks ------------------------------------------------------------------------


def session(name="s1", limit_text="", limit_until=None):
    return SimpleNamespace(name=name, limit_text=limit_text, limit_until=limit_until)


def idle(screen):
    return detect(claude.PROFILE, Observation(screen=screen))


def test_a_limit_holds_until_its_reset_plus_the_margin(monkeypatch):
    screen = with_lines("codex-0.169.0/idle_1", CODEX_COMPOSER, "■ You've hit your usage limit. Try again in 1m.")
    watch = LimitWatch(timedelta(seconds=30), UTC)
    verdict = detect(codex.PROFILE, Observation(screen=screen))
    parked = watch.overrule(session(), codex.PROFILE, screen, verdict)
    assert parked.status is Status.WAITING
    assert parked.rule == "codex.usage_limit" and parked.reason.startswith("usage limit until ")
    assert watch.current("s1").until is not None
    clock = datetime.now(UTC) + timedelta(seconds=95)
    monkeypatch.setattr("sessions_app.limits.datetime", FrozenClock(clock))
    # past the reset and its margin: the screen's own verdict again (the same line does not mean a new limit)
    assert watch.overrule(session(), codex.PROFILE, screen, verdict) == verdict
    redrawn = screen + "\n"
    assert watch.overrule(session(), codex.PROFILE, redrawn, verdict) == verdict


def test_a_restarted_worker_reads_a_recorded_limit_as_recorded():
    screen = LIMIT_SCREENS[2][1]  # "resets 3pm": read again after 3pm it would mean tomorrow
    text = "⎿ 5-hour limit reached ∙ resets 3pm"
    recorded = datetime.now(UTC) - timedelta(hours=1)
    watch = LimitWatch(timedelta(seconds=30), UTC)
    verdict = idle(screen)
    assert watch.overrule(session(limit_text=text, limit_until=recorded), claude.PROFILE, screen, verdict) == verdict


def test_an_unreadable_reset_waits_with_the_agent_s_words():
    screen = with_lines("claude_code-2.1.330/idle_1", CLAUDE_RULE, "  ⎿  Usage limit reached")
    parked = LimitWatch(timedelta(seconds=30), UTC).overrule(session(), claude.PROFILE, screen, idle(screen))
    assert (parked.status, parked.reason) == (Status.WAITING, "usage limit: ⎿ Usage limit reached")


def test_a_profile_without_limits_is_not_searched():
    screen = LIMIT_SCREENS[0][1]
    verdict = idle(screen)
    watch = LimitWatch(timedelta(seconds=30), UTC)
    assert watch.overrule(session(), SimpleNamespace(limits=()), screen, verdict) is verdict


class FrozenClock:
    """datetime as sessions_app.limits sees it, its now() fixed."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self, tz=None):
        return self._now

    def __getattr__(self, name):
        return getattr(datetime, name)

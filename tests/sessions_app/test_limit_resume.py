# ruff: noqa: RUF001  -- screens hold the glyphs the CLIs really draw (U+203A, U+2019), not typos.
"""A session that hits its usage limit: recorded with its reset (UsageLimitReached, ResumeScheduled), waiting and
skipped by dispatch, and at the reset its continue message queued once (ResumeSent in the same transaction). The
kill -9 between the two is in test_limit_recovery_process.py (integration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from events_app import store
from sessions_app import selectors, services
from sessions_app.detection import Verdict
from sessions_app.limits import SIGNAL, LimitSeen
from sessions_app.models import OutboxMessage, Session
from sessions_app.profiles import Status
from sessions_app.worker import SessionMonitor
from tests.sessions_app import screens as s
from tests.sessions_app.factories import SessionFactory
from tests.sessions_app.test_limits import FrozenClock
from tests.sessions_app.test_worker import ScriptedTmux

RESET = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def limited(
    text="⎿ Claude usage limit reached. Your limit will reset at 3pm", until=RESET
) -> tuple[Verdict, LimitSeen]:
    verdict = Verdict(Status.WAITING, "usage limit until 15:00", "claude.usage_limit", SIGNAL, text)
    return verdict, LimitSeen("claude.usage_limit", text, until)


def types(name: str) -> list[str]:
    return [recorded.event_type for recorded in store.read(stream_type="session", stream_id=name)]


@pytest.mark.django_db
def test_a_limit_is_recorded_with_its_resume_at_the_reset_plus_the_margin(settings):
    settings.CHORUS_LIMIT_MARGIN, settings.CHORUS_CONTINUE_MESSAGE = 90, "go on"
    session = SessionFactory(profile="claude")
    assert services.session_record_status(session, *limited())
    assert types(session.name)[-3:] == ["SessionStatusChanged", "UsageLimitReached", "ResumeScheduled"]
    parked = Session.objects.get(pk=session.name)
    assert (parked.status, parked.status_reason) == ("waiting", "usage limit until 15:00")
    assert parked.limit_until == RESET
    assert (parked.resume_at, parked.resume_text) == (RESET + timedelta(seconds=90), "go on")


@pytest.mark.django_db
def test_a_reset_that_cannot_be_read_schedules_no_resume():
    session = SessionFactory(profile="claude")
    verdict, seen = limited("⎿ Usage limit reached", until=None)
    assert services.session_record_status(session, verdict, seen)
    assert "ResumeScheduled" not in types(session.name)
    parked = Session.objects.get(pk=session.name)
    assert (parked.status, parked.limit_text, parked.resume_at) == ("waiting", "⎿ Usage limit reached", None)


@pytest.mark.django_db
def test_an_agent_that_goes_on_by_itself_at_the_reset_gets_no_continue_message():
    session = SessionFactory(profile="claude")
    verdict, seen = limited()
    assert services.session_record_status(session, verdict, replace(seen, resumes_itself=True))
    assert types(session.name)[-2:] == ["SessionStatusChanged", "UsageLimitReached"]
    parked = Session.objects.get(pk=session.name)
    assert (parked.status, parked.limit_until, parked.resume_at) == ("waiting", RESET, None)


@pytest.mark.django_db
def test_the_continue_message_is_queued_once_whoever_asks():
    session = SessionFactory(profile="claude")
    services.session_record_status(session, *limited())
    parked = Session.objects.get(pk=session.name)
    message_id = services.session_resume_after_limit(parked)
    assert message_id is not None
    # the same (stale) read twice, as a second worker or a retried tick would: nothing more
    assert services.session_resume_after_limit(parked) is None
    assert services.session_resume_after_limit(Session.objects.get(pk=session.name)) is None
    queued = OutboxMessage.objects.filter(session=session.name)
    assert [(m.id, m.text, m.state) for m in queued] == [(message_id, "continue", "queued")]
    assert Session.objects.get(pk=session.name).resume_at is None


@pytest.mark.django_db
def test_the_same_limit_seen_again_schedules_nothing_more():
    session = SessionFactory(profile="claude")
    services.session_record_status(session, *limited())
    services.session_resume_after_limit(Session.objects.get(pk=session.name))
    idle = Verdict(Status.IDLE, "idle", "claude.input_empty", "screen")
    services.session_record_status(Session.objects.get(pk=session.name), idle)
    services.session_record_status(Session.objects.get(pk=session.name), *limited())
    assert types(session.name).count("ResumeScheduled") == 1
    assert Session.objects.get(pk=session.name).resume_at is None


@pytest.mark.django_db
def test_a_session_at_its_limit_gets_no_task_and_its_resume_ends_with_it():
    session = SessionFactory(profile="claude")
    services.session_set_auto_dispatch(session.name, True)
    services.session_record_status(Session.objects.get(pk=session.name), *limited())
    assert selectors.sessions_free_for_work() == []
    services.session_record_stopped(Session.objects.get(pk=session.name), "pane dead (exit 0)", 0)
    assert Session.objects.get(pk=session.name).resume_at is None


@pytest.mark.django_db(transaction=True)
def test_the_worker_parks_a_limited_agent_and_queues_continue_once_at_the_reset(settings, tmp_path, monkeypatch):
    settings.PROJECT_ROOT, settings.CHORUS_LIMIT_MARGIN = tmp_path, 0
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    session = SessionFactory(profile="codex")
    composer = ["› Ask Codex to do anything", "", "  ? for shortcuts"]
    limit = s.screen("• Done.", "", "■ You've hit your usage limit. Try again in 30m.", "", *composer)
    tmux = ScriptedTmux(session, "codex", limit, after_enter=limit)
    monitor = SessionMonitor(adapter=tmux)
    monitor.tick()
    parked = Session.objects.get(pk=session.name)
    assert (parked.status, parked.status_rule) == ("waiting", "codex.usage_limit")
    assert parked.resume_at is not None
    assert "UsageLimitReached" in types(session.name)
    # an hour later: the limit has reset
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr("sessions_app.limits.datetime", FrozenClock(later))
    monkeypatch.setattr("sessions_app.worker.timezone.now", lambda: later)
    monitor.tick()
    monitor.tick()
    assert types(session.name).count("ResumeSent") == 1
    assert [(m.text, m.state) for m in OutboxMessage.objects.filter(session=session.name)] == [("continue", "queued")]
    # typed once the agent is idle again: the screen's own verdict, now the limit lapsed (test_limits; typing it is
    # in test_limit_recovery_process)
    assert tmux.typed == []

"""The reactions to session events: queued messages fail with their session (in its transaction), and the desktop
hears of sessions waiting, done or stopped (in the worker, after the commit)."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from events_app import policies as registry
from events_app import store
from sessions_app import events as ev
from sessions_app import policies, services
from sessions_app.detection import Verdict
from sessions_app.models import OutboxMessage
from sessions_app.profiles import Status
from tests.sessions_app.factories import SessionFactory

pytestmark = pytest.mark.django_db


def verdict(status: str, reason: str = "rule test.x matched") -> Verdict:
    return Verdict(status=Status(status), reason=reason, rule="test.x", signal="screen")


def states(session: str) -> list[tuple[str, str, int]]:
    messages = OutboxMessage.objects.filter(session=session).order_by("queued_position")
    return [(m.state, m.failure_reason, m.attempts) for m in messages]


def test_the_reactions_are_registered():
    names = {p.name: p.in_transaction for p in registry.policies() if p.module == "sessions_app.policies"}
    assert names == {
        "queued_messages_fail_when_the_session_ends": True,
        "agent_tools_end_with_their_session": True,
        "revoked_credentials_leave_no_files": False,
        "the_desktop_hears_when_a_session_needs_a_person": False,
    }


def test_queued_messages_fail_in_the_transaction_that_stops_their_session():
    session = SessionFactory()
    services.session_send(session.name, "one")
    services.session_send(session.name, "two")
    other = SessionFactory()
    services.session_send(other.name, "elsewhere")
    assert services.session_record_stopped(session, "its tmux pane is gone", None)
    assert states(session.name) == [("failed", "the session stopped: its tmux pane is gone", 0)] * 2
    assert states(other.name) == [("queued", "", 0)]
    stopped = next(store.read(stream_type="session", stream_id=session.name, event_types=["SessionStopped"]))
    failures = list(store.read(event_types=["PromptDeliveryFailed"]))
    assert {(e.metadata["causation_id"], e.metadata["policy"]) for e in failures} == {
        (stopped.position, "queued_messages_fail_when_the_session_ends")
    }


def test_a_kill_fails_them_too():
    session = SessionFactory()
    services.session_send(session.name, "one")
    store.append("session", session.name, session.version, [ev.SessionKilled(leftover_pids=[])])
    assert states(session.name) == [("failed", "the session was killed", 0)]


def test_a_message_being_delivered_is_left_to_its_delivery():
    session = SessionFactory()
    message = services.session_send(session.name, "typing now")
    assert services.delivery_claim(message)
    services.session_record_stopped(session, "exit 0", 0)
    assert states(session.name) == [("delivering", "", 1)]


def test_without_the_policy_they_would_stay_queued():
    session = SessionFactory()
    services.session_send(session.name, "one")
    with registry.suspended("queued_messages_fail_when_the_session_ends"):
        services.session_record_stopped(session, "exit 0", 0)
    assert states(session.name) == [("queued", "", 0)]


# --- The desktop ----------------------------------------------------------------------------------------------


def recorded_of(name: str) -> list[store.RecordedEvent]:
    return list(store.read(stream_type="session", stream_id=name))[1:]


def test_what_the_desktop_hears_of_each_change():
    session = SessionFactory()
    for status in ("idle", "busy", "idle", "waiting", "busy"):
        session.refresh_from_db()
        services.session_record_status(session, verdict(status, f"because {status}"))
    session.refresh_from_db()
    services.session_record_stopped(session, "pane dead (exit 0)", 0)
    name = session.name
    assert [policies.notice(recorded) for recorded in recorded_of(name)] == [
        None,  # unknown -> idle: nothing finished
        None,
        (name, "idle", f"{name} is done", "back at its prompt"),
        (name, "waiting", f"{name} needs you", "because waiting"),
        None,
        (name, "stopped", f"{name} stopped", "pane dead (exit 0)"),
    ]


def test_the_worker_policy_notifies_once_per_change(settings, caplog):
    settings.CHORUS_NOTIFY = "log"
    runner = registry.PolicyRunner()
    runner.start()
    session = SessionFactory()
    services.session_record_status(session, verdict("waiting", "rule x.dialog matched 'Proceed?'"))
    with caplog.at_level("WARNING", logger="chorus.notify"):
        runner.tick()
        runner.tick()
    assert caplog.messages == [f"{session.name} needs you: rule x.dialog matched 'Proceed?'"]


def test_a_second_dialog_soon_after_the_first_is_announced_too(settings, caplog):
    settings.CHORUS_NOTIFY = "log"
    runner = registry.PolicyRunner()
    runner.start()
    session = SessionFactory()
    for status in ("waiting", "busy", "waiting", "busy", "idle"):
        session.refresh_from_db()
        services.session_record_status(session, verdict(status, f"rule x.{status}"))
    with caplog.at_level("WARNING", logger="chorus.notify"):
        runner.tick()
        runner.tick()
    name = session.name
    assert caplog.messages == [
        f"{name} needs you: rule x.waiting",
        f"{name} needs you: rule x.waiting",
        f"{name} is done: back at its prompt",
    ]


def test_news_from_while_the_worker_was_down_is_not_shown(settings, caplog):
    settings.CHORUS_NOTIFY = "log"
    session = SessionFactory()
    services.session_record_status(session, verdict("waiting"))
    [recorded] = recorded_of(session.name)
    old = dataclasses.replace(recorded, recorded_at=recorded.recorded_at - datetime.timedelta(minutes=10))
    with caplog.at_level("WARNING", logger="chorus.notify"):
        policies.the_desktop_hears_when_a_session_needs_a_person([old])
    assert caplog.messages == []
    with caplog.at_level("WARNING", logger="chorus.notify"):
        policies.the_desktop_hears_when_a_session_needs_a_person([recorded])
    assert caplog.messages == [f"{session.name} needs you: rule test.x matched"]

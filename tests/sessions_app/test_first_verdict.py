"""A session's first verdict is recorded even when it is the status the session began with (an adopted pane is
unknown from the start): the card then says why, e.g. that no rule of its profile matched and what the last line
was."""

from __future__ import annotations

import pytest

from events_app import store
from sessions_app import detection, services
from sessions_app.models import Session
from sessions_app.profiles import Profile
from tests.sessions_app.factories import AdoptedSessionFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_first_verdict_gives_the_new_session_its_reason():
    session = AdoptedSessionFactory(name="tool")
    assert (session.status, session.status_reason) == ("unknown", "")
    profile = Profile(name="my-tool", command=("my-tool",))
    verdict = detection.detect(profile, detection.Observation(screen="ready\n>   \n"))
    assert verdict.status is detection.Status.UNKNOWN
    assert services.session_record_status(session, verdict)
    session = Session.objects.get(pk="tool")
    assert session.status_reason == "no_match: no rule of profile my-tool matched (last line: '>')"
    # Once it has a reason, the same status again writes nothing.
    assert not services.session_record_status(session, verdict)


def test_a_status_change_that_lost_a_race_for_the_session_is_recorded_at_once_on_the_session_as_it_is_now():
    stale = AdoptedSessionFactory(name="tool")
    services.session_record_status(stale, detection.Verdict(detection.Status.IDLE, "seen idle", "t.idle", "screen"))
    stale = Session.objects.get(pk="tool")
    # another process writes to the session after the worker read it (its conversation bound)
    services.session_bind_conversation(Session.objects.get(pk="tool"), "c-1", "test")
    waiting = detection.Verdict(detection.Status.WAITING, "a dialog", "t.dialog", "screen")
    assert services.session_record_status(stale, waiting)
    session = Session.objects.get(pk="tool")
    assert (session.status, session.conversation) == ("waiting", "c-1")
    changes = [
        e.event for e in store.read(stream_type="session", stream_id="tool", event_types=["SessionStatusChanged"])
    ]
    assert [(c.from_status, c.to_status) for c in changes] == [("unknown", "idle"), ("idle", "waiting")]

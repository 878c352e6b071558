"""A session's first verdict is recorded even when it is the status the session began with (an adopted pane is
unknown from the start): the card then says why, e.g. that no rule of its profile matched and what the last line
was."""

from __future__ import annotations

import pytest

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

"""The pages of unattended hours: a session parked at its usage limit says until when and what Chorus will type,
one whose conversation is recorded offers to resume it, and the overview offers to recover lost sessions."""

import pytest

from events_app import store
from sessions_app import events as session_events

pytestmark = pytest.mark.django_db


def test_a_parked_session_with_a_conversation_shows_its_resume_and_offers_to_resume_the_conversation(browser):
    created = session_events.SessionCreated(
        name="night", profile="claude", command=["claude"], cwd="/tmp", pane_id="%9", tmux_session="night", pid=None
    )
    parked = session_events.SessionStatusChanged(
        from_status="starting",
        to_status="waiting",
        reason="usage limit until 15:00",
        rule="claude.usage_limit",
        signal="usage_limit",
        text="",
    )
    with store.event_context(actor="test", source="test"):
        store.append("session", "night", 0, [created])
        store.append(
            "session",
            "night",
            1,
            [
                parked,
                session_events.UsageLimitReached(
                    rule="claude.usage_limit", text="resets 3pm", reset_at="2026-12-02T15:00:00+00:00"
                ),
                session_events.ResumeScheduled(at="2026-12-02T15:02:00+00:00", text="continue"),
                session_events.ConversationBound(conversation="abc-123", source="test"),
            ],
        )
    page = browser.get("/sessions/night/").content.decode()
    assert "usage limit until 15:00" in page
    assert "conversation abc-123" in page and "“continue” at 2026-12-02 15:02" in page
    assert '<input type="hidden" name="resume" value="1">' in page and "Resume the conversation</button>" in page
    assert "usage limit until 15:00" in browser.get("/").content.decode()


def test_the_overview_offers_to_recover_sessions(browser):
    page = browser.get("/").content.decode()
    assert 'action="/sessions/recover"' in page and "Recover sessions</button>" in page

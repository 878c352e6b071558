"""The page websocket in process (channels' WebsocketCommunicator, no server, no tmux): refused without a login,
unknown pages, the snapshot on connect, the partials an event changed, and screens pushed only when they change.
tests/pages/test_page_socket.py drives the same socket through a real daphne."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chorus_site.auth import WebsocketAuthentication
from chorus_site.consumers import PageConsumer
from chorus_site.pages.session import SessionPage
from events_app import live, store
from sessions_app import events as session_events
from sessions_app import mirror

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
TIMEOUT = 5


async def _hub_without_follower() -> live.Hub:
    """The test publishes the follower's events itself."""
    return live.hub()


def _communicator(query: str, *, token: str | None = None) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    application = WebsocketAuthentication(PageConsumer.as_asgi(hub=_hub_without_follower))
    return WebsocketCommunicator(application, f"/ws/page/?{query}", headers=headers)


@database_sync_to_async
def _created(name: str, pane: str = "%999") -> dict:
    event = session_events.SessionCreated(
        name=name, profile="shell", command=["sh"], cwd="/tmp", pane_id=pane, tmux_session=name, pid=None
    )
    with store.event_context(actor="test", source="test"):
        recorded = store.append("session", name, 0, [event])[0]
    return {"position": recorded.position, "stream_type": "session", "stream_id": name, "version": 1,
            "event_type": "SessionCreated"}  # fmt: skip


async def _followed(message: dict) -> None:
    """What the event follower does with a committed event: hand it to the subscriptions of its groups."""
    live.hub().publish([dict(message)])


async def test_a_socket_without_login_or_token_is_closed_4401():
    communicator = _communicator("page=events")
    assert await communicator.connect(TIMEOUT) == (False, 4401)
    communicator = _communicator("page=events", token="wrong")
    assert await communicator.connect(TIMEOUT) == (False, 4401)


async def test_an_unknown_page_or_a_missing_subject_is_closed_4404():
    communicator = _communicator("page=nothing", token=settings.CHORUS_TOKEN)
    assert await communicator.connect(TIMEOUT) == (False, 4404)
    communicator = _communicator("page=session&name=nobody", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True  # accepted, then its snapshot finds no session
    assert (await communicator.receive_output(TIMEOUT))["code"] == 4404


async def test_the_snapshot_on_connect_then_the_partial_an_event_changed():
    communicator = _communicator("page=events", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    snapshot = await communicator.receive_from(TIMEOUT)
    assert 'id="event-rows"' in snapshot and 'id="needs-human"' in snapshot
    await _followed(await _created("pushed"))
    update = await communicator.receive_from(TIMEOUT)
    assert 'id="event-rows"' in update and "session:pushed" in update
    await communicator.disconnect()


async def test_an_event_already_rendered_is_not_rendered_again():
    communicator = _communicator("page=events", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    await communicator.receive_from(TIMEOUT)
    message = await _created("once")
    await _followed(message)
    assert "session:once" in await communicator.receive_from(TIMEOUT)
    await _followed(message)  # handed over again (a follower's retry): already rendered, not again
    assert await communicator.receive_nothing(0.5)
    await communicator.disconnect()


async def test_a_page_that_falls_behind_the_log_gets_a_whole_snapshot():
    communicator = _communicator("page=events", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    await communicator.receive_from(TIMEOUT)
    message = await _created("flood")
    live.hub().publish(
        [{**message, "position": message["position"] + n} for n in range(live.LAG_LIMIT + 1)]
    )  # more than it may hold before it has rendered any
    snapshot = await communicator.receive_from(TIMEOUT)
    assert 'id="event-rows"' in snapshot and 'id="needs-human"' in snapshot
    await communicator.disconnect()


@database_sync_to_async
def _captured(name: str, text: str) -> None:
    """What the worker does when it captured a new screen of a session a page shows."""
    mirror.record({name: ("%5", text, time.time())})


async def test_a_screen_is_pushed_when_it_changes_and_only_then():
    await _created("builder", pane="%5")
    await _captured("builder", "$ make\n\x1b[32mbuilding\x1b[0m\n")
    communicator = _communicator("page=session&name=builder", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    assert 'id="session-head"' in await communicator.receive_from(TIMEOUT)
    assert '<span class="f2">building</span>' in await communicator.receive_from(TIMEOUT)
    assert await communicator.receive_nothing(0.8)  # 0.3 s between looks: the same screen is not sent again
    await _captured("builder", "$ make\n\x1b[32mall green\x1b[0m\n")
    assert '<span class="f2">all green</span>' in await communicator.receive_from(TIMEOUT)
    await communicator.disconnect()


async def test_a_page_that_shows_a_screen_has_the_worker_capture_it():
    await _created("watched", pane="%6")
    communicator = _communicator("page=session&name=watched", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    await communicator.receive_from(TIMEOUT)
    await asyncio.sleep(0.5)  # the page looks at its screen every 0.3 s
    assert "watched" in await database_sync_to_async(mirror.wanted)()
    await communicator.disconnect()


async def test_a_new_screen_is_pushed_when_the_worker_stores_it_not_at_the_next_look(monkeypatch):
    monkeypatch.setattr(SessionPage, "screen_interval", 3600.0)  # the page's own look would come in an hour
    await _created("rung", pane="%7")
    await _captured("rung", "$ make\n\x1b[32mbuilding\x1b[0m\n")
    communicator = _communicator("page=session&name=rung", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    assert 'id="session-head"' in await communicator.receive_from(TIMEOUT)
    assert "building" in await communicator.receive_from(TIMEOUT)
    await _captured("rung", "$ make\n\x1b[32mall green\x1b[0m\n")
    assert '<span class="f2">all green</span>' in await communicator.receive_from(TIMEOUT)
    await communicator.disconnect()

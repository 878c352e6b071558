"""The terminal websockets in process (channels' WebsocketCommunicator, no server, no tmux): refused without a login,
an unknown session closed, a session that is not running says so; the worker's link refused without the token in
its header, and a terminal relayed through it (the test plays the worker). tests/pages/test_terminal.py drives them
through a real daphne, worker, tmux and Chromium."""

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from chorus_site.auth import WebsocketAuthentication
from events_app import store
from sessions_app import events as session_events
from sessions_app.consumers import TerminalConsumer, TerminalLinkConsumer
from sessions_app.relay import STREAM
from tests.sessions_app.factories import SessionFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
TIMEOUT = 5


@pytest_asyncio.fixture(autouse=True)
async def _threads_close_their_connections():
    """The consumer reads the database in channels' thread; that thread's connection must not outlive the test, or a
    later test without database access finds it there."""
    yield
    await database_sync_to_async(connections.close_all)()


def _link(token: str | None = None, host: str | None = "testhost") -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    if host is not None:
        headers.append((b"chorus-host", host.encode()))
    application = WebsocketAuthentication(TerminalLinkConsumer.as_asgi())
    return WebsocketCommunicator(application, "/ws/terminal/worker/", headers=headers)


def _communicator(name: str, token: str | None = None) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    application = WebsocketAuthentication(TerminalConsumer.as_asgi())
    return WebsocketCommunicator(application, f"/ws/terminal/?name={name}", headers=headers)


@database_sync_to_async
def _stopped(name: str) -> None:
    session = SessionFactory(name=name)
    with store.event_context(actor="test", source="test"):
        store.append("session", name, session.version, [session_events.SessionStopped("pane dead", 0)])


async def test_a_socket_without_login_or_token_is_closed_4401():
    assert await _communicator("any").connect(TIMEOUT) == (False, 4401)
    assert await _communicator("any", token="wrong").connect(TIMEOUT) == (False, 4401)


async def test_an_unknown_session_is_closed_4404():
    assert await _communicator("nobody", token=settings.CHORUS_TOKEN).connect(TIMEOUT) == (False, 4404)


async def test_a_session_that_is_not_running_says_so_and_closes():
    await _stopped("gone")
    communicator = _communicator("gone", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    assert await communicator.receive_json_from(TIMEOUT) == {
        "type": "ended",
        "reason": "the session is not running",
        "again": False,
    }
    assert (await communicator.receive_output(TIMEOUT))["type"] == "websocket.close"


@database_sync_to_async
def _live(name: str, host: str = "testhost") -> str:
    return SessionFactory(name=name, host=host).pane_id


async def test_a_worker_link_needs_the_token_in_its_header():
    assert await _link().connect(TIMEOUT) == (False, 4401)
    assert await _link(token="wrong").connect(TIMEOUT) == (False, 4401)


async def test_without_a_worker_link_the_page_is_told_to_try_again():
    await _live("alone")
    communicator = _communicator("alone", token=settings.CHORUS_TOKEN)
    assert (await communicator.connect(TIMEOUT))[0] is True
    ended = await communicator.receive_json_from(TIMEOUT)
    assert ended["type"] == "ended" and ended["again"] is True and "no worker of host testhost" in ended["reason"]


async def test_a_worker_link_must_name_its_host():
    assert await _link(token=settings.CHORUS_TOKEN, host=None).connect(TIMEOUT) == (False, 4400)


async def test_a_terminal_opens_through_the_link_of_its_sessions_host_only():
    await _live("far", host="ci-2")
    worker = _link(token=settings.CHORUS_TOKEN, host="laptop")
    assert (await worker.connect(TIMEOUT))[0] is True
    browser = _communicator("far", token=settings.CHORUS_TOKEN)
    assert (await browser.connect(TIMEOUT))[0] is True
    ended = await browser.receive_json_from(TIMEOUT)
    assert ended["type"] == "ended" and "no worker of host ci-2" in ended["reason"]
    assert await worker.receive_nothing(0.2)
    await worker.disconnect()


async def test_a_terminal_is_relayed_through_the_workers_link():
    pane = await _live("relayed")
    worker = _link(token=settings.CHORUS_TOKEN)
    assert (await worker.connect(TIMEOUT))[0] is True
    browser = _communicator("relayed", token=settings.CHORUS_TOKEN)
    assert (await browser.connect(TIMEOUT))[0] is True
    opened = await worker.receive_json_from(TIMEOUT)
    assert opened == {"open": opened["open"], "pane": pane}
    stream = opened["open"]
    await worker.send_json_to({"opened": stream})
    assert await browser.receive_json_from(TIMEOUT) == {"type": "ready", "writable": True}
    await worker.send_json_to({"size": stream, "cols": 80, "rows": 24})
    await worker.send_to(bytes_data=STREAM.pack(stream) + b"$ ")
    assert await browser.receive_json_from(TIMEOUT) == {"type": "size", "cols": 80, "rows": 24}
    assert await browser.receive_from(TIMEOUT) == b"$ "
    await browser.send_json_to({"input": "ls\r"})
    typed = await worker.receive_json_from(TIMEOUT)
    assert typed == {"input": stream, "text": "ls\r", "ask": typed["ask"]}
    await worker.send_json_to({"refused": typed["ask"], "message": "the pane is gone"})
    assert await browser.receive_json_from(TIMEOUT) == {"type": "error", "message": "the pane is gone"}
    await browser.disconnect()
    assert await worker.receive_json_from(TIMEOUT) == {"close": stream}
    await worker.disconnect()

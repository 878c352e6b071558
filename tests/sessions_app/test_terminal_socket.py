"""The terminal websocket in process (channels' WebsocketCommunicator, no server, no tmux): refused without a login,
an unknown session closed, a session that is not running says so. tests/pages/test_terminal.py drives it through
a real daphne, tmux and Chromium."""

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from chorus_site.auth import WebsocketAuthentication
from events_app import store
from sessions_app import events as session_events
from sessions_app.consumers import TerminalConsumer
from tests.sessions_app.factories import SessionFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
TIMEOUT = 5


@pytest_asyncio.fixture(autouse=True)
async def _threads_close_their_connections():
    """The consumer reads the database in channels' thread; that thread's connection must not outlive the test, or a
    later test without database access finds it there."""
    yield
    await database_sync_to_async(connections.close_all)()


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

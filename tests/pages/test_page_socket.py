"""The page websocket through a real daphne: authentication, the snapshot on connect, partials after events."""

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from events_app import store
from sessions_app import events as session_events

pytestmark = pytest.mark.integration


def _connect(server, query: str, cookie: str | None):
    headers = {"Cookie": cookie} if cookie else {}
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/page/?{query}", origin=server.url, additional_headers=headers, open_timeout=5
    )


def _created(name: str) -> None:
    event = session_events.SessionCreated(
        name=name, profile="shell", command=["sh"], cwd="/tmp", pane_id="%999", tmux_session=name, pid=None
    )
    with store.event_context(actor="test", source="test"):
        store.append("session", name, 0, [event])


def test_the_page_socket_needs_a_login(shared_server):
    with pytest.raises(InvalidStatus) as refused:
        _connect(shared_server, "page=overview", None)
    assert refused.value.response.status_code == 403


def test_the_page_socket_refuses_another_origin(shared_server):
    with pytest.raises(InvalidStatus):
        connect(
            f"ws://127.0.0.1:{shared_server.port}/ws/page/?page=overview",
            origin="http://127.0.0.1:1",
            additional_headers={"Cookie": shared_server.session_cookie()},
            open_timeout=5,
        )


def test_an_unknown_page_is_refused(shared_server):
    with pytest.raises(InvalidStatus) as refused:
        _connect(shared_server, "page=nothing", shared_server.session_cookie())
    assert refused.value.response.status_code == 403


def test_a_snapshot_on_connect_then_the_partials_an_event_changed(server):
    with _connect(server, "page=overview", server.session_cookie()) as ws:
        snapshot = ws.recv(timeout=5)
        assert 'id="session-grid"' in snapshot and 'id="status-counts"' in snapshot and 'id="needs-human"' in snapshot
        _created("pushed")  # committed by this process, found by the server's follower
        update = ws.recv(timeout=5)
    assert 'id="card-pushed"' in update
    assert 'id="status-counts"' in update


def test_the_event_log_page_gets_its_rows_again_after_an_event(server):
    with _connect(server, "page=events", server.session_cookie()) as ws:
        assert 'id="event-rows"' in ws.recv(timeout=5)
        _created("logged")
        update = ws.recv(timeout=5)
    assert 'id="event-rows"' in update and "session:logged" in update

"""The sessions API against real tmux and the fake agent."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from events_app import store
from sessions_app.worker import SessionMonitor
from tests.sessions_app.test_lifecycle import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def api(project):
    return Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")


@pytest.fixture
def created(api):
    response = api.post("/api/sessions", {"name": "a1", "profile": "fake"}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_list_get(api, created, tmux_server):
    assert created["lifecycle"] == "live" and created["profile"] == "fake"
    assert created["attach_command"].endswith("attach -t a1")
    assert str(tmux_server.socket) in created["attach_command"]
    assert [s["name"] for s in api.get("/api/sessions").json()] == ["a1"]
    assert api.get("/api/sessions/a1").json()["pane_id"] == created["pane_id"]
    event = next(store.read(stream_type="session"))
    assert event.metadata == {**event.metadata, "actor": "api-token", "source": "api"}


def test_messages_outbox_and_cancel(api, created):
    queued = api.post("/api/sessions/a1/messages", {"text": "hello"}, content_type="application/json")
    assert queued.status_code == 202 and queued.json()["state"] == "queued"
    message_id = queued.json()["id"]
    assert [m["id"] for m in api.get("/api/sessions/a1/outbox").json()] == [message_id]
    cancelled = api.post(f"/api/sessions/a1/outbox/{message_id}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    assert api.get("/api/sessions/a1/outbox").json() == []
    assert api.get("/api/sessions/a1/outbox", {"finished": True}).json()[0]["state"] == "cancelled"
    again = api.post(f"/api/sessions/a1/outbox/{message_id}/cancel")
    assert again.status_code == 409 and "no longer be cancelled" in again.json()["detail"]


def test_an_ended_session_is_removed_and_a_live_one_is_not(api, created, tmux_server):
    live = api.delete("/api/sessions/a1")
    assert live.status_code == 409 and live.json()["detail"] == "session 'a1' is live; kill it first"
    assert api.post("/api/sessions/a1/kill").json()["lifecycle"] == "killed"
    removed = api.delete("/api/sessions/a1")
    assert removed.status_code == 204, removed.content
    assert api.get("/api/sessions/a1").status_code == 404
    assert api.delete("/api/sessions/a1").status_code == 404
    assert [e.event_type for e in store.read(stream_type="session")][-1] == "SessionRemoved"


def test_screen_history_profiles_kill(api, created):
    assert "text" in api.get("/api/sessions/a1/screen").json()
    assert api.get("/api/sessions/a1/history").json() == []
    assert "fake" in [p["name"] for p in api.get("/api/sessions/profiles").json()]
    killed = api.post("/api/sessions/a1/kill").json()
    assert killed["lifecycle"] == "killed"
    assert api.get("/api/sessions/a1/screen").status_code == 409


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("post", "/api/sessions", {"name": "no spaces"}, 422, "string_pattern_mismatch"),
        ("post", "/api/sessions", {"name": "ok", "profile": "nope"}, 404, "unknown profile"),
        ("post", "/api/sessions", {"profile": "fake"}, 422, ""),
        ("get", "/api/sessions/ghost", None, 404, "no session named 'ghost'"),
        ("post", "/api/sessions/ghost/messages", {"text": "x"}, 404, "no session named"),
        ("post", "/api/sessions/a1/messages", {"text": ""}, 422, "string_pattern_mismatch"),
        ("post", "/api/sessions/a1/keys", {"keys": ["rm -rf"]}, 422, "literal_error"),
        ("post", "/api/sessions", {"name": "a1", "profile": "fake"}, 409, "already running"),
        ("post", "/api/sessions/a1/outbox/nope/cancel", None, 404, "no message"),
    ],
)
def test_bad_requests_get_clear_errors(api, created, method, path, body, status, detail):
    before = store.last_position()
    kwargs = {"content_type": "application/json"} if body is not None else {}
    response = getattr(api, method)(path, body, **kwargs) if body is not None else getattr(api, method)(path)
    assert response.status_code == status, response.content
    assert detail in str(response.json()["detail"])
    assert store.last_position() == before


def test_openapi_lists_the_session_endpoints(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    assert {"/api/sessions", "/api/sessions/{name}/messages", "/api/sessions/{name}/keys"} <= set(paths)


def test_a_stopped_session_shows_the_last_screen_its_dead_pane_holds(api, project, tmux_server):
    toml = project.root / "chorus.toml"
    # (tmux 3.3 writes "Pane is dead" on the last row, scrolling the top row away)
    brief = '["sh", "-c", "echo top row; echo last words; exit 3"]'
    toml.write_text(toml.read_text() + f"\n[profiles.brief]\ncommand = {brief}\n")
    created = api.post("/api/sessions", {"name": "b1", "profile": "brief"}, content_type="application/json").json()
    monitor = SessionMonitor()
    wait_for(monitor, lambda: api.get("/api/sessions/b1").json()["lifecycle"] == "ended", what="ended")
    answer = api.get("/api/sessions/b1/screen")
    assert answer.status_code == 200, answer.content
    assert answer.json()["text"].startswith("last words\n"), answer.json()["text"]
    assert answer.json()["text"] == tmux_server.capture(created["pane_id"]).text
    api.post("/api/sessions/b1/restart")
    api.post("/api/sessions/b1/kill")
    gone = api.get("/api/sessions/b1/screen")
    assert gone.status_code == 409 and "killed and its pane has gone" in gone.json()["detail"]


def test_clear_input_refuses_while_starting_or_with_an_empty_input(api, created):
    # just created: still starting, so no key is pressed into a booting agent
    refused = api.post("/api/sessions/a1/clear-input")
    assert refused.status_code == 409 and "starting" in refused.json()["detail"]
    assert api.get("/api/sessions/a1").json()["delivery_held"] == ""

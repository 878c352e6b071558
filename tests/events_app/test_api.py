import pytest
from django.conf import settings
from django.test import Client

from events_app import store
from tests.demo import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")


@pytest.fixture
def history():
    services.counter_open("a", "first")
    services.counter_increment("a", 2)
    services.counter_open("b", "second")
    services.counter_increment("a", 3)


def test_list_pages_by_position(api, history):
    first = api.get("/api/events", {"limit": 2}).json()
    assert [e["position"] for e in first["items"]] == [1, 2]
    assert first["next_after"] == 2
    rest = api.get("/api/events", {"after": first["next_after"], "limit": 2}).json()
    assert [e["event_type"] for e in rest["items"]] == ["CounterOpened", "CounterIncremented"]
    assert api.get("/api/events", {"after": 4}).json() == {"items": [], "next_after": None}


def test_filters_by_stream_and_type(api, history):
    body = api.get(
        "/api/events", {"stream_type": "counter", "stream_id": "a", "event_type": "CounterIncremented"}
    ).json()
    assert [(e["stream_id"], e["data"]["by"]) for e in body["items"]] == [("a", 2), ("a", 3)]
    assert body["items"][0]["metadata"]["source"] == "cli"


def test_filters_by_actor(api, history):
    with store.event_context(actor="alice", source="test"):
        services.counter_increment("b", 5)
    assert [e["position"] for e in api.get("/api/events", {"actor": "alice"}).json()["items"]] == [5]
    assert [e["position"] for e in api.get("/api/events", {"actor": "system", "after": 2}).json()["items"]] == [3, 4]


def test_stream_history_and_streams(api, history):
    events = api.get("/api/events/streams/counter/a").json()
    assert [e["version"] for e in events] == [1, 2, 3]
    streams = api.get("/api/events/streams", {"stream_type": "counter"}).json()
    assert {(s["stream_id"], s["version"]) for s in streams} == {("a", 3), ("b", 1)}


def test_unknown_stream_is_404_with_a_message(api):
    response = api.get("/api/events/streams/counter/nope")
    assert response.status_code == 404
    assert "no stream counter:nope" in response.json()["detail"]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 5000}, {"after": -1}, {"after": 2**70}, {"since": "yesterday"}]
)
def test_bad_filters_are_422(api, params):
    response = api.get("/api/events", params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_health(api):
    assert api.get("/api/health").json() == {"status": "ok", "position": 0}


def test_wrong_bearer_is_401():
    response = Client(HTTP_AUTHORIZATION="Bearer nope").get("/api/health")
    assert response.status_code == 401


def test_browser_session_works_for_reads_and_needs_csrf_for_writes():
    client = Client(enforce_csrf_checks=True)
    client.get(f"/login/?token={settings.CHORUS_TOKEN}")
    assert client.get("/api/health").status_code == 200


def test_openapi_schema_is_served(api):
    schema = api.get("/api/openapi.json").json()
    assert "/api/events" in schema["paths"]
    assert {"BearerToken", "BrowserSession"} <= set(schema["components"]["securitySchemes"])

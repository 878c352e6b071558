"""The live websocket consumer in-process (channels.testing): authentication by the site's scope flag,
subscriptions, snapshots, replay of a gap and events as they are committed."""

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from events_app import live
from events_app.consumers import LiveConsumer
from events_app.routing import websocket_urlpatterns
from tests.demo import services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def communicator(authenticated: bool = True) -> WebsocketCommunicator:
    client = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    if authenticated:
        client.scope["chorus_authenticated"] = True
    return client


async def test_a_socket_the_site_did_not_authenticate_is_refused():
    client = communicator(authenticated=False)
    connected, code = await client.connect()
    assert (connected, code) == (False, 4401)


async def test_a_subscription_gets_a_snapshot_then_each_committed_event_of_its_topics():
    await sync_to_async(services.counter_open)("other", "other")
    client = communicator()
    assert (await client.connect())[0]

    await client.send_json_to({"subscribe": ["counter:wanted"]})
    snapshot = await client.receive_json_from(timeout=5)
    await sync_to_async(services.counter_open)("elsewhere", "elsewhere")
    await sync_to_async(services.counter_open)("wanted", "wanted")
    event = await client.receive_json_from(timeout=5)

    assert snapshot == {"type": "snapshot", "position": 1, "resync": True}
    assert {k: event[k] for k in ("type", "position", "stream_id", "event_type", "version")} == {
        "type": "event",
        "position": 3,
        "stream_id": "wanted",
        "event_type": "CounterOpened",
        "version": 1,
    }
    assert await client.receive_nothing(timeout=0.3)
    await client.disconnect()


async def test_a_reconnect_after_a_position_gets_the_missed_events_before_its_snapshot():
    for name in ("a", "b", "c"):
        await sync_to_async(services.counter_open)(name, name)
    client = communicator()
    await client.connect()

    await client.send_json_to({"subscribe": ["counter:b", "counter:c"], "after": 1})
    replay, snapshot = [await client.receive_json_from(timeout=5) for _ in range(2)]

    assert replay["type"] == "events"
    assert [(e["stream_id"], e["position"]) for e in replay["events"]] == [("b", 2), ("c", 3)]
    assert snapshot == {"type": "snapshot", "position": 3, "resync": False}
    await client.disconnect()


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"subscribe": "counter"}, 'send {"subscribe": [topics], "after": position}'),
        ({"subscribe": ["bad topic!"]}, "invalid topic 'bad topic!'"),
        ("subscribe me", 'not JSON: send {"subscribe": [topics], "after": position}'),
        ('{"subscribe": ["\\ud800"]', 'not JSON: send {"subscribe": [topics], "after": position}'),
    ],
    ids=["not-a-list", "bad-topic", "not-json", "truncated"],
)
async def test_a_bad_subscription_gets_an_error_and_the_socket_stays_open(sent, message):
    client = communicator()
    await client.connect()

    await client.send_json_to(sent) if isinstance(sent, dict) else await client.send_to(text_data=sent)
    assert await client.receive_json_from(timeout=5) == {"type": "error", "message": message}
    await client.send_json_to({"subscribe": ["*"]})
    assert (await client.receive_json_from(timeout=5))["type"] == "snapshot"
    await client.disconnect()


async def test_a_client_that_falls_behind_the_log_is_told_to_resync_never_left_with_a_silent_gap():
    await sync_to_async(services.counter_open)("wanted", "wanted")
    client = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/live/")
    client.scope["chorus_authenticated"] = True
    await client.connect()
    await client.send_json_to({"subscribe": ["counter"]})
    await client.receive_json_from(timeout=5)

    # More events than a subscription may hold unsent, all at once, before the socket could send any.
    live.hub().publish([live.notice(100 + n, "counter", "wanted", 2 + n, "X") for n in range(live.LAG_LIMIT + 1)])

    assert await client.receive_json_from(timeout=5) == {"type": "snapshot", "position": 1, "resync": True}
    await client.disconnect()


async def test_a_socket_whose_login_ended_is_closed_with_4401():
    logged_in = [True]
    client = WebsocketCommunicator(LiveConsumer.as_asgi(recheck_seconds=0.05), "/ws/live/")
    client.scope["chorus_authenticated"] = True
    client.scope["chorus_still_authenticated"] = lambda: logged_in[0]
    assert (await client.connect())[0]
    await client.send_json_to({"subscribe": ["*"]})
    await client.receive_json_from(timeout=5)
    assert await client.receive_nothing(timeout=0.2)

    logged_in[0] = False

    assert await client.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await client.disconnect()

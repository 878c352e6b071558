"""A page socket whose login ended (the token was rotated) is closed, as its HTTP requests get 401."""

import pytest
from channels.testing import WebsocketCommunicator

from chorus_site.consumers import PageConsumer
from events_app import live

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _hub_without_follower() -> live.Hub:
    return live.hub()


async def test_a_page_whose_login_ended_is_closed_with_4401():
    logged_in = [True]
    client = WebsocketCommunicator(
        PageConsumer.as_asgi(hub=_hub_without_follower, recheck_seconds=0.05), "/ws/page/?page=events"
    )
    client.scope["chorus_authenticated"] = True
    client.scope["chorus_still_authenticated"] = lambda: logged_in[0]
    assert (await client.connect(5))[0]
    assert 'id="event-rows"' in await client.receive_from(5)
    assert await client.receive_nothing(timeout=0.2)

    logged_in[0] = False

    assert await client.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await client.disconnect()

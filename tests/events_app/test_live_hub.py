"""The live hub without sockets: events go to the subscriptions that follow one of their groups, each once, and a
subscription that cannot keep up is declared behind instead of losing events silently."""

import asyncio
import json

import pytest

from events_app import live

pytestmark = pytest.mark.asyncio


def event(position: int, stream_type: str = "task", stream_id: str = "1") -> dict:
    return live.notice(position, stream_type, stream_id, 1, "X")


def fields(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "json"}


async def test_each_subscription_gets_the_events_of_its_groups_once_in_order():
    hub = live.Hub(asyncio.get_running_loop(), interval=1.0)
    everything = hub.subscribe([live.ALL_GROUP])
    tasks = hub.subscribe([live.topic_group("task"), live.topic_group("task:1")])
    one_session = hub.subscribe([live.topic_group("session:a")])

    hub.publish([event(1), event(2, "session", "a"), event(3, "session", "b")])

    received = await everything.next()
    assert [e["position"] for e in received] == [1, 2, 3]
    assert [e["position"] for e in await tasks.next()] == [1]
    assert [e["position"] for e in await one_session.next()] == [2]


async def test_events_sent_together_go_in_one_frame_and_one_event_in_its_own():
    one, two = event(1), event(2, "session", "a")

    assert json.loads(live.frame([one])) == {"type": "event", **fields(one)}
    assert json.loads(live.frame([one, two])) == {"type": "events", "events": [fields(one), fields(two)]}


async def test_a_subscription_that_falls_behind_says_so_once_then_goes_on():
    hub = live.Hub(asyncio.get_running_loop(), interval=1.0)
    slow = hub.subscribe([live.ALL_GROUP])

    hub.publish([event(n) for n in range(1, live.LAG_LIMIT + 3)])
    assert await slow.next() is None
    hub.publish([event(live.LAG_LIMIT + 3)])
    assert [e["position"] for e in await slow.next()] == [live.LAG_LIMIT + 3]


async def test_a_closed_subscription_gets_nothing_and_a_changed_one_follows_its_new_groups():
    hub = live.Hub(asyncio.get_running_loop(), interval=1.0)
    gone = hub.subscribe([live.ALL_GROUP])
    moving = hub.subscribe([live.topic_group("task")])
    gone.close()
    moving.follow([live.topic_group("session")])

    hub.publish([event(1, "task"), event(2, "session", "a")])

    assert gone not in hub.subscriptions
    assert [e["position"] for e in await moving.next()] == [2]

"""Live fan-out across processes: each ASGI process follows the event table by position and hands every new event
to the subscriptions of its own websockets.

Any process may append (web, worker, a manage.py command); none needs to know who is listening, and no Redis is
needed. After a commit in this process `wake` (a store `after_commit` hook) shortens the wait; events from other
processes are found by the poll every CHORUS_FOLLOW_INTERVAL seconds.

Inside a process the fan-out is a `Hub` per event loop, not Channels' layer: the layer copies every event into a
bounded queue per socket and drops what does not fit without a word (capacity 100; with 200 clients at 50 events/s
most events were lost). A subscription keeps the events for its socket that are not sent yet; one that falls
LAG_LIMIT events behind is told so (`next()` returns None) and its consumer sends a fresh snapshot instead: a client
that cannot keep up gets a resync, never a silent gap.

Each event is encoded once (its JSON without the frame's type, `item["json"]`) for every socket that sends it, and
a socket sends what arrived together as one frame (`frame`): at 50 events a second the follower finds a few events
per poll, and a frame per event per socket was most of the server's time (a websocket frame through Channels, daphne
and autobahn costs about 60 us of one core; 200 sockets x 50 events/s kept the event loop 90% busy).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable

from channels.db import database_sync_to_async
from django.conf import settings

from events_app import store

log = logging.getLogger(__name__)

ALL_GROUP = "live.all"
# Events a subscription may hold unsent before it is declared behind (and resynced).
LAG_LIMIT = 1000
BATCH = 1000
_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_lock = threading.Lock()
_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def topic_group(topic: str) -> str:
    """The group of a topic: `*`, a stream type (`session`) or one stream (`session:abc`)."""
    if topic in ("*", ""):
        return ALL_GROUP
    stream_type, _, stream_id = topic.partition(":")
    if not _SAFE.fullmatch(stream_type):
        raise ValueError(f"invalid topic {topic!r}")
    if not stream_id:
        return f"live.t.{stream_type}"
    if _SAFE.fullmatch(stream_id):
        return f"live.s.{stream_type}.{stream_id}"
    return f"live.s.{stream_type}.{hashlib.sha1(stream_id.encode()).hexdigest()[:20]}"  # noqa: S324  (a name, not a secret)


def groups_for(stream_type: str, stream_id: str) -> list[str]:
    return [ALL_GROUP, topic_group(stream_type), topic_group(f"{stream_type}:{stream_id}")]


def wake() -> None:
    """Tell this process's followers that an event was just committed here (a store `after_commit` hook)."""
    with _lock:
        for loop in [loop for loop in _hubs if loop.is_closed()]:
            del _hubs[loop]
        hubs = list(_hubs.values())
    for hub in hubs:
        hub.poke()


def notice(position: int, stream_type: str, stream_id: str, version: int, event_type: str) -> dict:
    """What followers learn of an event, with its JSON encoded once."""
    item = {
        "position": position,
        "stream_type": stream_type,
        "stream_id": stream_id,
        "version": version,
        "event_type": event_type,
    }
    item["json"] = json.dumps(item)
    return item


def fetch_after(position: int, limit: int = BATCH) -> list[dict]:
    return [notice(*row) for row in store.recorder().notifications(position, limit)]


def frame(items: list[dict]) -> str:
    """The live socket's frame for events sent together: `{"type": "event", ...}` for one,
    `{"type": "events", "events": [...]}` for several, oldest first."""
    if len(items) == 1:
        return '{"type": "event", ' + items[0]["json"][1:]
    return '{"type": "events", "events": [' + ", ".join(item["json"] for item in items) + "]}"


class Subscription:
    """One socket's interest (a set of groups) and the events for it that are not sent yet, oldest first."""

    def __init__(self, hub: Hub, groups: Iterable[str], limit: int = LAG_LIMIT):
        self.hub = hub
        self.groups = frozenset(groups)
        self.limit = limit
        self.behind = False
        self._items: list[dict] = []
        self._ready = asyncio.Event()

    def offer(self, item: dict) -> None:
        if self.behind:
            return
        if len(self._items) >= self.limit:
            self.resync()
            return
        self._items.append(item)
        self._ready.set()

    def resync(self) -> None:
        """Drop what is unsent and tell the socket it missed events (it sends a snapshot instead)."""
        self.behind = True
        self._items.clear()
        self._ready.set()

    async def next(self) -> list[dict] | None:
        """The events to send once there are any; None when the socket fell behind and must get a snapshot."""
        await self._ready.wait()
        self._ready.clear()
        if self.behind:
            self.behind = False
            return None
        items, self._items = self._items, []
        return items

    def follow(self, groups: Iterable[str]) -> None:
        """Follow these groups from now on."""
        self.groups = frozenset(groups)

    def close(self) -> None:
        self.hub.subscriptions.discard(self)


class Hub:
    """One event loop's subscriptions and its follower of the event table."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float):
        self.loop = loop
        self.interval = interval
        self.position = 0
        self.subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._started = asyncio.Event()
        self.task: asyncio.Task | None = None

    def subscribe(self, groups: Iterable[str]) -> Subscription:
        subscription = Subscription(self, groups)
        self.subscriptions.add(subscription)
        return subscription

    def publish(self, items: Iterable[dict]) -> None:
        """Hand each event to every subscription that follows one of its groups."""
        for item in items:
            groups = set(groups_for(item["stream_type"], item["stream_id"]))
            for subscription in list(self.subscriptions):
                if subscription.groups & groups:
                    subscription.offer(item)

    def poke(self) -> None:
        # The loop may close between the check in wake() and this call (a server shutting down): nothing to wake.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._wake.set)

    async def follow(self) -> None:
        """Follow the event table from its end, once; returns when the follower knows where the end is, so that
        a consumer's snapshot read afterwards is never older than what the follower will publish."""
        if self.task is None:
            # In a context of its own: the follower outlives the consumer that started it, and must not inherit
            # that consumer's context (its thread-sensitive executor, its scope).
            self.task = self.loop.create_task(self._run(), context=contextvars.Context())
        await self._started.wait()

    async def _run(self) -> None:
        while not self._started.is_set():
            try:
                self.position = await database_sync_to_async(store.last_position)()
            except Exception:
                log.exception("reading the end of the event table failed; retrying")
                await asyncio.sleep(1)
                continue
            self._started.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                batch = await database_sync_to_async(fetch_after)(self.position)
            except Exception:
                log.exception("following the event table failed; retrying")
                await asyncio.sleep(1)
                continue
            if batch:
                self.position = batch[-1]["position"]
                try:
                    self.publish(batch)
                except Exception:
                    log.exception("handing events %s-%s to the sockets failed", batch[0]["position"], self.position)
                    for subscription in list(self.subscriptions):
                        subscription.resync()
            if len(batch) == BATCH:
                self._wake.set()


def hub() -> Hub:
    """This event loop's hub (made on first use); `await hub().follow()` starts its follower."""
    loop = asyncio.get_running_loop()
    with _lock:
        found = _hubs.get(loop)
        if found is None:
            found = _hubs[loop] = Hub(loop, settings.CHORUS_FOLLOW_INTERVAL)
    return found


async def following() -> Hub:
    """This event loop's hub with its follower running: what every websocket consumer uses."""
    found = hub()
    await found.follow()
    return found

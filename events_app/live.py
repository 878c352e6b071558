"""Live fan-out across processes: each ASGI process follows the event table by position and sends what it
finds to its own Channels groups.

Any process may append (web, worker, a manage.py command); none needs to know who is listening, and no Redis is
needed. After a commit in this process `wake` (a store `after_commit` hook) shortens the wait; events from other
processes are found by the poll every CHORUS_FOLLOW_INTERVAL seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from events_app import store

log = logging.getLogger(__name__)

ALL_GROUP = "live.all"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
_lock = threading.Lock()
_followers: dict[asyncio.AbstractEventLoop, Follower] = {}


def topic_group(topic: str) -> str:
    """The Channels group of a topic: `*`, a stream type (`session`) or one stream (`session:abc`)."""
    if topic in ("*", ""):
        return ALL_GROUP
    stream_type, _, stream_id = topic.partition(":")
    if not _SAFE.match(stream_type):
        raise ValueError(f"invalid topic {topic!r}")
    if not stream_id:
        return f"live.t.{stream_type}"
    if _SAFE.match(stream_id):
        return f"live.s.{stream_type}.{stream_id}"
    return f"live.s.{stream_type}.{hashlib.sha1(stream_id.encode()).hexdigest()[:20]}"  # noqa: S324  (a name, not a secret)


def groups_for(stream_type: str, stream_id: str) -> list[str]:
    return [ALL_GROUP, topic_group(stream_type), topic_group(f"{stream_type}:{stream_id}")]


def wake() -> None:
    """Tell this process's followers that an event was just committed here (a store `after_commit` hook)."""
    with _lock:
        for loop in [loop for loop in _followers if loop.is_closed()]:
            del _followers[loop]
        followers = list(_followers.values())
    for follower in followers:
        follower.poke()


def fetch_after(position: int, limit: int = 1000) -> list[dict]:
    return [
        {"position": p, "stream_type": t, "stream_id": i, "version": v, "event_type": e}
        for p, t, i, v, e in store.recorder().notifications(position, limit)
    ]


class Follower:
    """Polls the event table in one event loop and sends each new event to its groups."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float):
        self.loop = loop
        self.interval = interval
        self.position = 0
        self._wake = asyncio.Event()
        self.task: asyncio.Task | None = None

    def poke(self) -> None:
        # The loop may close between the check in wake() and this call (a server shutting down): nothing to wake.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self.position = await database_sync_to_async(store.last_position)()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        layer = get_channel_layer()
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
            for item in batch:
                message = {"type": "live.event", **item}
                for group in groups_for(item["stream_type"], item["stream_id"]):
                    await layer.group_send(group, message)
                self.position = item["position"]
            if len(batch) == 1000:
                self._wake.set()


async def ensure_follower() -> Follower:
    """Start this event loop's follower once; every websocket consumer calls this on connect."""
    loop = asyncio.get_running_loop()
    with _lock:
        follower = _followers.get(loop)
        if follower is not None:
            return follower
        follower = _followers[loop] = Follower(loop, settings.CHORUS_FOLLOW_INTERVAL)
    await follower.start()
    return follower

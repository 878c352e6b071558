"""The live websocket: clients subscribe to topics and get each new event's position, type and stream.

Protocol (JSON both ways):
  -> {"subscribe": ["*" | "<stream_type>" | "<stream_type>:<stream_id>", ...], "after": <position or null>}
  <- {"type": "snapshot", "position": P, "resync": bool}   re-read what you show; events <= P are in it
  <- {"type": "event", "position": N, "stream_type": ..., "stream_id": ..., "event_type": ..., "version": ...}
  <- {"type": "events", "events": [{"position": N, "stream_type": ...}, ...]}   several that arrived together
With "after", the events between it and P on the subscribed topics are sent before the snapshot (at most
REPLAY_LIMIT; beyond that the snapshot says resync), so a reconnecting client sees no gap. A client that falls
behind the log (events_app.live.LAG_LIMIT unsent) gets a snapshot with "resync": true instead of the events it
could not take: a gap is always announced, never silent.

Who may connect is decided before the consumer runs: the site's ASGI middleware authenticates the connection and
sets `scope["chorus_authenticated"]`; without it set to True the socket is refused. While it is open,
`scope["chorus_still_authenticated"]()` is asked every RECHECK_SECONDS: a socket whose login ended (the token
was rotated) is closed with 4401, as its HTTP requests get 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from events_app import live, store

REPLAY_LIMIT = 1000
RECHECK_SECONDS = 2.0
MAX_TOPICS = 200
USAGE = 'send {"subscribe": [topics], "after": position}'


def _missed(after: int, upto: int, groups: set[str]) -> list[dict] | None:
    found: list[dict] = []
    position = after
    while position < upto:
        batch = [e for e in live.fetch_after(position, 1000) if e["position"] <= upto]
        if not batch:
            break
        position = batch[-1]["position"]
        for item in batch:
            if groups & set(live.groups_for(item["stream_type"], item["stream_id"])):
                found.append(item)
                if len(found) > REPLAY_LIMIT:
                    return None
        if len(batch) < 1000:
            break
    return found


async def close_when_logged_out(consumer, every: float) -> None:
    """Close the socket (4401) once the site says its login no longer holds."""
    still = consumer.scope.get("chorus_still_authenticated")
    if still is None:
        return
    while True:
        await asyncio.sleep(every)
        if not still():
            await consumer.close(code=4401)
            return


async def stop(tasks) -> None:
    """Cancel a consumer's tasks and wait for them to finish (a closing socket's background work)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class LiveConsumer(AsyncJsonWebsocketConsumer):
    def __init__(self, *args, recheck_seconds: float = RECHECK_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.recheck_seconds = recheck_seconds

    async def connect(self) -> None:
        self.subscription: live.Subscription | None = None
        self.sender: asyncio.Task | None = None
        self.watcher: asyncio.Task | None = None
        if self.scope.get("chorus_authenticated") is not True:
            await self.close(code=4401)
            return
        self.watcher = asyncio.ensure_future(close_when_logged_out(self, self.recheck_seconds))
        self.position = 0
        # What this socket sends, one at a time: a replay and its snapshot are never interleaved with live events.
        self.sending = asyncio.Lock()
        self.hub = await live.following()
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        try:
            content = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            await self.send_json({"type": "error", "message": f"not JSON: {USAGE}"})
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("subscribe"), list):
            await self.send_json({"type": "error", "message": USAGE})
            return
        topics = content["subscribe"][:MAX_TOPICS]
        try:
            groups = {live.topic_group(str(t)) for t in topics}
        except ValueError as exc:
            await self.send_json({"type": "error", "message": str(exc)})
            return
        async with self.sending:
            # Subscribed before the snapshot is read: an event committed in between is sent, never missed.
            if self.subscription is None:
                self.subscription = self.hub.subscribe(groups)
                self.sender = asyncio.ensure_future(self._send_events())
            else:
                self.subscription.follow(self.subscription.groups | groups)
            position = await database_sync_to_async(store.last_position)()
            after = content.get("after")
            resync = True
            if isinstance(after, int) and 0 <= after <= position:
                missed = await database_sync_to_async(_missed)(after, position, groups)
                if missed:
                    await self.send(text_data=live.frame(missed))
                resync = missed is None
            self.position = max(self.position, position)
            await self.send_json({"type": "snapshot", "position": position, "resync": resync})

    async def _send_events(self) -> None:
        while True:
            items = await self.subscription.next()
            async with self.sending:
                if items is None:
                    self.position = await database_sync_to_async(store.last_position)()
                    await self.send_json({"type": "snapshot", "position": self.position, "resync": True})
                    continue
                items = [item for item in items if item["position"] > self.position]
                if items:
                    self.position = items[-1]["position"]
                    await self.send(text_data=live.frame(items))

    async def disconnect(self, code: int) -> None:
        if self.subscription is not None:
            self.subscription.close()
        for task in (self.sender, self.watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

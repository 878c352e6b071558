"""The live websocket: clients subscribe to topics and get each new event's position, type and stream.

Protocol (JSON both ways):
  -> {"subscribe": ["*" | "<stream_type>" | "<stream_type>:<stream_id>", ...], "after": <position or null>}
  <- {"type": "snapshot", "position": P, "resync": bool}   re-read what you show; events <= P are in it
  <- {"type": "event", "position": N, "stream_type": ..., "stream_id": ..., "event_type": ..., "version": ...}
With "after", the events between it and P on the subscribed topics are sent before the snapshot (at most
REPLAY_LIMIT; beyond that the snapshot says resync), so a reconnecting client sees no gap.

Who may connect is decided before the consumer runs: the site's ASGI middleware authenticates the connection and
sets `scope["chorus_authenticated"]`; without it set to True the socket is refused.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from events_app import live, store

REPLAY_LIMIT = 1000
MAX_TOPICS = 200


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


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        if self.scope.get("chorus_authenticated") is not True:
            await self.close(code=4401)
            return
        self.groups_joined: set[str] = set()
        self.position = 0
        await live.ensure_follower()
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("subscribe"), list):
            await self.send_json({"type": "error", "message": 'send {"subscribe": [topics], "after": position}'})
            return
        topics = content["subscribe"][:MAX_TOPICS]
        try:
            groups = {live.topic_group(str(t)) for t in topics}
        except ValueError as exc:
            await self.send_json({"type": "error", "message": str(exc)})
            return
        for group in groups - self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined |= groups
        position = await database_sync_to_async(store.last_position)()
        after = content.get("after")
        resync = True
        if isinstance(after, int) and 0 <= after <= position:
            missed = await database_sync_to_async(_missed)(after, position, groups)
            if missed is not None:
                resync = False
                for item in missed:
                    await self.send_json({"type": "event", **item})
        self.position = max(self.position, position)
        await self.send_json({"type": "snapshot", "position": position, "resync": resync})

    async def live_event(self, message: dict) -> None:
        # One event reaches a consumer once per group it shares with it, and may precede the snapshot.
        if message["position"] <= self.position:
            return
        self.position = message["position"]
        await self.send_json({**message, "type": "event"})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

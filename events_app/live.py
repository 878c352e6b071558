"""Live fan-out across processes: each ASGI process follows the event table by position and hands every new event
to the subscriptions of its own websockets.

Any process may append (web, worker, a manage.py command); none needs to know who is listening, and no Redis is
needed. After a commit `wake` (a store `after_commit` hook) wakes this process's followers and rings the doorbell
of every other process's (`Doorbells`: a unix datagram socket each, in the data directory), so a follower reads the
table at once; the poll every CHORUS_FOLLOW_INTERVAL seconds stays as the fallback (a doorbell that cannot be made,
a ring that is lost). On PostgreSQL, whose writers may be on other hosts, the commit itself announces the log's new
end (NOTIFY chorus_events, events_app.recorders.postgres) and each follower LISTENs on a connection of its own
instead of having a doorbell; a notification only wakes it, and it catches up by position as after a ring, so one
lost while the database restarts costs nothing but the poll's delay.

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
import atexit
import contextlib
import contextvars
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from events_app import store

log = logging.getLogger(__name__)

ALL_GROUP = "live.all"
# Events a subscription may hold unsent before it is declared behind (and resynced).
LAG_LIMIT = 1000
BATCH = 1000
# A burst of commits rings many times: a follower reads the table at most once per this many seconds.
MIN_GAP = 0.005
# The wait before listening for PostgreSQL's commits again after the connection was lost.
LISTEN_RETRY = 1.0
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


class _Bell(asyncio.DatagramProtocol):
    def __init__(self, ring: Callable[[], None]):
        self.ring = ring

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.ring()


class Doorbells:
    """The followers of every process on one data directory, as unix datagram sockets in its `live/` folder (mode
    0700; what a datagram holds is ignored: at worst a stranger's ring costs a read of the table).

    `listen` makes one for a follower; `ring` sends every other one an empty datagram. A ring costs a commit
    almost nothing: the folder is listed again only every LISTING_AGE seconds, so a follower that has just started
    may wait for its own poll until then; a socket whose process has ended refuses the ring and is removed.
    """

    LISTING_AGE = 0.5

    def __init__(self) -> None:
        self._sender: socket.socket | None = None
        self._own: set[str] = set()
        # (the data directory, when its folder was listed, the other processes' sockets in it)
        self._listing: tuple[object, float, list[str]] = (None, 0.0, [])

    @staticmethod
    def folder() -> Path:
        return Path(settings.DATA_DIR) / "live"

    async def listen(self, loop: asyncio.AbstractEventLoop, ring: Callable[[], None]) -> asyncio.BaseTransport:
        folder = self.folder()
        folder.mkdir(mode=0o700, exist_ok=True)
        path = str(folder / f"{os.getpid()}-{len(self._own)}.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # left by an ended process that had this pid
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            raise
        self._own.add(path)
        atexit.register(self._remove, path)
        transport, _ = await loop.create_datagram_endpoint(lambda: _Bell(ring), sock=sock)
        return transport

    def ring(self) -> None:
        data_dir, listed, paths = self._listing
        now = time.monotonic()
        if now - listed > self.LISTING_AGE or data_dir is not settings.DATA_DIR:
            paths = [str(p) for p in self.folder().glob("*.sock") if str(p) not in self._own]
            self._listing = (settings.DATA_DIR, now, paths)
        if not paths:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for path in paths:
            try:
                self._sender.sendto(b"", path)
            except (ConnectionRefusedError, FileNotFoundError):
                # Gone from the listing at its next reading; the list itself is shared by every committing thread.
                self._remove(path)
            except OSError:
                pass  # its queue is full (it has rings to read already) or it is going away: the poll remains

    def _remove(self, path: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)


doorbells = Doorbells()


def wake() -> None:
    """Tell the followers of this process and of every other that an event was just committed (a store
    `after_commit` hook)."""
    with _lock:
        for loop in [loop for loop in _hubs if loop.is_closed()]:
            del _hubs[loop]
        hubs = list(_hubs.values())
    for hub in hubs:
        hub.poke()
    if connection.vendor != "postgresql":  # PostgreSQL's commit notifies every follower itself
        doorbells.ring()


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
        self.bell: asyncio.BaseTransport | None = None
        self.listener: asyncio.Task | None = None

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
        if connection.vendor == "postgresql":
            self.listener = self.loop.create_task(self._listen())
        else:
            try:
                self.bell = await doorbells.listen(self.loop, self._wake.set)
            except OSError as exc:
                # A path too long for a unix socket, a read-only data directory: other processes' events come
                # with the poll.
                log.warning("no doorbell for the live follower (%s); polling every %s s", exc, self.interval)
        while not self._started.is_set():
            try:
                self.position = await database_sync_to_async(store.last_position)()
            except Exception:
                log.exception("reading the end of the event table failed; retrying")
                await asyncio.sleep(1)
                continue
            self._started.set()
        last_read = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            gap = last_read + MIN_GAP - self.loop.time()
            if gap > 0:
                await asyncio.sleep(gap)
            self._wake.clear()
            last_read = self.loop.time()
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

    async def _listen(self) -> None:
        """LISTEN for the commits of every process on the PostgreSQL database, waking the follower at each (and
        catching up by position: whatever was notified while it was not listening is read)."""
        from events_app.recorders.postgres import CHANNEL

        await listen(CHANNEL, self._wake.set, f"commits (polling every {self.interval} s until it is back)")


async def listen(channel: str, wake: Callable[[], None], what: str) -> None:
    """LISTEN on `channel` of the PostgreSQL database for ever, calling `wake` at each notification and once each
    time it is listening (what was notified while it was not is the caller's to catch up); after a lost connection,
    connect again. `what` names what it listens for in the warning."""
    import psycopg

    while True:
        try:
            params = await database_sync_to_async(listen_params)()
            async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as listening:
                await listening.execute(f"LISTEN {channel}")
                wake()
                async for _ in listening.notifies():
                    wake()
        except (psycopg.Error, OSError) as exc:
            log.warning("listening for %s failed: %s", what, exc)
        await asyncio.sleep(LISTEN_RETRY)


def listen_in_thread(channel: str, wake: Callable[[], None], stopping: threading.Event, what: str) -> threading.Thread:
    """`listen` for a process without an event loop (the worker's threads): a daemon thread that calls `wake` at
    each notification on `channel`, until `stopping` is set."""
    import psycopg

    def run() -> None:
        while not stopping.is_set():
            try:
                with psycopg.connect(**listen_params(), autocommit=True) as listening:
                    listening.execute(f"LISTEN {channel}")
                    wake()
                    while not stopping.is_set():
                        for _ in listening.notifies(timeout=LISTEN_RETRY):
                            wake()
            except (psycopg.Error, OSError) as exc:
                log.warning("listening for %s failed: %s", what, exc)
                stopping.wait(LISTEN_RETRY)
            finally:
                connection.close()

    thread = threading.Thread(target=run, daemon=True, name=f"listen-{channel}")
    thread.start()
    return thread


def listen_params() -> dict:
    """What psycopg needs to open a connection of its own to the default database (Django's own parameters,
    without its cursor class)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return params


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

"""News of stored screens: the worker says it stored new ones (`announce`), and each web process's `ScreenFollower`
wakes the pages that show screens, so they read the table at once instead of at their next look.

A ring carries no data: a page woken reads the screens it shows (one query by key) and pushes those that changed.
The rings are doorbells like the event follower's (events_app.live.Doorbells), in a folder of their own
(`<data dir>/screens/`), so a screen never wakes an event follower nor an event a page's screens. On PostgreSQL,
whose workers may be on other hosts, storing screens notifies `chorus_screens` in its transaction and each follower
LISTENs for it instead of having a doorbell. A ring that is lost is covered by each page's own look every
`screen_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from pathlib import Path

from django.conf import settings
from django.db import connection

from events_app import live

log = logging.getLogger("chorus.screens")


CHANNEL = "chorus_screens"


class ScreenBells(live.Doorbells):
    """The screen followers of every process on one data directory."""

    @staticmethod
    def folder() -> Path:
        return Path(settings.DATA_DIR) / "screens"


bells = ScreenBells()
_lock = threading.Lock()
_followers: dict[asyncio.AbstractEventLoop, ScreenFollower] = {}


def announce() -> None:
    """Tell the screen followers of this process and of every other that screens were stored (the one wake-up for
    screens: called by sessions_app.mirror.record after its commit)."""
    with _lock:
        for loop in [loop for loop in _followers if loop.is_closed()]:
            del _followers[loop]
        followers = list(_followers.values())
    for follower in followers:
        follower.poke()
    bells.ring()


class ScreenFollower:
    """One event loop's listener for screen news. `news()` is an asyncio.Event that is set at the next ring: a page
    takes it before it reads its screens, so a ring that comes while it reads is not missed."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._news = asyncio.Event()
        self.bell: asyncio.BaseTransport | None = None
        self.listener: asyncio.Task | None = None
        self._started = False

    def news(self) -> asyncio.Event:
        return self._news

    def rung(self) -> None:
        news, self._news = self._news, asyncio.Event()
        news.set()

    def poke(self) -> None:
        # the loop may close between announce()'s check and this call (a server shutting down): nobody to wake
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.rung)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if connection.vendor == "postgresql":
            what = "stored screens (pages look at them on their own timers until it is back)"
            self.listener = self.loop.create_task(live.listen(CHANNEL, self.rung, what))
            return
        try:
            self.bell = await bells.listen(self.loop, self.rung)
        except OSError as exc:
            log.warning("no doorbell for screens (%s); pages look at their screens on their own timers", exc)


async def following() -> ScreenFollower:
    """This event loop's screen follower, listening: what the page websocket waits on."""
    loop = asyncio.get_running_loop()
    with _lock:
        found = _followers.get(loop)
        if found is None:
            found = _followers[loop] = ScreenFollower(loop)
    await found.start()
    return found


async def wait(news: asyncio.Event, timeout: float) -> None:
    """Until `news` (from ScreenFollower.news) is set, or for at most `timeout` seconds."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(news.wait(), timeout)

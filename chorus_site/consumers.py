"""The page websocket: one per open page, speaking HTML that the htmx ws extension swaps out of band.

Protocol (`/ws/page/?page=<name>&<that page's parameters>`, the page's own query, authenticated and
origin-checked like every websocket):
  <- on connect: a snapshot, every live partial of the page rendered from the read models now, so a page that
     was (re)connected late shows the present whatever it missed;
  <- after events: the partials those events changed (the event message names stream and position; the page
     re-reads the read model and renders the same template partial the page was built with);
  <- while a screen is shown: the screen's partials when the capture changed (screens are not events), soon after
     the worker stored it (sessions_app.screens rings the page).
Each message is one or more top-level elements with ids; htmx swaps each in place of the element with its id.
The client sends nothing; actions are ordinary POSTs with the CSRF token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from chorus_site.pages import registry
from chorus_site.pages.base import PageNotFound, flatten
from events_app import live
from events_app.consumers import RECHECK_SECONDS, close_when_logged_out
from sessions_app import screens

log = logging.getLogger("chorus.pages")


class PageConsumer(AsyncWebsocketConsumer):
    def __init__(
        self,
        *args,
        hub: Callable[[], Awaitable[live.Hub]] = live.following,
        recheck_seconds: float = RECHECK_SECONDS,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # How often the login is asked again: a page whose login ended (`token rotate`) is closed (4401).
        self.recheck_seconds = recheck_seconds
        # This process's hub of live events, its follower of the event table running; a test that publishes the
        # events itself passes a hub without a follower (`PageConsumer.as_asgi(hub=...)`).
        self.hub = hub

    async def connect(self) -> None:
        self.subscription: live.Subscription | None = None
        self.tasks: list[asyncio.Task] = []
        if self.scope.get("chorus_authenticated") is not True:
            await self.close(code=4401)
            return
        params = flatten(parse_qs(self.scope.get("query_string", b"").decode("latin-1")))
        try:
            self.page = registry.live_page(params)
        except PageNotFound:
            await self.close(code=4404)
            return
        self.position = 0
        hub = await self.hub()
        # Subscribed first, snapshot second: an event committed in between is re-rendered again, never missed.
        self.subscription = hub.subscribe(self.page.groups())
        await self.accept()
        try:
            snapshot = await database_sync_to_async(self.page.snapshot)()
        except PageNotFound:
            await self.close(code=4404)
            return
        await self.send(text_data=snapshot)
        self.tasks.append(asyncio.ensure_future(close_when_logged_out(self, self.recheck_seconds)))
        self.tasks.append(asyncio.ensure_future(self._updates()))
        if self.page.screen_interval:
            self.tasks.append(asyncio.ensure_future(self._screens(self.page.screen_interval)))

    async def _updates(self) -> None:
        """Render what the events changed, all that arrived since the last render at once; a page that fell behind
        the log gets a whole snapshot instead."""
        while True:
            items = await self.subscription.next()
            events = [e for e in items if e["position"] > self.position] if items is not None else None
            if events == []:
                continue
            if events:
                self.position = events[-1]["position"]
            render = self.page.snapshot if events is None else functools.partial(self.page.update, events)
            try:
                html = await database_sync_to_async(render)()
            except PageNotFound:
                await self.close(code=4404)
                return
            except Exception:
                log.exception("rendering a page update failed")
                continue
            if html:
                await self.send(text_data=html)

    async def _screens(self, interval: float) -> None:
        # The screens the worker stored (sessions_app.mirror): a database read, like the page's other readings, at
        # once when the worker says it stored new ones, and every `interval` seconds anyway (a lost ring, a worker
        # on another host).
        refresh = database_sync_to_async(self.page.refresh_screens)
        follower = await screens.following()
        while True:
            news = follower.news()  # taken before the read: a ring during it is not missed
            try:
                html = await refresh()
            except Exception:
                log.exception("refreshing a screen failed")
                html = ""
            if html:
                await self.send(text_data=html)
            await screens.wait(news, interval)

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.subscription is not None:
            self.subscription.close()

"""Browser terminals through the worker: the worker owns its host's tmux, so it runs the control clients of the
panes people look at (sessions_app.terminal) and relays their output and keystrokes over a websocket it opens to the
web server (`CHORUS_WEB_URL`, `/ws/terminal/worker/`, with the site's token in its Authorization header). The web
server needs no tmux, and needs to reach no worker: the worker reaches it, from any host. Each link names its host
(the `Chorus-Host` header): a terminal of a session opens through the link of the session's host.

The link carries many terminals at once, each by a number the web server gives it (`stream`):
  web -> worker  {"open": S, "pane": "%N"}          start relaying pane %N (one viewer of its stream on the worker)
                 {"input": S, "text": T, "ask": A}  type T into it; {"resize": S, "size": [W, H], "ask": A}
                 {"repaint": S}                     a new picture instead of what it sent since (a slow browser)
                 {"close": S}                       nobody looks at it any more through this web server
  worker -> web  {"opened": S}                      the first picture follows
                 {"size": S, "cols": W, "rows": H}  a new picture follows, for a terminal of that size
                 binary: S as 4 bytes (big-endian), then the pane's output
                 {"ended": S, "reason": R}          the stream ended (or could not start)
                 {"done": A} / {"refused": A, "message": M}   how an input or resize went
Output, sizes and the end of one stream keep their order on the one socket, so a viewer on the web server gets the
picture and every byte after it, as the worker's viewer does (sessions_app.terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import struct
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from websockets.asyncio.client import connect

from events_app.errors import ReadOnly
from sessions_app.terminal import LAG_BYTES, REPLY_SECONDS, TerminalGone, Terminals

log = logging.getLogger("chorus.terminal")

LINK_PATH = "/ws/terminal/worker/"
STREAM = struct.Struct(">I")
# How long a worker waits before it tries again to reach a web server that refused it or is not up.
RECONNECT_SECONDS = 1.0
HOST_HEADER = "Chorus-Host"
NO_WORKER = (
    "no worker of host {host} is connected to relay terminals (is `chorus worker` running there, with CHORUS_WEB_URL"
    " set?)"
)


class TerminalRefused(Exception):
    """The worker did not type or resize (read-only there, or its pane is gone)."""


# The web server's side.


class RelayedViewer:
    """One browser socket's view of a pane through the worker: what the terminal consumer reads with `next()`,
    like a sessions_app.terminal.Viewer."""

    def __init__(self, link: Link, stream: int):
        self.link = link
        self.stream = stream
        self.pending = bytearray()
        self.size: tuple[int, int] | None = None
        self.ended: str | None = None
        # waiting for a new picture: output until then is dropped
        self.resync = False
        self.opened = asyncio.get_running_loop().create_future()
        self._ready = asyncio.Event()

    def feed(self, data: bytes) -> None:
        if self.resync:
            return
        self.pending += data
        if len(self.pending) > LAG_BYTES:
            self.pending.clear()
            self.resync = True
            self.link.tell({"repaint": self.stream})
        self._ready.set()

    def picture(self, size: tuple[int, int]) -> None:
        self.pending.clear()
        self.size = size
        self.resync = False
        self._ready.set()

    def end(self, reason: str) -> None:
        self.ended = reason
        if not self.opened.done():
            self.opened.set_exception(TerminalGone(reason))
        self._ready.set()

    async def next(self) -> tuple[tuple[int, int] | None, bytes, str | None]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            size, self.size = self.size, None
            data = bytes(self.pending)
            self.pending.clear()
            if size or data or self.ended:
                return size, data, self.ended

    async def type(self, text: str) -> None:
        await self.link.ask({"input": self.stream, "text": text})

    async def resize(self, columns: int, rows: int) -> None:
        await self.link.ask({"resize": self.stream, "size": [columns, rows]})

    def leave(self) -> None:
        self.link.viewers.pop(self.stream, None)
        if self.ended is None:
            self.link.tell({"close": self.stream})


class Link:
    """A worker's socket on this web server: `send_text` and `send_bytes` write to it (given by its consumer)."""

    def __init__(self, send_text: Callable[[str], Awaitable[None]]):
        self.send_text = send_text
        self.viewers: dict[int, RelayedViewer] = {}
        self.answers: dict[int, asyncio.Future] = {}
        self._numbers = itertools.count(1)
        self._telling: set[asyncio.Task] = set()
        self.closed: str | None = None

    def tell(self, message: dict) -> None:
        """Send without waiting (from code that cannot): a link that is closing loses it, as it loses the rest."""

        async def send() -> None:
            with contextlib.suppress(Exception):
                await self.send_text(json.dumps(message))

        task = asyncio.ensure_future(send())
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    async def view(self, pane_id: str) -> RelayedViewer:
        viewer = RelayedViewer(self, next(self._numbers))
        self.viewers[viewer.stream] = viewer
        await self.send_text(json.dumps({"open": viewer.stream, "pane": pane_id}))
        try:
            await asyncio.wait_for(viewer.opened, REPLY_SECONDS)
        except TimeoutError:
            viewer.leave()
            raise TerminalGone("the worker did not open the terminal in time") from None
        return viewer

    async def ask(self, message: dict) -> None:
        if self.closed is not None:
            raise TerminalGone(self.closed)
        number = next(self._numbers)
        answer = self.answers[number] = asyncio.get_running_loop().create_future()
        try:
            await self.send_text(json.dumps({**message, "ask": number}))
            refused = await asyncio.wait_for(answer, REPLY_SECONDS)
        except TimeoutError:
            raise TerminalGone("the worker did not answer") from None
        finally:
            self.answers.pop(number, None)
        if refused is not None:
            raise TerminalRefused(refused)

    def received_text(self, text: str) -> None:
        message = json.loads(text)
        viewer = self.viewers.get(message.get("opened") or message.get("size") or message.get("ended") or 0)
        if "opened" in message and viewer is not None and not viewer.opened.done():
            viewer.opened.set_result(None)
        elif "size" in message and viewer is not None:
            viewer.picture((message["cols"], message["rows"]))
        elif "ended" in message and viewer is not None:
            self.viewers.pop(viewer.stream, None)
            viewer.end(message.get("reason") or "the terminal ended")
        elif "done" in message or "refused" in message:
            answer = self.answers.get(message.get("done") or message.get("refused"))
            if answer is not None and not answer.done():
                answer.set_result(message.get("message", "refused") if "refused" in message else None)

    def received_bytes(self, data: bytes) -> None:
        if len(data) < STREAM.size:
            return
        viewer = self.viewers.get(STREAM.unpack_from(data)[0])
        if viewer is not None:
            viewer.feed(data[STREAM.size :])

    def close(self, reason: str) -> None:
        self.closed = reason
        for viewer in list(self.viewers.values()):
            viewer.end(reason)
        self.viewers.clear()
        for answer in self.answers.values():
            if not answer.done():
                answer.set_exception(TerminalGone(reason))


class Links:
    """The worker links of one event loop, by host: the newest link of a host relays its new terminals."""

    def __init__(self) -> None:
        self.current: dict[str, Link] = {}

    def attach(self, host: str, link: Link) -> None:
        previous = self.current.get(host)
        self.current[host] = link
        if previous is not None:
            previous.close("the worker connected again")

    def detach(self, host: str, link: Link) -> None:
        link.close("the worker went away")
        if self.current.get(host) is link:
            del self.current[host]

    async def view(self, host: str, pane_id: str) -> RelayedViewer:
        """A viewer of the pane of that host, through its worker. Raises TerminalGone."""
        link = self.current.get(host)
        if link is None:
            raise TerminalGone(NO_WORKER.format(host=host))
        return await link.view(pane_id)


_links: dict[asyncio.AbstractEventLoop, Links] = {}


def links() -> Links:
    loop = asyncio.get_running_loop()
    found = _links.get(loop)
    if found is None:
        found = _links[loop] = Links()
    return found


# The worker's side.


class Relay:
    """The worker's end of one link: opens viewers of its own terminals for the web server and pumps what they
    get back. `send_text` and `send_bytes` write to the link."""

    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        terminals: Terminals,
    ):
        self.send_text = send_text
        self.send_bytes = send_bytes
        self.terminals = terminals
        self.viewers: dict[int, object] = {}
        self.tasks: dict[int, asyncio.Task] = {}

    async def received(self, text: str) -> None:
        try:
            await self._handle(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("the web server sent what is not the relay's protocol: %.200r", text)

    async def _handle(self, message: dict) -> None:
        if "open" in message:
            stream = message["open"]
            self.tasks[stream] = asyncio.ensure_future(self._relay(stream, str(message.get("pane", ""))))
        elif "input" in message or "resize" in message:
            await self._act(message)
        elif "repaint" in message:
            viewer = self.viewers.get(message["repaint"])
            if viewer is not None:
                viewer.repaint()
        elif "close" in message:
            self._close(message["close"])

    async def _act(self, message: dict) -> None:
        viewer = self.viewers.get(message.get("input") or message.get("resize"))
        answer: dict = {"done": message.get("ask")}
        try:
            if viewer is None:
                raise TerminalGone("that terminal is not open")
            if "input" in message:
                await viewer.type(str(message["text"]))
            else:
                columns, rows = message["size"]
                await viewer.resize(int(columns), int(rows))
        except (ReadOnly, TerminalGone) as exc:
            answer = {"refused": message.get("ask"), "message": str(exc)}
        await self.send_text(json.dumps(answer))

    async def _relay(self, stream: int, pane_id: str) -> None:
        try:
            viewer = await self.terminals.view(pane_id)
        except (TerminalGone, ValueError) as exc:
            await self.send_text(json.dumps({"ended": stream, "reason": str(exc)}))
            return
        self.viewers[stream] = viewer
        prefix = STREAM.pack(stream)
        try:
            await self.send_text(json.dumps({"opened": stream}))
            while True:
                size, data, ended = await viewer.next()
                if size:
                    await self.send_text(json.dumps({"size": stream, "cols": size[0], "rows": size[1]}))
                if data:
                    await self.send_bytes(prefix + data)
                if ended:
                    await self.send_text(json.dumps({"ended": stream, "reason": ended}))
                    return
        finally:
            self.viewers.pop(stream, None)
            viewer.leave()

    def _close(self, stream: int) -> None:
        task = self.tasks.pop(stream, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        for stream in list(self.tasks):
            task = self.tasks.pop(stream)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def web_token() -> str:
    """The site's token as it is now (a rotation takes effect at the next connection)."""
    path = settings.CHORUS_TOKEN_FILE
    return Path(path).read_text().strip() if path is not None else settings.CHORUS_TOKEN


def link_url(web_url: str) -> str:
    parts = urlsplit(web_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{LINK_PATH}"


def web_urls(setting: str) -> list[str]:
    """The web servers named by CHORUS_WEB_URL: one address, or several separated by commas."""
    return [url.strip() for url in setting.split(",") if url.strip()]


class TerminalRelay:
    """The worker job that keeps a link open to each web server (in a thread with an event loop of its own) and
    relays the terminals they ask for. A web server that is not up yet, or goes away, is tried again every
    RECONNECT_SECONDS; what it cannot reach is logged once."""

    interval = 3600.0

    def __init__(self, web_url: str | None = None):
        self.web_urls = web_urls(web_url or settings.CHORUS_WEB_URL)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.main: asyncio.Future | None = None

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name="terminal-relay")
        self.thread.start()

    def tick(self) -> None:
        """Nothing to do on the worker's clock: the relay runs in its own thread."""

    def stop(self) -> None:
        if self.loop is None or self.thread is None:
            return
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(lambda: self.main is not None and self.main.cancel())
        self.thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.main = asyncio.gather(*(self._connect_forever(url) for url in self.web_urls))
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.main)
        self.loop.close()

    async def _connect_forever(self, web_url: str) -> None:
        trouble = None
        origin = f"{urlsplit(web_url).scheme}://{urlsplit(web_url).netloc}"
        while True:
            try:
                async with connect(
                    link_url(web_url),
                    origin=origin,
                    additional_headers={
                        "Authorization": f"Bearer {web_token()}",
                        HOST_HEADER: settings.CHORUS_HOST_NAME,
                    },
                    max_size=None,
                    open_timeout=5,
                ) as socket:
                    log.info("relaying terminals for %s", web_url)
                    trouble = None
                    await self._serve(socket)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if str(exc) != trouble:
                    # a server that is not up (yet: `start` runs both at once) is news; one that refuses us is trouble
                    level = logging.INFO if isinstance(exc, OSError) else logging.WARNING
                    log.log(level, "cannot relay terminals for %s: %s; trying again", web_url, exc)
                    trouble = str(exc)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _serve(self, socket) -> None:
        relay = Relay(socket.send, socket.send, Terminals())
        try:
            async for message in socket:
                if isinstance(message, str):
                    await relay.received(message)
        finally:
            await relay.stop()

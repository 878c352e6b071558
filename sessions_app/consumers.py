"""The terminal websockets: a session's pane, live, for xterm.js on the session page, and the worker's link that
relays it (sessions_app.relay: the worker runs the pane's control client, sessions_app.terminal; the web server
calls no tmux).

Protocol (`/ws/terminal/?name=<session>`, authenticated and origin-checked like every websocket):
  <- {"type": "ready", "writable": bool}       then the pane's picture:
  <- {"type": "size", "cols": W, "rows": H}    the pane's size; the bytes after it are for a terminal of that size
  <- binary frames: what the pane shows, as terminal output (the first one paints the screen as it is now)
  <- {"type": "ended", "reason": ..., "again": bool}   the pane or tmux went away, or the session moved to another
                                               pane (again: connecting again shows it); the socket closes after it
  <- {"type": "error", "message": ...}         a refused or malformed message; the socket stays open
  -> {"input": "<text>"}                       keystrokes, typed into the pane byte for byte (writable only)
  -> {"resize": [cols, rows]}                  make the pane this size (writable only)
Who may type is the site's decision (`scope["chorus_may_change"]`: false while Chorus runs read-only); a viewer
without it sees the same stream and its input is refused.

The worker's link (`/ws/terminal/worker/`, authenticated like every websocket: the worker sends the site's token)
speaks sessions_app.relay's protocol and names its host (the Chorus-Host header, refused with 4400 without one); the
newest link of a host relays every terminal of that host's sessions opened after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from events_app.consumers import RECHECK_SECONDS, close_when_logged_out, stop
from events_app.errors import ReadOnly
from sessions_app import selectors
from sessions_app.errors import UnknownSession
from sessions_app.relay import HOST_HEADER, Link, TerminalRefused, links
from sessions_app.terminal import TerminalGone

log = logging.getLogger("chorus.terminal")
MAX_INPUT_CHARS = 65536
COLUMNS = (20, 500)
ROWS = (5, 200)
USAGE = 'send {"input": "text"} or {"resize": [columns, rows]}'
# how long an ended stream waits for its session to be running again before the page is told it ended for good
RESTART_SECONDS = 3.0


def _incarnation(name: str) -> tuple[str, int | None, str] | None:
    """The pane, process and host of a live session (a restart changes the process, and the pane id too unless
    tmux's server was started anew), or None when the session is not running."""
    session = selectors.session(name)
    return (session.pane_id, session.pid, session.host) if session.is_live else None


def _still_running(name: str) -> bool:
    try:
        return _incarnation(name) is not None
    except UnknownSession:
        return False


def _size(value) -> tuple[int, int] | None:
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return None
    columns, rows = value
    if COLUMNS[0] <= columns <= COLUMNS[1] and ROWS[0] <= rows <= ROWS[1]:
        return columns, rows
    return None


class TerminalConsumer(AsyncWebsocketConsumer):
    def __init__(self, *args, recheck_seconds: float = RECHECK_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.recheck_seconds = recheck_seconds

    async def connect(self) -> None:
        self.viewer = None
        self.tasks: list[asyncio.Task] = []
        if self.scope.get("chorus_authenticated") is not True:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        name = (query.get("name") or [""])[0]
        try:
            incarnation = await database_sync_to_async(_incarnation)(name)
        except UnknownSession:
            await self.close(code=4404)
            return
        self.name = name
        self.writable = self.scope.get("chorus_may_change") is True
        await self.accept()
        if incarnation is None:
            await self._end("the session is not running")
            return
        try:
            self.viewer = await links().view(incarnation[2], incarnation[0])
        except TerminalGone as exc:
            # the pane may be on its way (a restart): the page tries again while the session is live
            await self._end(str(exc), again=True)
            return
        await self.send(text_data=json.dumps({"type": "ready", "writable": self.writable}))
        self.tasks.append(asyncio.ensure_future(close_when_logged_out(self, self.recheck_seconds)))
        self.tasks.append(asyncio.ensure_future(self._stream()))
        self.tasks.append(asyncio.ensure_future(self._follow(incarnation)))

    async def _stream(self) -> None:
        while True:
            size, data, ended = await self.viewer.next()
            if size:
                await self.send(text_data=json.dumps({"type": "size", "cols": size[0], "rows": size[1]}))
            if data:
                await self.send(bytes_data=data)
            if ended:
                # tmux ended the stream: a restart's new pane may follow while the session is live
                await self._end(ended, again=await self._running_soon())
                return

    async def _running_soon(self) -> bool:
        """Whether the session runs, or runs again within RESTART_SECONDS: a restart kills the pane (which ends the
        stream) a moment before it records the new one."""
        deadline = asyncio.get_running_loop().time() + RESTART_SECONDS
        while not await database_sync_to_async(_still_running)(self.name):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def _follow(self, incarnation: tuple[str, int | None, str]) -> None:
        """A restart gives the session a new pane or process (and a restarted Chorus may find it elsewhere): the
        socket then ends saying so, and the page connects again, to the new pane."""
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                now = await database_sync_to_async(_incarnation)(self.name)
            except UnknownSession:
                now = None
            if now != incarnation:
                reason = "the session moved to another pane" if now else "the session is not running"
                await self._end(reason, again=now is not None)
                return

    async def _end(self, reason: str, again: bool = False) -> None:
        """Say why the stream ended (and whether connecting again shows the session) and close."""
        await self.send(text_data=json.dumps({"type": "ended", "reason": reason, "again": again}))
        await self.close()

    async def _error(self, message: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "message": message}))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            content = json.loads(text_data if text_data is not None else bytes_data)
        except (TypeError, ValueError):
            content = None
        if not isinstance(content, dict) or self.viewer is None:
            await self._error(f"not understood: {USAGE}")
            return
        if not self.writable:
            await self._error("this terminal is read-only here: nothing typed reaches the pane")
            return
        try:
            if isinstance(content.get("input"), str) and 0 < len(content["input"]) <= MAX_INPUT_CHARS:
                await self.viewer.type(content["input"])
            elif (size := _size(content.get("resize"))) is not None:
                await self.viewer.resize(*size)
            else:
                await self._error(
                    f"not understood: {USAGE} (input up to {MAX_INPUT_CHARS} characters, "
                    f"{COLUMNS[0]}-{COLUMNS[1]} columns, {ROWS[0]}-{ROWS[1]} rows)"
                )
        except (ReadOnly, TerminalRefused) as exc:
            await self._error(str(exc))
        except TerminalGone as exc:
            await self._error(f"not sent: {exc}")

    async def disconnect(self, code: int) -> None:
        await stop(self.tasks)
        if self.viewer is not None:
            self.viewer.leave()


class TerminalLinkConsumer(AsyncWebsocketConsumer):
    """A worker's link: relays the terminals this web server's viewers open (sessions_app.relay). It must bring the
    token in its Authorization header: a browser cannot set one on a websocket, so no page, logged in or not, can
    pose as the worker and hear what people type."""

    def __init__(self, *args, recheck_seconds: float = RECHECK_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.recheck_seconds = recheck_seconds

    async def connect(self) -> None:
        self.link: Link | None = None
        self.tasks: list[asyncio.Task] = []
        if self.scope.get("chorus_authenticated") is not True:
            await self.close(code=4401)
            return
        headers = dict(self.scope.get("headers") or [])
        if b"authorization" not in headers:
            await self.close(code=4403)
            return
        self.host = headers.get(HOST_HEADER.lower().encode(), b"").decode("latin-1").strip()
        if not self.host:
            await self.close(code=4400)
            return
        await self.accept()
        self.link = Link(self._send_text)
        links().attach(self.host, self.link)
        self.tasks.append(asyncio.ensure_future(close_when_logged_out(self, self.recheck_seconds)))

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.link is None:
            return
        if bytes_data is not None:
            self.link.received_bytes(bytes_data)
        elif text_data is not None:
            try:
                self.link.received_text(text_data)
            except (ValueError, TypeError, AttributeError):
                log.warning("a worker link sent what is not the relay's protocol: %.200r", text_data)

    async def disconnect(self, code: int) -> None:
        await stop(self.tasks)
        if self.link is not None:
            links().detach(self.host, self.link)

"""Live terminals for the browser: one tmux control-mode client per pane that someone is looking at, in the worker
that owns the pane's host (sessions_app.relay carries it to the web server), shared by every viewer of that pane
(never a capture loop per viewer).

A `PaneStream` runs `tmux -C attach-session -r` (a read-only client: it never sizes the window, and no key of its
own reaches the pane) and reads the pane's output as it is written. A viewer that joins gets a picture of the pane
now (its size, its screen, its cursor), taken through the same client, so everything the pane writes after that
picture reaches the viewer and nothing before it does twice: tmux writes a command's reply and the panes' output
to a control client in the order they happened. Keystrokes go back as `send-keys -H` (each byte in hexadecimal,
sessions_app.control); the tmux adapter's read-only rule (CHORUS_READ_ONLY: only commands that look) holds for
them too. A viewer that cannot keep up (LAG_BYTES unsent) gets a new picture instead of the bytes it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sessions_app import control
from sessions_app import tmux as tmux_adapter

log = logging.getLogger("chorus.terminal")

# Unsent output a viewer may hold before it is given a new picture instead (a slow socket never grows a backlog).
LAG_BYTES = 1 << 20
# How long a command through the control client may take before the stream gives up on the client.
REPLY_SECONDS = 10.0


class TerminalGone(Exception):
    """The pane cannot be streamed: it is gone, or tmux is."""


class Viewer:
    """One socket's view of a pane: what to send it next, taken by its sender with `next()`."""

    def __init__(self, stream: PaneStream):
        self.stream = stream
        self.pending = bytearray()
        self.resync = False
        self.ended: str | None = None
        self.size: tuple[int, int] | None = None
        self._ready = asyncio.Event()

    def feed(self, data: bytes) -> None:
        if self.resync:
            return
        self.pending += data
        if len(self.pending) > LAG_BYTES:
            self.repaint()
        self._ready.set()

    def repaint(self) -> None:
        """Ask for a new picture instead of the bytes since the last one."""
        self.pending.clear()
        self.resync = True
        self._ready.set()

    def picture(self, facts: control.PaneFacts, screen: bytes) -> None:
        """A new start: the pane's size and screen now replace whatever was pending."""
        self.size = (facts.width, facts.height)
        self.pending[:] = screen
        self.resync = False
        self._ready.set()

    def end(self, reason: str) -> None:
        self.ended = reason
        self._ready.set()

    async def next(self) -> tuple[tuple[int, int] | None, bytes, str | None]:
        """(a new size or None, the bytes to write, why the stream ended or None), once there is something."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self.resync and self.ended is None:
                with contextlib.suppress(TerminalGone):
                    await self.stream.repaint(self)
                continue
            size, self.size = self.size, None
            data = bytes(self.pending)
            self.pending.clear()
            if size or data or self.ended:
                return size, data, self.ended

    async def type(self, text: str) -> None:
        await self.stream.type(text)

    async def resize(self, columns: int, rows: int) -> None:
        await self.stream.resize(columns, rows)

    def leave(self) -> None:
        self.stream.leave(self)


class PaneStream:
    """The one control-mode client of a pane in this process, and the viewers it feeds."""

    def __init__(self, tmux: tmux_adapter.Tmux, pane_id: str, on_close: Callable[[PaneStream], None]):
        self.tmux = tmux
        self.pane_id = tmux_adapter.check_pane_id(pane_id)
        self.on_close = on_close
        self.viewers: set[Viewer] = set()
        # Viewers on their way in (Terminals.view): the stream stays up for them while the last viewer leaves.
        self.joining = 0
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task | None = None
        self.replies: asyncio.Queue[tuple[bool, list[bytes]]] = asyncio.Queue()
        # One command at a time: replies come back in order, and `_then` belongs to the one in flight.
        self.commands = asyncio.Lock()
        self._then: Callable[[list[bytes]], None] | None = None
        self.ended: str | None = None

    async def start(self) -> None:
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.tmux.control_argv(self.pane_id),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                limit=LAG_BYTES,
            )
        except FileNotFoundError:
            raise TerminalGone(f"tmux is not installed ({tmux_adapter.INSTALL_HINT})") from None
        self.reader = asyncio.ensure_future(self._read())

    async def join(self) -> Viewer:
        viewer = Viewer(self)
        await self.repaint(viewer)
        return viewer

    async def repaint(self, viewer: Viewer) -> None:
        """Give the viewer the pane as it is now; from the moment the picture is taken, it gets every byte after."""
        async with self.commands:
            facts = control.parse_facts(await self._ask(control.facts_command(self.pane_id)))
            await self._ask(control.capture_command(self.pane_id), then=lambda rows: self._attach(viewer, facts, rows))

    def _attach(self, viewer: Viewer, facts: control.PaneFacts, rows: list[bytes]) -> None:
        # Called by the reader as the capture's reply ends: output read after this line is newer than the picture.
        viewer.picture(facts, control.snapshot(facts, rows))
        self.viewers.add(viewer)

    async def type(self, text: str) -> None:
        async with self.commands:
            for command in control.input_commands(self.pane_id, text):
                await self._ask(command)

    async def resize(self, columns: int, rows: int) -> None:
        async with self.commands:
            await self._ask(control.resize_command(self.pane_id, columns, rows))

    async def _ask(self, command: str, then: Callable[[list[bytes]], None] | None = None) -> list[bytes]:
        """Run one command through the control client; its reply's lines. `then(lines)` runs in the reader when the
        reply has been read, before any line after it."""
        self.tmux.refuse_changes(command.split(" ", 1)[:1])
        if self.ended is not None or self.process is None or self.process.stdin is None:
            raise TerminalGone(self.ended or "the terminal was not started")
        self._then = then
        try:
            self.process.stdin.write(command.encode() + b"\n")
            await self.process.stdin.drain()
            failed, lines = await asyncio.wait_for(self.replies.get(), REPLY_SECONDS)
        except (OSError, TimeoutError) as exc:
            self._end(f"tmux did not answer ({exc or 'timeout'})")
            raise TerminalGone(self.ended) from None
        if failed:
            raise TerminalGone(b" ".join(lines).decode("utf-8", "replace") or "tmux refused")
        return lines

    async def _read(self) -> None:
        reply: list[bytes] | None = None
        ours = False
        reason = "the terminal ended"
        try:
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    break
                line = line.rstrip(b"\n")
                item = control.parse_line(line)
                if reply is not None:
                    if isinstance(item, control.End):
                        if ours:
                            then, self._then = self._then, None
                            if then is not None and not item.error:
                                then(reply)
                            self.replies.put_nowait((item.error, reply))
                        reply = None
                    else:
                        reply.append(line)
                elif isinstance(item, control.Begin):
                    reply, ours = [], item.ours
                elif isinstance(item, control.Output) and item.pane_id == self.pane_id:
                    for viewer in self.viewers:
                        viewer.feed(item.data)
                elif isinstance(item, control.LayoutChanged):
                    # tmux redraws a resized pane itself, without output: everyone gets a new picture.
                    for viewer in self.viewers:
                        viewer.repaint()
                elif isinstance(item, control.Exited):
                    reason = f"the terminal ended ({item.reason})" if item.reason else reason
                    break
        except (ValueError, OSError) as exc:
            reason = f"reading tmux failed: {exc}"
        self._end(reason)

    def _end(self, reason: str) -> None:
        if self.ended is not None:
            return
        self.ended = reason
        self.replies.put_nowait((True, [reason.encode()]))
        for viewer in self.viewers:
            viewer.end(reason)
        self.on_close(self)
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    def leave(self, viewer: Viewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and not self.joining:
            self._end("nobody is looking")


class Terminals:
    """The pane streams of one event loop (the worker's relay), by pane id."""

    def __init__(self, tmux: Callable[[], tmux_adapter.Tmux] = tmux_adapter.configured):
        self.tmux = tmux
        self.streams: dict[str, PaneStream] = {}
        self.starting = asyncio.Lock()

    async def view(self, pane_id: str) -> Viewer:
        """A new viewer of the pane, streaming from its first picture on. Raises TerminalGone."""
        async with self.starting:
            stream = self.streams.get(pane_id)
            if stream is None or stream.ended is not None:
                stream = self.streams[pane_id] = PaneStream(self.tmux(), pane_id, self._closed)
                await stream.start()
            stream.joining += 1
        try:
            return await stream.join()
        except TerminalGone:
            if not stream.viewers and stream.joining == 1:
                stream._end("nobody is looking")
            raise
        finally:
            stream.joining -= 1

    def _closed(self, stream: PaneStream) -> None:
        if self.streams.get(stream.pane_id) is stream:
            del self.streams[stream.pane_id]

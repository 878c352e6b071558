"""The part every stand-in model server shares: a threaded HTTP server on 127.0.0.1, the script chosen by words in
the latest user message, server-sent events, and a log of every request so a run can count model requests per prompt.

The standard library's ThreadingHTTPServer is enough: a CLI opens a handful of connections, each stream is a
thread that writes and sleeps, and the kit runs it inside its own process without an event loop or a dependency.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The words that choose a script, as they appear in a prompt (`kit:slow`); the first found wins, in this order.
SCRIPTS = ("limit", "question", "mcp", "edit", "permission", "slow")
SHORT_ANSWER = "Done: a short answer from the stand-in."
SHORT_SECONDS = 1.0
SLOW_WORDS = 24
SLOW_SECONDS_PER_WORD = 0.25
# After a tool ran, the turn goes on for a moment, so the busy that follows an answered dialog is seen.
AFTER_TOOL_SECONDS = 1.5
PERMISSION_FILE = "kit-permission.txt"
# The file the `edit` script changes with the CLI's own file tool, claimed by another task when the kit asks.
CLAIMED_FILE = "kit-claimed.txt"
# The `limit` script's plan limit resets at the first whole minute at least this far ahead: the CLIs print a reset
# to the minute (or coarser), so a whole minute is what the screen can say exactly.
LIMIT_RESET_AFTER = 30


def limit_reset(now: float) -> int:
    """When the stand-in's usage limit resets, as a Unix time: a whole minute, LIMIT_RESET_AFTER or more ahead."""
    return (int(now + LIMIT_RESET_AFTER) // 60 + 1) * 60


def script_for(text: str) -> str:
    """The script a prompt asks for: one of SCRIPTS when it holds `kit:<word>`, else "short"."""
    for word in SCRIPTS:
        if f"kit:{word}" in text:
            return word
    return "short"


@dataclass
class ModelRequest:
    """One request as the stand-in saw it. `prompt` is the latest user text; `fresh` says the request starts a
    turn (the conversation ends with that text, not with a tool's result)."""

    at: float
    path: str
    prompt: str
    fresh: bool
    script: str
    streamed: bool
    finished_at: float | None = None
    first_byte_at: float | None = None
    tool_at: float | None = None
    # the names of the tools the CLI offered, for a person reading a run
    tools: list[str] = field(default_factory=list)
    # what the CLI said a tool did, in a request that carries its result
    tool_result: str = ""


@dataclass
class Turn:
    """What the vendor module decided to answer: text chunks with a pause between them, then maybe a tool call
    (`tool`: the script's word), or an error (`status` and `error`)."""

    chunks: list[str] = field(default_factory=list)
    pause: float = 0.0
    tool: str | None = None
    status: int = 200
    error: str = ""
    # for an error of the `limit` script: when the plan's limit resets (Unix time)
    resets_at: int = 0


def turn_for(script: str, fresh: bool) -> Turn:
    """The turn a script plays. A request carrying a tool's result ends the turn with a short text."""
    if not fresh:
        return Turn(chunks=["The tool ran. ", "Finished."], pause=AFTER_TOOL_SECONDS)
    if script == "limit":
        return Turn(chunks=["The limit has reset. ", "Carrying on."], pause=SHORT_SECONDS)
    if script == "slow":
        return Turn(chunks=[f"word{i} " for i in range(SLOW_WORDS)], pause=SLOW_SECONDS_PER_WORD)
    if script in ("permission", "question", "mcp", "edit"):
        return Turn(chunks=["Let me do that. "], tool=script)
    # Short, but long enough (1 s) that a poll of a few hundred ms sees the agent busy.
    return Turn(chunks=["Done: ", SHORT_ANSWER.removeprefix("Done: ")], pause=SHORT_SECONDS)


class Vendor:
    """One vendor's wire format. A subclass says which requests are model requests, reads the prompt out of one,
    and writes a turn as that vendor's stream."""

    name = ""

    def is_model_request(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def prompt(self, body: dict) -> tuple[str, bool]:
        """The latest user text and whether the request starts a turn."""
        raise NotImplementedError

    def tool_names(self, body: dict) -> list[str]:
        """The names of the tools a request offers."""
        return [tool.get("name", "") for tool in body.get("tools") or [] if isinstance(tool, dict)]

    def tool_result(self, body: dict) -> str:
        """The text of the tool result a request carries ("" when the vendor module does not read it)."""
        return ""

    def side(self, body: dict) -> bool:
        """A request the CLI makes beside the conversation (a title for the thread): it offers no tools."""
        return not body.get("tools")

    def other(self, method: str, path: str, body: dict) -> tuple[int, Any]:
        """The answer to a request that is not a model request (model lists, token counts)."""
        return 404, {"error": {"message": f"the stand-in does not serve {method} {path}"}}

    def stream(self, handler: Handler, body: dict, turn: Turn, request: ModelRequest) -> None:
        raise NotImplementedError

    def error_body(self, turn: Turn) -> Any:
        return {"error": {"message": turn.error, "code": turn.status}}

    # (input, output) tokens each streamed answer reports: what Chorus's usage reader must record per turn
    usage = (0, 0)

    def error_headers(self, turn: Turn) -> dict[str, str]:
        """The headers of an error answer: the vendor's own signals of a plan's limit and its reset."""
        return {}


class StandIn:
    """A stand-in model server for one vendor, in a thread of the calling process. Use as a context manager."""

    def __init__(self, vendor: Vendor, port: int = 0):
        self.vendor = vendor
        self.requests: list[ModelRequest] = []
        self.others: list[str] = []
        # the latest request body, for a person working on a vendor module
        self.last_body: dict = {}
        # the reset the latest usage-limit answer announced (Unix time), 0 before one
        self.limit_resets_at = 0
        # each model request's body as text, beside `requests`: what the conversation held (a resumed one too)
        self.bodies: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._server.daemon_threads = True
        # A short poll interval: closing the stand-in waits for the serving loop's next look.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name=f"standin-{vendor.name}", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def limit_turn(self, script: str, fresh: bool) -> Turn | None:
        """A plan's limit holds from its first refusal to its reset: a request of the conversation in that time
        (the `limit` script, or one a CLI makes on its own, as retry) is refused with the same reset; after it, the
        conversation goes on (None: the script's turn)."""
        with self._lock:
            holds = time.time() < self.limit_resets_at
            if script == "limit" and fresh and not self.limit_resets_at:
                self.limit_resets_at = limit_reset(time.time())
                holds = True
        if not holds:
            return None
        return Turn(status=429, error="usage limit", resets_at=self.limit_resets_at)

    def record(self, request: ModelRequest, body: str = "") -> None:
        with self._lock:
            self.requests.append(request)
            self.bodies.append(body)

    def body_of(self, request: ModelRequest) -> str:
        """The body of a request this stand-in recorded."""
        with self._lock:
            return next((body for r, body in zip(self.requests, self.bodies, strict=True) if r is request), "")

    def model_requests(self) -> list[ModelRequest]:
        with self._lock:
            return list(self.requests)

    def prompts_seen(self, text: str) -> int:
        """How many requests started a turn with `text` as the latest user message (whitespace-insensitive)."""
        wanted = " ".join(text.split())
        return sum(1 for r in self.model_requests() if r.fresh and " ".join(r.prompt.split()) == wanted)


def _handler_class(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class BoundHandler(Handler):
        server_standin = standin

    return BoundHandler


class Handler(BaseHTTPRequestHandler):
    server_standin: StandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        """Quiet: the request log is the record."""

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method: str) -> None:
        standin = self.server_standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        path = self.path
        if not standin.vendor.is_model_request(method, path):
            standin.others.append(f"{method} {path}")
            status, answer = standin.vendor.other(method, path, body if isinstance(body, dict) else {})
            self.send_json(status, answer)
            return
        standin.last_body = body
        prompt, fresh = standin.vendor.prompt(body)
        if standin.vendor.side(body):
            script, fresh, turn = "side", False, Turn(chunks=["Stand-in title"])
        else:
            script = script_for(prompt)
            turn = standin.limit_turn(script, fresh) or turn_for(script, fresh)
        request = ModelRequest(
            time.time(),
            path,
            prompt,
            fresh,
            script,
            streamed=turn.status == 200,
            tools=standin.vendor.tool_names(body),
            tool_result="" if fresh else standin.vendor.tool_result(body),
        )
        standin.record(request, raw.decode("utf-8", "replace"))
        if turn.status != 200:
            self.send_json(turn.status, standin.vendor.error_body(turn), standin.vendor.error_headers(turn))
            request.finished_at = time.time()
            return
        # The CLI may give up on the stream (interrupted); the log keeps the request.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            standin.vendor.stream(self, body, turn, request)
        request.finished_at = time.time()
        self.close_connection = True

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def event(self, data: Any, name: str | None = None) -> None:
        """One server-sent event, flushed at once."""
        head = f"event: {name}\n" if name else ""
        self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


def play_text(handler: Handler, turn: Turn, request: ModelRequest, send) -> str:
    """Send the turn's chunks through `send(chunk)` with its pauses; the whole text."""
    for index, chunk in enumerate(turn.chunks):
        if index and turn.pause:
            time.sleep(turn.pause)
        send(chunk)
        if request.first_byte_at is None:
            request.first_byte_at = time.time()
    return "".join(turn.chunks)

"""The web server `start` runs: daphne's command line, with an access log that never shows the token and a
request body that is refused before it is read.

Daphne logs every request's path with its query string, and the login URL carries the token
(`/login/?token=...`), so each logged path has the value of every `token` parameter, however it is spelt, replaced.

Twisted reads a whole request body (into memory, or a temporary file past 100 KB) before daphne hands the request
to Django, and Django copies it again before any middleware runs: an unauthenticated cross-origin POST of 300 MiB
from any web page the user visits took the server from 122 to 421 MiB and 600 MiB of temporary space. So the
body's fate is decided here, when the headers have arrived and before a byte of it is read:
- a request that carries no credential (no session cookie, no Authorization header) gets no body read at all,
  except the login form (at most LOGIN_BODY_BYTES): 401. A browser sends neither to Chorus from another site (the
  session cookie is SameSite=Strict, and an Authorization header needs a CORS preflight Chorus never grants), and
  whether the credential is valid is checked by Django afterwards, as for every request;
- a body longer than CHORUS_MAX_REQUEST_BYTES is refused by its Content-Length before it is read, and a chunked
  one as soon as it passes the limit: 413.
The refusal is JSON (`{"detail": ...}`), and the connection is closed.

Run as `python -m chorus_site.webserver` with daphne's arguments.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from django.conf import settings

SECRET_PARAMETERS = ("token",)
REDACTED = "[redacted]"


def redact(path: str) -> str:
    """`path` with the value of each secret query parameter replaced, the rest as it was."""
    base, question, query = path.partition("?")
    if not question:
        return path
    fields = []
    for field in query.split("&"):
        name, equals, _value = field.partition("=")
        secret = unquote_plus(name) in SECRET_PARAMETERS
        fields.append(f"{name}={REDACTED}" if secret and equals else field)
    return f"{base}?{'&'.join(fields)}"


LOGIN_PATH = b"/login/"
LOGIN_BODY_BYTES = 16 * 1024
STATUS_TEXT = {401: "Unauthorized", 413: "Payload Too Large"}


def has_credential(cookies: dict[bytes, bytes], authorization: list[bytes] | None) -> bool:
    return settings.SESSION_COOKIE_NAME.encode() in cookies or bool(authorization)


def body_limit(path: bytes, credential: bool) -> int:
    """How many body bytes a request may send: none without a credential (but the login form)."""
    if credential:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return LOGIN_BODY_BYTES if path.split(b"?", 1)[0] == LOGIN_PATH else 0


def refusal(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection."""
    body = json.dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {STATUS_TEXT[status]}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class LimitedRequest(WebRequest):
    """daphne's request, deciding about its body when the headers are in, and counting it as it comes."""

    refused = False
    credential = False
    limit = 0
    received = 0

    def gotLength(self, length):
        # The channel keeps the request line until the request is complete; the request itself learns it later.
        self.credential = has_credential(self.received_cookies, self.requestHeaders.getRawHeaders(b"authorization"))
        self.limit = body_limit(self.channel._path, self.credential)
        if length is not None and length > self.limit:
            self._refuse(*self._why(length))
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.refused:
            return
        self.received += len(data)
        if self.received > self.limit:
            self._refuse(*self._why(self.received))
            return
        super().handleContentChunk(data)

    def _why(self, length: int) -> tuple[int, str]:
        if not self.credential and self.limit == 0:
            return 401, "Authentication required: a request with a body needs the login session or a bearer token"
        return 413, f"the request body is too large: {length} bytes or more, at most {self.limit} are accepted"

    def _refuse(self, status: int, detail: str) -> None:
        self.refused = True
        self.channel.transport.write(refusal(status, detail))
        self.channel.loseConnection()

    def process(self):
        if not self.refused:
            super().process()


class LimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedRequest
        return protocol


class RedactingServer(Server):
    def log_action(self, protocol, action, details):
        if "path" in details:
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)


class WebServerCommandLine(CommandLineInterface):
    server_class = RedactingServer


if __name__ == "__main__":
    # daphne's Server.run builds its HTTPFactory by this name and offers no other way to choose the request class.
    daphne_server.HTTPFactory = LimitedHTTPFactory
    WebServerCommandLine.entrypoint()

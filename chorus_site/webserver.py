"""The web server `start` runs: daphne's command line, with an access log that never shows the token.

Daphne logs every request's path with its query string, and the login URL carries the token
(`/login/?token=...`), so each logged path has the value of every `token` parameter, however it is spelt, replaced.
Run as `python -m chorus_site.webserver` with daphne's arguments.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from daphne.cli import CommandLineInterface
from daphne.server import Server

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


class RedactingServer(Server):
    def log_action(self, protocol, action, details):
        if "path" in details:
            details = {**details, "path": redact(details["path"])}
        super().log_action(protocol, action, details)


class WebServerCommandLine(CommandLineInterface):
    server_class = RedactingServer


if __name__ == "__main__":
    WebServerCommandLine.entrypoint()

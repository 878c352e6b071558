"""The JSON API at /api/ (docs at /api/docs): each app's router mounted here, domain errors mapped to HTTP."""

from __future__ import annotations

import json
from typing import Literal

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import APIKeyCookie, HttpBearer

from chorus_site.api_docs import VendoredSwagger
from chorus_site.auth import SESSION_KEY, token_matches
from documents_app.api import router as documents_router
from events_app.api import router as events_router
from events_app.database import unwritable
from events_app.errors import ConcurrencyError, DomainError
from events_app.schemas import answers
from sessions_app.api import hosts_router, requests_router
from sessions_app.api import router as sessions_router
from tasks_app.api import claims_router, usage_router
from tasks_app.api import router as tasks_router


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: for scripts; needs no CSRF token."""

    def authenticate(self, request: HttpRequest, token: str):
        return token if token_matches(token) else None


class BrowserSession(APIKeyCookie):
    """The logged-in browser's session cookie; unsafe methods must carry the CSRF token too."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None):
        return key if key and request.session.get(SESSION_KEY) else None


class UnreadableBody(ValueError):
    """A request body that is not one JSON object of Unicode text; the message says why."""


class ObjectParser(Parser):
    """Every body the API takes is one JSON object. A bare string, number or list is refused, not read as a schema's
    attributes (a string "hello" would pass for a task whose title is its `.title()`), and so is text that is not
    Unicode: JSON's escapes can spell a lone surrogate (\\ud800), which no event, terminal or answer can carry."""

    def parse_body(self, request: HttpRequest) -> dict:
        try:
            data = json.loads(request.body, parse_float=_number)
        except ValueError as exc:
            raise UnreadableBody(f"it is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise UnreadableBody(f"it must be a JSON object, not {type(data).__name__}")
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end].encode(errors="backslashreplace").decode()
            raise UnreadableBody(f"its text must be Unicode: {bad} is a lone surrogate, not a character") from None
        return data


def _number(text: str) -> float | int:
    """JSON has one kind of number: 5.0 and 1e3 are whole numbers, as JSON Schema's `integer` says, and the
    schemas take no other conversion (BodyIn is strict)."""
    number = float(text)
    return int(number) if number.is_integer() else number


api = NinjaAPI(
    title="Chorus API",
    version="1",
    description="Control room for AI coding agents in tmux. Authenticate with `Authorization: Bearer <token>` "
    "(the token is in the data directory) or a logged-in browser session plus its CSRF token.",
    auth=[BearerToken(), BrowserSession()],
    urls_namespace="api",
    parser=ObjectParser(),
    docs=VendoredSwagger(),
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError):
    """Every app's domain errors, answered with the status their kind says (404, 409, else 400)."""
    body = {"detail": str(exc)}
    if isinstance(exc, ConcurrencyError):
        body |= {"expected": exc.expected, "actual": exc.actual}
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    """ninja's own refusals; an unreadable body also says why it could not be read."""
    reason = exc.__cause__
    detail = f"{exc}: {reason}" if isinstance(reason, UnreadableBody) else str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(DatabaseError)
def _database_error(request: HttpRequest, exc: DatabaseError):
    """A database that cannot be written (read-only, or its disk is full) is the server's trouble, said plainly:
    503, nothing written. Any other database error is a crash (500)."""
    if (problem := unwritable(exc)) is None:
        raise exc
    return api.create_response(request, {"detail": problem}, status=503)


api.add_router("/events", events_router)
api.add_router("/sessions", sessions_router)
api.add_router("/hosts", hosts_router)
api.add_router("/requests", requests_router)
api.add_router("/documents", documents_router)
api.add_router("/tasks", tasks_router)
api.add_router("/claims", claims_router)
api.add_router("/usage", usage_router)


class HealthOut(Schema):
    status: Literal["ok"]
    position: int = Field(description="the event log's last position")


@api.get("/health", response=answers({200: HealthOut}), tags=["health"], summary="Liveness and the log's position")
def health(request: HttpRequest) -> HealthOut:
    from events_app.selectors import last_position

    return HealthOut(status="ok", position=last_position())

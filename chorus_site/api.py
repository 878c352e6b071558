"""The JSON API at /api/ (docs at /api/docs): each app's router mounted here, domain errors mapped to HTTP."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import APIKeyCookie, HttpBearer

from chorus_site.auth import SESSION_KEY, token_matches
from documents_app.api import router as documents_router
from events_app.api import router as events_router
from events_app.errors import ConcurrencyError, DomainError
from sessions_app.api import router as sessions_router
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


api = NinjaAPI(
    title="Chorus API",
    version="1",
    description="Control room for AI coding agents in tmux. Authenticate with `Authorization: Bearer <token>` "
    "(the token is in the data directory) or a logged-in browser session plus its CSRF token.",
    auth=[BearerToken(), BrowserSession()],
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError):
    """Every app's domain errors, answered with the status their kind says (404, 409, else 400)."""
    body = {"detail": str(exc)}
    if isinstance(exc, ConcurrencyError):
        body |= {"expected": exc.expected, "actual": exc.actual}
    return api.create_response(request, body, status=exc.status)


api.add_router("/events", events_router)
api.add_router("/sessions", sessions_router)
api.add_router("/documents", documents_router)
api.add_router("/tasks", tasks_router)


@api.get("/health", tags=["health"], summary="Liveness and the event log's position")
def health(request: HttpRequest) -> dict:
    from events_app.selectors import last_position

    return {"status": "ok", "position": last_position()}

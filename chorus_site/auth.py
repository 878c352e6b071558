"""Authentication for every HTTP, API and websocket request: a secret token, exchanged once for a session.

The token lives in the data directory (mode 0600). A browser opens the login URL that `chorus start` prints,
which stores a fingerprint of the token in its session (never the token); API clients send
`Authorization: Bearer <token>`. `chorus token rotate` replaces the file: every process sees the new token at its
next request, and every session and bearer made with the old one stops working.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.request import validate_host
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from chorus_site import config

SESSION_KEY = "chorus_authenticated"
PUBLIC_PREFIXES = ("/login/", "/static/", "/favicon.ico")

_token_files: dict[str, config.SecretFile] = {}


def current_token() -> str | None:
    """The token in force: the data directory's token file as it is now (one stat per call), or CHORUS_TOKEN when
    the environment fixes it. None when the file is gone or empty: then no token is right."""
    path = settings.CHORUS_TOKEN_FILE
    if path is None:
        return settings.CHORUS_TOKEN
    secret = _token_files.get(str(path))
    if secret is None:
        secret = _token_files[str(path)] = config.SecretFile(path)
    return secret.value()


def token_matches(candidate: str | None) -> bool:
    token = current_token()
    return bool(candidate) and token is not None and hmac.compare_digest(candidate.encode(), token.encode())


def token_fingerprint(token: str) -> str:
    """What a logged-in session keeps of the token it was made with: enough to tell whether that token is still in
    force, nothing that logs anyone in (the session table is in the database, the token is not)."""
    return hmac.new(token.encode(), b"chorus browser session", hashlib.sha256).hexdigest()


def session_is_current(session) -> bool:
    """Whether this session logged in with the token in force now."""
    fingerprint, token = session.get(SESSION_KEY), current_token()
    return (
        isinstance(fingerprint, str)
        and token is not None
        and hmac.compare_digest(fingerprint.encode(), token_fingerprint(token).encode())
    )


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ReadOnlyMiddleware:
    """With CHORUS_READ_ONLY, everything stays visible and nothing changes: any unsafe request but a login is
    refused before a view runs, so no path can type into a terminal or append an event."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.CHORUS_READ_ONLY and request.method not in SAFE_METHODS and not request.path.startswith("/login/"):
            message = "Chorus runs read-only (CHORUS_READ_ONLY): nothing can be changed from here."
            if request.path.startswith("/api/") or not request.accepts("text/html"):
                return JsonResponse({"detail": message}, status=403)
            return HttpResponse(message, status=403, content_type="text/plain")
        return self.get_response(request)


class TokenAuthMiddleware:
    """Let a request through only with the session flag or a valid bearer token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.chorus_bearer = False
        if request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        if session_is_current(request.session):
            return self.get_response(request)
        if SESSION_KEY in request.session:
            # Logged in with a token that is no longer in force: the session ends here.
            request.session.flush()
        token = bearer_token(request.headers.get("Authorization"))
        if token is not None:
            if token_matches(token):
                # A bearer token is not sent by browsers on their own, so it needs no CSRF check.
                request.chorus_bearer = True
                request._dont_enforce_csrf_checks = True
                return self.get_response(request)
            return _unauthorized(request, "the bearer token is wrong")
        return _unauthorized(request, "not logged in")


def _unauthorized(request: HttpRequest, reason: str) -> HttpResponse:
    message = f"Authentication required: {reason}. Open the login URL that `chorus start` printed."
    if request.path.startswith("/api/") or not request.accepts("text/html"):
        response = JsonResponse({"detail": message}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="chorus"'
        return response
    return render(request, "login.html", {"error": None, "next": request.get_full_path()}, status=401)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """GET ?token=...&next=... (the printed login URL) or POST of the token form."""
    token = request.POST.get("token") if request.method == "POST" else request.GET.get("token")
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts=None) or not next_url.startswith("/"):
        next_url = "/"
    if token is None:
        return render(request, "login.html", {"error": None, "next": next_url})
    if not token_matches(token.strip()):
        return render(request, "login.html", {"error": "That token is not right.", "next": next_url}, status=403)
    request.session.cycle_key()
    request.session[SESSION_KEY] = token_fingerprint(token.strip())
    return HttpResponseRedirect(next_url)


def scope_is_authenticated(scope: dict) -> bool:
    session = scope.get("session")
    if session is not None and session_is_current(session):
        return True
    headers = dict(scope.get("headers") or [])
    token = bearer_token(headers.get(b"authorization", b"").decode("latin-1") or None)
    return token_matches(token)


class WebsocketAuthentication:
    """ASGI middleware inside the session middleware: decides once per websocket whether it is authenticated (the
    logged-in session flag or a bearer token) and says so in `scope["chorus_authenticated"]`, which every consumer
    checks before accepting; `scope["chorus_still_authenticated"]()` says whether it still is (after `token
    rotate`, no longer), checked by the consumers while the socket is open: the session was read at connect, so
    the check reads no database, only the token file's stamp. `scope["chorus_may_change"]` says whether it may
    change anything (a terminal's keystrokes), the websocket twin of ReadOnlyMiddleware. Consumers import nothing
    of this site's authentication."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            authenticated = await database_sync_to_async(scope_is_authenticated)(scope)
            scope = {
                **scope,
                "chorus_authenticated": authenticated,
                "chorus_still_authenticated": functools.partial(scope_is_authenticated, scope),
                # whether this socket may change anything (type into a terminal): as for HTTP, not while read-only
                "chorus_may_change": authenticated and not settings.CHORUS_READ_ONLY,
            }
        return await self.app(scope, receive, send)


class WebsocketOriginCheck:
    """ASGI middleware: a websocket needs an allowed Host and an Origin equal to the origin it was served from.

    Channels' AllowedHostsOriginValidator compares only the Origin's host name, so another local port passes.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.app(scope, receive, send)


def origin_allowed(scope: dict) -> bool:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not host or not origin:
        return False
    hostname = urlsplit(f"//{host}").hostname or ""
    if not validate_host(hostname if ":" not in hostname else f"[{hostname}]", settings.ALLOWED_HOSTS):
        return False
    return origin == f"{_scheme(scope, headers)}://{host}"


def _scheme(scope: dict, headers: dict[bytes, bytes]) -> str:
    """The scheme the client used, "https" or "http". Behind a TLS proxy (SECURE_PROXY_SSL_HEADER, as
    chorus_site.settings_production sets it) the proxy's header says, as Django's request.is_secure() reads it:
    daphne's websocket scope knows only the proxy's plain connection."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, secure = proxy
        forwarded = headers.get(name.removeprefix("HTTP_").replace("_", "-").lower().encode())
        if forwarded is not None:
            return "https" if forwarded.decode("latin-1").split(",")[0].strip() == secure else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"

import pytest
from django.conf import settings
from django.test import Client

from chorus_site.auth import SESSION_KEY, WebsocketAuthentication, origin_allowed, token_fingerprint

pytestmark = pytest.mark.django_db


def test_pages_need_a_login():
    response = Client().get("/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert b"Log in to Chorus" in response.content


def test_api_without_token_is_401_json():
    response = Client().get("/api/health")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authentication required" in response.json()["detail"]


def test_login_url_sets_a_session():
    client = Client()
    response = client.get(f"/login/?token={settings.CHORUS_TOKEN}&next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/").status_code == 200


def test_wrong_token_is_refused():
    client = Client()
    assert client.get("/login/?token=nope").status_code == 403
    assert client.get("/", HTTP_ACCEPT="text/html").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:alert(1)"])
def test_login_never_redirects_off_site(target):
    response = Client().get("/login/", {"token": settings.CHORUS_TOKEN, "next": target})
    assert response["Location"] == "/"


def test_bearer_token_authenticates():
    assert Client().get("/", HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}").status_code == 200
    assert Client().get("/", HTTP_AUTHORIZATION="Bearer wrong", HTTP_ACCEPT="application/json").status_code == 401


def test_foreign_host_is_rejected():
    client = Client(HTTP_HOST="evil.example")
    assert client.get(f"/login/?token={settings.CHORUS_TOKEN}").status_code == 400


def test_token_form_requires_csrf():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"token": settings.CHORUS_TOKEN}).status_code == 403
    client.get("/login/")
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/login/", {"token": settings.CHORUS_TOKEN, "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302


def _scope(host, origin, scheme="ws"):
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.mark.parametrize(
    ("host", "origin", "allowed"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765", True),
        ("localhost:8765", "http://localhost:8765", True),
        ("127.0.0.1:8765", "http://127.0.0.1:3000", False),
        ("127.0.0.1:8765", "http://localhost:8765", False),
        ("127.0.0.1:8765", None, False),
        ("evil.example:8765", "http://evil.example:8765", False),
        ("127.0.0.1:8765", "https://127.0.0.1:8765", False),
    ],
)
def test_websocket_origin_must_be_the_served_origin(host, origin, allowed):
    assert origin_allowed(_scope(host, origin)) is allowed


@pytest.mark.parametrize(
    ("forwarded", "origin", "allowed"),
    [
        ("https", "https://chorus.example", True),
        ("https", "http://chorus.example", False),
        ("http", "https://chorus.example", False),
        (None, "https://chorus.example", False),
    ],
)
def test_behind_a_tls_proxy_its_header_gives_the_origin_its_scheme(settings, forwarded, origin, allowed):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["chorus.example"]
    scope = _scope("chorus.example", origin)
    if forwarded is not None:
        scope["headers"].append((b"x-forwarded-proto", forwarded.encode()))
    assert origin_allowed(scope) is allowed


@pytest.mark.asyncio
async def test_websocket_authentication_says_in_the_scope_whether_the_socket_is_logged_in():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope.get("chorus_authenticated"))

    middleware = WebsocketAuthentication(inner)
    token = [(b"authorization", f"Bearer {settings.CHORUS_TOKEN}".encode())]
    await middleware({"type": "websocket", "headers": token}, None, None)
    await middleware({"type": "websocket", "headers": [(b"authorization", b"Bearer wrong")]}, None, None)
    logged_in = {SESSION_KEY: token_fingerprint(settings.CHORUS_TOKEN)}
    await middleware({"type": "websocket", "headers": [], "session": logged_in}, None, None)
    await middleware({"type": "websocket", "headers": [], "session": {}}, None, None)
    await middleware({"type": "http", "headers": token}, None, None)
    assert seen == [True, False, True, False, None]

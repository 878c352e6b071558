"""ASGI entry point: Django for HTTP, Channels for websockets (origin and host checked, then authenticated)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus_site.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from chorus_site.auth import WebsocketAuthentication, WebsocketOriginCheck  # noqa: E402
from chorus_site.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": WebsocketOriginCheck(
            SessionMiddlewareStack(WebsocketAuthentication(URLRouter(websocket_urlpatterns)))
        ),
    }
)

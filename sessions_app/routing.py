from django.urls import path

from sessions_app.consumers import TerminalConsumer, TerminalLinkConsumer
from sessions_app.relay import LINK_PATH

websocket_urlpatterns = [
    path("ws/terminal/", TerminalConsumer.as_asgi()),
    path(LINK_PATH.lstrip("/"), TerminalLinkConsumer.as_asgi()),
]

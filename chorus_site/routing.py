from django.urls import path

from chorus_site.consumers import PageConsumer
from chorus_site.pages.base import SOCKET_PATH
from events_app.routing import websocket_urlpatterns as events_ws
from sessions_app.routing import websocket_urlpatterns as sessions_ws

websocket_urlpatterns = [*events_ws, *sessions_ws, path(SOCKET_PATH, PageConsumer.as_asgi())]

from django.urls import path

from chorus_site.consumers import PageConsumer
from events_app.routing import websocket_urlpatterns as events_ws

websocket_urlpatterns = [*events_ws, path("ws/page/", PageConsumer.as_asgi())]

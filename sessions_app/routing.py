from django.urls import path

from sessions_app.consumers import TerminalConsumer

websocket_urlpatterns = [path("ws/terminal/", TerminalConsumer.as_asgi())]

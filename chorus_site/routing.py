from events_app.routing import websocket_urlpatterns as events_ws

websocket_urlpatterns = [*events_ws]

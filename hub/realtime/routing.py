"""Every WebSocket route of the hub, in one list: the caller's notifications stream (here) and each
app's own routes (`<app>/routing.py`, written with `hub.realtime.consumers.socket_route`)."""

from chat.routing import websocket_urlpatterns as chat_routes
from hub.realtime.consumers import socket_route
from hub.realtime.notifications import NotificationsConsumer

websocket_urlpatterns = [socket_route(r"^ws/notifications/$", NotificationsConsumer), *chat_routes]

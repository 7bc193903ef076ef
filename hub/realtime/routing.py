"""Every WebSocket route of the hub, in one list: the caller's notifications stream (here) and each
app's own routes (`<app>/routing.py`)."""

from django.urls import path

from chat.routing import websocket_urlpatterns as chat_routes
from hub.realtime.notifications import NotificationsConsumer

websocket_urlpatterns = [path("ws/notifications/", NotificationsConsumer.as_asgi()), *chat_routes]

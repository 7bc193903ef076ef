from django.urls import path

from hub.notifications import NotificationsConsumer

websocket_urlpatterns = [path("ws/notifications/", NotificationsConsumer.as_asgi())]

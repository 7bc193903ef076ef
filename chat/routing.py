from chat.consumers import TopicConsumer
from hub.realtime.consumers import socket_route

websocket_urlpatterns = [socket_route(r"^ws/topics/(?P<slug>[-a-zA-Z0-9_]+)/$", TopicConsumer)]

from django.urls import re_path

from chat.consumers import TopicConsumer

websocket_urlpatterns = [re_path(r"^ws/topics/(?P<slug>[-a-zA-Z0-9_]+)/$", TopicConsumer.as_asgi())]

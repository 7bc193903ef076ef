"""ASGI application of the tutorial reference (`daphne bench.reference.tutorial.asgi:application`)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.tutorial.settings")

import django  # noqa: E402

django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.reference.tutorial.consumers import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "websocket": URLRouter([path("ws/topics/<slug:slug>/", ChatConsumer.as_asgi())]),
})

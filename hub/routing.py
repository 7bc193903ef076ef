"""WebSocket routes of every app, gathered in one list (each app owns `<app>/routing.py`)."""

from importlib import import_module

websocket_urlpatterns: list = []
for _module in ("hub.ws_routing", "chat.routing", "alerts.routing", "requests.routing"):
    try:
        websocket_urlpatterns += import_module(_module).websocket_urlpatterns
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise

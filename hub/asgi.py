"""The hub as one plain ASGI application: HTTP through Django, WebSockets through Channels.

Nothing here knows which server runs it (daphne or uvicorn): limits and timeouts are server flags
set by hub/server/serve.py from the same settings.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
from hub.server.http import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from hub.realtime.routing import websocket_urlpatterns  # noqa: E402
from hub.realtime.ws_auth import ws_auth_stack  # noqa: E402


async def _no_such_route(scope, receive, send):
    from hub.realtime.ws_auth import CLOSE_NOT_FOUND, reject

    await reject(receive, send, CLOSE_NOT_FOUND)


class _WebsocketRouter:
    """URLRouter that closes unknown paths with 4404 instead of raising."""

    def __init__(self, patterns):
        self.router = URLRouter(patterns)

    async def __call__(self, scope, receive, send):
        try:
            return await self.router(scope, receive, send)
        except ValueError as exc:
            if "No route found" not in str(exc):
                raise
            return await _no_such_route(scope, receive, send)


def _http_app():
    """Django over HTTP; in development (or HUB_SERVE_STATIC=1) it also serves static files, which
    a production deployment leaves to the proxy (see docker-compose.yml)."""
    from django.conf import settings

    from hub.server.admission import AdmissionLimit

    if settings.DEBUG or settings.HUB_SERVE_STATIC:
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        return AdmissionLimit(ASGIStaticFilesHandler(django_asgi_app))
    return AdmissionLimit(django_asgi_app)


_router = ProtocolTypeRouter(
    {
        "http": _http_app(),
        "websocket": ws_auth_stack(_WebsocketRouter(websocket_urlpatterns)),
    }
)


async def application(scope, receive, send):
    """The hub. Its first call takes over SIGTERM for a graceful shutdown (hub/server/shutdown.py)."""
    from hub.server import shutdown

    shutdown.install()
    return await _router(scope, receive, send)

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


def _start_background_jobs() -> None:
    """The periodic jobs (hub/jobs.py: escalation, SLA and duty reminders…) run in every server
    process without anyone starting them. The thread starts as the server loads the application;
    its frames go through the server's event loop, known at once under uvicorn (which loads the
    application inside its running loop) and from the first request or socket under daphne."""
    import asyncio

    from hub import jobs
    from hub.realtime.publisher import remember_server_loop
    from hub.server import shutdown

    if jobs.start_in_server() is None:
        return
    shutdown.on_shutdown(jobs.stop_server_runner)
    try:
        remember_server_loop(asyncio.get_running_loop())
    except RuntimeError:  # daphne: its loop runs only after the application is loaded
        pass


_start_background_jobs()
_first_call = True


async def application(scope, receive, send):
    """The hub. Its first call takes over SIGTERM for a graceful shutdown (hub/server/shutdown.py)
    and records the server's event loop for the background jobs' frames."""
    global _first_call
    from hub.server import shutdown

    shutdown.install()
    if _first_call:
        import asyncio

        from hub.realtime.publisher import remember_server_loop

        _first_call = False
        remember_server_loop(asyncio.get_running_loop())
    return await _router(scope, receive, send)

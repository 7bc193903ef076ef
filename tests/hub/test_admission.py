"""hub.server.admission: a burst of HTTP requests is served a few at a time, in full, not refused."""

import asyncio
import json

import pytest

from hub.server.admission import HANDSHAKE_DONE, AdmissionLimit, HandshakeLimit


class SlowApp:
    """An ASGI app that records how many requests are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0

    async def __call__(self, scope, receive, send) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await asyncio.sleep(0.01)
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})


async def call(app, path: str, kind: str = "http", headers: list | None = None) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await app({"type": kind, "path": path, "headers": headers or []}, receive, send)
    return sent


async def test_a_burst_is_served_in_full_with_at_most_the_limit_inside(settings):
    settings.HUB_HTTP_MAX_CONCURRENT = 3
    inner = SlowApp()
    app = AdmissionLimit(inner)
    answers = await asyncio.gather(*(call(app, f"/api/v1/ws-tickets/{i}") for i in range(40)))
    assert inner.most == 3
    assert all(a[0]["status"] == 200 for a in answers)
    assert [a[1]["body"] for a in answers] == [f"/api/v1/ws-tickets/{i}".encode() for i in range(40)]


async def test_health_checks_and_websockets_are_not_queued(settings):
    settings.HUB_HTTP_MAX_CONCURRENT = 1
    inner = SlowApp()
    app = AdmissionLimit(inner)
    await asyncio.gather(*(call(app, "/healthz") for _ in range(5)), call(app, "/ws/x/", kind="websocket"))
    assert inner.most == 6


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_limit_of_zero_turns_admission_off(settings, limit):
    settings.HUB_HTTP_MAX_CONCURRENT = limit
    inner = SlowApp()
    await asyncio.gather(*(call(AdmissionLimit(inner), "/api/v1/me") for _ in range(5)))
    assert inner.most == 5


async def test_shutting_down_it_serves_what_was_on_the_wire_and_answers_later_requests_503(settings, monkeypatch):
    """hub.server.shutdown: after SIGTERM, requests arriving within the acceptance window (sent before it)
    are served; later ones get 503 with Retry-After, so clients retry on another process."""
    import time

    from hub.server import shutdown

    settings.HUB_HTTP_MAX_CONCURRENT = 2
    inner = SlowApp()
    app = AdmissionLimit(inner)
    monkeypatch.setattr(shutdown, "_draining_since", time.monotonic())
    assert (await call(app, "/api/v1/me"))[0]["status"] == 200
    monkeypatch.setattr(shutdown, "_draining_since", time.monotonic() - 5)
    answer = await call(app, "/api/v1/me")
    assert answer[0]["status"] == 503 and (b"retry-after", b"1") in answer[0]["headers"]
    assert json.loads(answer[1]["body"]) == {
        "error": {"code": "unavailable", "detail": "Máy chủ này đang dừng; hãy thử lại."}}  # Vietnamese first
    english = await call(app, "/api/v1/me", headers=[(b"accept-language", b"en-GB,en;q=0.8")])
    assert json.loads(english[1]["body"])["error"]["detail"] == "This server is shutting down; retry."
    assert inner.most == 1


# --- WebSocket handshakes ---------------------------------------------------------------------------


class SocketApp:
    """An ASGI app standing for a consumer: connects (some work), says so, then stays open."""

    def __init__(self, say_done: bool = True) -> None:
        self.connecting = 0
        self.most = 0
        self.connected = 0
        self.say_done = say_done
        self.closing = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        self.connecting += 1
        self.most = max(self.most, self.connecting)
        await asyncio.sleep(0.01)
        self.connecting -= 1
        self.connected += 1
        if not self.say_done:
            return  # refused: the app ends without a consumer having connected
        scope[HANDSHAKE_DONE]()
        await self.closing.wait()  # the socket's life: not limited


async def test_handshakes_are_worked_on_a_few_at_a_time_and_the_open_sockets_do_not_count(settings):
    settings.HUB_WS_MAX_CONCURRENT_HANDSHAKES = 2
    inner = SocketApp()
    app = HandshakeLimit(inner)
    sockets = [asyncio.create_task(call(app, f"/ws/topics/t/{i}", kind="websocket")) for i in range(20)]
    for _ in range(200):
        if inner.connected == 20:
            break
        await asyncio.sleep(0.01)
    assert inner.connected == 20 and inner.most == 2  # all in, though every socket is still open
    inner.closing.set()
    await asyncio.gather(*sockets)


async def test_a_refused_handshake_frees_its_place(settings):
    settings.HUB_WS_MAX_CONCURRENT_HANDSHAKES = 1
    inner = SocketApp(say_done=False)
    app = HandshakeLimit(inner)
    await asyncio.wait_for(asyncio.gather(*(call(app, "/ws/x/", kind="websocket") for _ in range(5))), 5)
    assert inner.connected == 5 and inner.most == 1


@pytest.mark.django_db(transaction=True)
async def test_the_consumer_frees_its_place_once_connected(settings, make_user):
    """Through the real stack: with room for one handshake, a second socket gets in while the first
    stays open, because the consumer says when its `connect()` is done."""
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from hub.asgi import application
    from hub.models import WsTicket

    settings.HUB_WS_MAX_CONCURRENT_HANDSHAKES = 1
    user = await sync_to_async(make_user)("one.at.a.time", centre="HT")
    sockets = []
    for _ in range(2):
        ticket = await sync_to_async(WsTicket.issue)(user)
        socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
        sockets.append(socket)
    for socket in sockets:
        await socket.disconnect()

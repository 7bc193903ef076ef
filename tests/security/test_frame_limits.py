"""Server-level WebSocket limits (CVE-2026-44545 class): an oversized frame ends the connection before
the server buffers it, under daphne and uvicorn alike, and memory stays flat.

uvicorn answers with a 1009 close frame. daphne 4.2.3 (autobahn with its default `failByDrop`, which
daphne does not expose) drops the TCP connection without a close frame, so the client sees no code
(1006 in browsers); both refuse the frame without reading it into memory."""

import asyncio
import json
import urllib.request

import pytest
import websockets

from tests.live import rss_kib, start_hub

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def ws_ticket(hub, token: str) -> str:
    request = urllib.request.Request(hub.http + "/api/v1/ws-tickets", method="POST",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["ticket"]


async def close_code_after_sending(url: str, payload: str) -> int:
    async with websockets.connect(url, max_size=None) as socket:
        await socket.recv()  # hello
        try:
            await socket.send(payload)
            await asyncio.wait_for(socket.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else -1
        await asyncio.wait_for(socket.wait_closed(), 10)
        return socket.close_code if socket.close_code is not None else -1


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_oversized_frames_close_with_1009_and_memory_stays_flat(server, make_user, tmp_path, settings):
    from tests.conftest import token_for

    token = token_for(make_user("big.sender", centre="HT"))
    hub = start_hub(server, {"REDIS_URL": settings.REDIS_URL or ""}, tmp_path)
    try:
        url = lambda: f"{hub.ws}/ws/notifications/?ticket={ws_ticket(hub, token)}"  # noqa: E731
        # Under the server limit but over the body limit: an error frame, the socket stays open.
        async def under_limit():
            async with websockets.connect(url()) as socket:
                await socket.recv()
                await socket.send(json.dumps({"type": "ping", "pad": "x" * 40_000}))
                return json.loads(await socket.recv())

        reply = asyncio.run(under_limit())
        assert reply["type"] == "error" and reply["code"] == "too_large"
        asyncio.run(close_code_after_sending(url(), "x" * 70_000))  # warm-up
        before = rss_kib(hub.process.pid)
        codes = [asyncio.run(close_code_after_sending(url(), "y" * 8_000_000)) for _ in range(10)]
        after = rss_kib(hub.process.pid)
        expected = {"uvicorn": {1009}, "daphne": {-1}}[server]  # -1: dropped, no close frame
        assert set(codes) == expected, codes
        assert after - before < 40_000, f"RSS grew {after - before} KiB after 80 MB of oversized frames"
    finally:
        hub.stop()

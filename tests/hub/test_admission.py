"""hub.admission: a burst of HTTP requests is served a few at a time, in full, not refused."""

import asyncio

import pytest

from hub.admission import AdmissionLimit


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


async def call(app, path: str, kind: str = "http") -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await app({"type": kind, "path": path}, receive, send)
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
    """hub.shutdown: after SIGTERM, requests arriving within the acceptance window (sent before it)
    are served; later ones get 503 with Retry-After, so clients retry on another process."""
    import time

    from hub import shutdown

    settings.HUB_HTTP_MAX_CONCURRENT = 2
    inner = SlowApp()
    app = AdmissionLimit(inner)
    monkeypatch.setattr(shutdown, "_draining_since", time.monotonic())
    assert (await call(app, "/api/v1/me"))[0]["status"] == 200
    monkeypatch.setattr(shutdown, "_draining_since", time.monotonic() - 5)
    answer = await call(app, "/api/v1/me")
    assert answer[0]["status"] == 503 and (b"retry-after", b"1") in answer[0]["headers"]
    assert b'"unavailable"' in answer[1]["body"]
    assert inner.most == 1

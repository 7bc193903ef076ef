"""Scenario 4: a client that stops reading (its TCP receive buffer full) does not stall delivery to the
others on the same process. The fan-out hands each frame to the server's write buffer and moves on;
the stalled socket costs memory in that process until the server's ping timeout drops it
(HUB_WS_PING_INTERVAL + HUB_WS_PING_TIMEOUT, 20 s + 20 s by default)."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import os
import socket
import statistics
import termios
import time

import pytest

from tests.live import rss_kib
from tests.reliability.harness import LOAD_ENV, TopicClient, ahttp, post_until_stored, report, stored_ids

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MESSAGES = 240
LANES = 6
BODY = "Nhật ký sự cố: " + "x" * 12_000  # ~12 KB of body, ~24 KB per frame with its html


def stalled_socket(port: int, path: str) -> socket.socket:
    """A WebSocket handshake on a raw socket with a tiny receive buffer, after which nothing is read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: nothing after the headers is consumed
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def queued_bytes(sock: socket.socket) -> int:
    return int.from_bytes(fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"), "little")


@pytest.mark.parametrize("stalled", [False, True], ids=["baseline", "one-socket-stalled"])
def test_a_stalled_socket_does_not_stall_delivery_to_the_others(topic, people, hubs, stalled):
    accounts = people(6 + 1)
    hub = hubs(**LOAD_ENV)
    _, token = accounts[-1]
    sent_at: dict[str, float] = {}
    numbers: dict[str, object] = {}

    async def lane(i: int) -> None:
        for n in range(i, MESSAGES, LANES):
            client_id = f"m{n}"
            sent_at[client_id] = time.monotonic()
            status, answer = await post_until_stored(hub.http, token, topic.slug, BODY, client_id)
            assert status == 201, answer

    async def scenario():
        readers = [TopicClient(n, t, topic.slug) for n, t in accounts[:5]]
        for reader in readers:
            await reader.connect(hub.http, hub.ws)
        slow = None
        if stalled:
            status, answer = await ahttp("POST", hub.http + "/api/v1/ws-tickets", accounts[5][1])
            assert status == 201
            path = f"/ws/topics/{topic.slug}/?ticket={answer['ticket']}"
            slow = await asyncio.to_thread(stalled_socket, hub.port, path)
        rss_before = rss_kib(hub.process.pid)
        started = time.monotonic()
        await asyncio.gather(*(lane(i) for i in range(LANES)))
        await asyncio_wait(lambda: all(len(r.live) >= MESSAGES for r in readers), 30)
        numbers["posting_s"] = round(time.monotonic() - started, 1)
        numbers["slow_socket_kernel_queue_bytes"] = queued_bytes(slow) if slow else None
        numbers["server_rss_growth_kib"] = rss_kib(hub.process.pid) - rss_before
        latencies = sorted(r.live_at[cid] - sent_at[cid] for r in readers for cid in sent_at if cid in r.live_at)
        numbers["others_latency_p50_ms"] = round(1000 * statistics.median(latencies))
        numbers["others_latency_p99_ms"] = round(1000 * latencies[int(0.99 * (len(latencies) - 1))])
        for reader in readers:
            await reader.close()
        if slow:
            slow.close()
        return readers

    readers = asyncio.run(scenario())
    stored = set(stored_ids(topic.slug).values())
    frame_bytes = MESSAGES * 2 * len(BODY)
    report(f"slow consumer ({'one socket stalled' if stalled else 'baseline'})", readers=len(readers), sent=MESSAGES,
           received_each=[len(set(r.live)) for r in readers],
           lost=sum(len(stored - set(r.live)) for r in readers), duplicated=sum(r.live_duplicates() for r in readers),
           bytes_for_the_slow_socket=frame_bytes, **numbers)
    assert len(stored) == MESSAGES
    assert all(set(r.live) == stored and r.live_duplicates() == 0 for r in readers)
    if stalled:  # the scenario really stalled a socket: it holds a sliver of what was sent to it
        assert int(str(numbers["slow_socket_kernel_queue_bytes"])) < frame_bytes / 4


async def asyncio_wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return predicate()

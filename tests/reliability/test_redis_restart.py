"""Scenario 1: the Redis behind the channel layer is killed and restarted while clients send, with two
server processes on it. /healthz says 503 while it is down and 200 again by itself; every message
acknowledged as stored reaches every client after its sync (0 lost, 0 duplicated); a send that could
not be stored is answered with an error — never silently dropped."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.hub.test_live_server import start_private_redis
from tests.live import free_port
from tests.reliability.harness import (
    LOAD_ENV,
    TopicClient,
    post_message,
    report,
    stored_ids,
    wait_for_health,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PER_PHASE_HTTP = 20  # per phase (before / during / after the outage)
PER_PHASE_WS = 10  # per WebSocket sender and phase


def test_redis_restart_loses_nothing_that_was_acknowledged(topic, people, hubs):
    port = free_port()
    redis = start_private_redis(port)
    redis_url = f"redis://127.0.0.1:{port}/0"
    try:
        a, b = hubs(REDIS_URL=redis_url, **LOAD_ENV), hubs(REDIS_URL=redis_url, **LOAD_ENV)
        run = _Run(topic.slug, people(7), a, b)
        asyncio.run(run.before())
        redis.send_signal(signal.SIGKILL)
        redis.wait(5)
        killed = time.monotonic()
        down_a, body_a = wait_for_health(a.http, 503)
        down_b, body_b = wait_for_health(b.http, 503)
        assert body_a["database"] == "ok" and body_a["channel_layer"].startswith("error")
        assert body_b["channel_layer"].startswith("error")
        asyncio.run(run.during())
        redis = start_private_redis(port)
        restarted = time.monotonic()
        wait_for_health(a.http, 200)
        wait_for_health(b.http, 200)
        healthy_after = time.monotonic() - restarted
        asyncio.run(run.after())
    finally:
        redis.kill()
        redis.wait(5)

    stored = stored_ids(topic.slug)
    run.check(stored)
    report("redis restart", processes=2, receivers=len(run.receivers), sent=run.sent,
           acknowledged_http=len(run.http_acked),
           acknowledged_ws=sum(len(s.own) for s in run.ws_senders), refused=len(run.http_refused),
           stored=len(stored), ws_unacknowledged_during_outage=run.ws_unacked_during,
           ws_resent=run.ws_resent,
           live_received_each=[len(set(c.live)) for c in run.receivers],
           recovered_by_sync_each=[len(c.seen() - set(c.live)) for c in run.receivers],
           resync_notices_each=[c.unsolicited_resyncs for c in run.receivers],
           lost=0, duplicated=0, healthz_503_after_s=round(max(down_a, down_b), 1),
           healthz_200_after_restart_s=round(healthy_after, 1),
           live_delivery_back_after_restart_s=round(run.live_back_at - restarted, 1),
           outage_s=round(restarted - killed, 1))


class _Run:
    """Two receivers and one WebSocket sender per process, plus HTTP senders alternating processes."""

    def __init__(self, slug: str, accounts: list[tuple[str, str]], a, b) -> None:
        self.slug, self.hubs = slug, (a, b)
        # Receivers act on the hub's unasked `resync` (events lost while Redis was away) and do no
        # other catch-up: the test shows the hub itself leads them back to every message.
        self.receivers = [TopicClient(n, t, slug, auto_catch_up=True) for n, t in accounts[:4]]
        self.ws_senders = [TopicClient(n, t, slug, auto_catch_up=True) for n, t in accounts[4:6]]
        self.http_name, self.http_token = accounts[6]
        self.sent = 0
        self.http_acked: dict[str, int] = {}
        self.http_refused: dict[str, tuple[int, object]] = {}
        self.ws_sent: list[tuple[TopicClient, str]] = []
        self.ws_unacked_during = 0
        self.ws_resent = 0
        self.live_back_at = 0.0

    async def _connect_all(self) -> None:
        for i, client in enumerate(self.receivers + self.ws_senders):
            hub = self.hubs[i % 2]
            await client.connect(hub.http, hub.ws)

    async def _phase(self, phase: str) -> None:
        async def http_lane(lane: int) -> None:
            for i in range(lane, PER_PHASE_HTTP, 2):
                client_id = f"http-{phase}-{i}"
                status, answer = await post_message(self.hubs[i % 2].http, self.http_token, self.slug,
                                                    f"{phase} {i}", client_id)
                self.sent += 1
                if status == 201:
                    self.http_acked[client_id] = answer["id"]
                else:
                    self.http_refused[client_id] = (status, answer)

        async def ws_lane(sender: TopicClient) -> None:
            for i in range(PER_PHASE_WS):
                client_id = f"{sender.name}-{phase}-{i}"
                await sender.send(f"{phase} ws {i}", client_id)
                self.sent += 1
                self.ws_sent.append((sender, client_id))
                await asyncio.sleep(0.02)

        await asyncio.gather(http_lane(0), http_lane(1), *(ws_lane(s) for s in self.ws_senders))

    def _unacknowledged(self) -> list[tuple[TopicClient, str]]:
        errors = {(s.name, e.get("client_id")) for s in self.ws_senders for e in s.errors}
        return [(s, cid) for s, cid in self.ws_sent if cid not in s.own and (s.name, cid) not in errors]

    async def before(self) -> None:
        await self._connect_all()
        await self._phase("before")
        assert await wait_until(lambda: not self._unacknowledged(), 15), "acks missing before the outage"

    async def during(self) -> None:
        await self._reconnect_if_lost()
        await self._phase("during")
        await asyncio.sleep(1)
        self.ws_unacked_during = len(self._unacknowledged())

    async def after(self) -> None:
        await self._reconnect_if_lost()
        # Live delivery comes back by itself: probe until a new message reaches every receiver live.
        deadline = time.monotonic() + 30
        for probe in range(300):
            status, answer = await post_message(self.hubs[probe % 2].http, self.http_token, self.slug,
                                                f"probe {probe}", f"probe-{probe}")
            self.sent += 1
            assert status == 201, answer
            probe_id = self.http_acked[f"probe-{probe}"] = answer["id"]
            if await wait_until(lambda: all(probe_id in c.live for c in self.receivers), 0.5):  # noqa: B023
                self.live_back_at = time.monotonic()
                break
            assert time.monotonic() < deadline, "live delivery did not come back within 30 s"
        await self._phase("after")
        # Senders learn of their stored-but-unacknowledged sends through the resync's catch-up; the
        # outbox re-sends (same client_id) whatever is still unacknowledged after that.
        await wait_until(lambda: not self._unacknowledged(), 10)
        self.ws_resent = len(self._unacknowledged())
        for sender, client_id in self._unacknowledged():
            await sender.send(f"retry {client_id}", client_id)
        assert await wait_until(lambda: not self._unacknowledged(), 15), self._unacknowledged()
        expected = self.sent - len(self.http_refused)
        await wait_until(lambda: all(len(c.seen()) >= expected for c in self.receivers), 20)
        for client in self.receivers + self.ws_senders:
            await client.close()

    async def _reconnect_if_lost(self) -> None:
        for i, client in enumerate(self.receivers + self.ws_senders):
            if client.is_lost:
                hub = self.hubs[i % 2]
                await client.connect(hub.http, hub.ws)

    def check(self, stored: dict[str, int]) -> None:
        # Acknowledged means stored, under the id that was acknowledged.
        for client_id, message_id in self.http_acked.items():
            assert stored.get(client_id) == message_id, client_id
        for sender in self.ws_senders:
            for client_id, message_id in sender.own.items():
                assert stored.get(client_id) == message_id, client_id
        # Nothing refused was stored; nothing stored twice (one row per client_id, one per send).
        assert not set(self.http_refused) & set(stored), self.http_refused
        assert len(stored) == len(set(stored.values())) == self.sent - len(self.http_refused)
        # Every receiver, after its sync, holds exactly what the database holds; the live stream
        # itself never repeated an id.
        for client in self.receivers:
            assert client.seen() == set(stored.values()), (client.name, set(stored.values()) - client.seen())
            assert client.live_duplicates() == 0, client.name

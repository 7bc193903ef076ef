"""Scenario 5: SIGTERM to a hub process while messages are being posted to it. It exits by itself
(promptly: a request thread blocked on a stopped event loop used to hang the exit forever); what it
acknowledged is stored and delivered; what it did not answer is retried on the other process (same
client_id) and stored exactly once. Under both servers every request in flight is answered and
sockets get a close frame (4012, "the server is restarting"): the hub drains itself before handing SIGTERM to
the server (hub/server/shutdown.py) — daphne alone killed requests in flight and dropped sockets without a
close frame."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.reliability.harness import LOAD_ENV, TopicClient, post_message, report, stored_ids

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LANES = 4
PER_LANE = 60  # upper bound; posting to A stops when A is gone


async def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return predicate()


def _stored_now(slug: str) -> set[str]:
    from django.db import connection

    try:
        return set(stored_ids(slug))
    finally:
        connection.close()  # this thread's own connection


def _shutdown_run(topic, people, hubs, server: str):
    accounts = people(6 + 1)
    a, b = hubs(server, **LOAD_ENV), hubs(**LOAD_ENV)
    _, token = accounts[-1]
    on_a = [TopicClient(n, t, topic.slug) for n, t in accounts[:4]]
    # Listeners behave like the web client: a message whose `prev_id` they never received makes them
    # sync (under daphne a request killed by SIGTERM may have stored its message but not published it).
    on_b = [TopicClient(n, t, topic.slug, auto_catch_up=True) for n, t in accounts[4:6]]
    outcomes: dict[str, tuple[int, object]] = {}
    started: dict[str, float] = {}
    timing: dict[str, float] = {}

    async def lane(i: int) -> None:
        for n in range(PER_LANE):
            client_id = f"lane{i}-{n}"
            started[client_id] = time.monotonic()
            status, answer = await post_message(a.http, token, topic.slug, f"đang gửi {client_id}", client_id)
            outcomes[client_id] = (status, answer)
            if status == 0:  # A is gone: stop this lane
                return

    async def scenario():
        for client in on_a:
            await client.connect(a.http, a.ws)
        for client in on_b:
            await client.connect(b.http, b.ws)
        lanes = [asyncio.create_task(lane(i)) for i in range(LANES)]
        await asyncio.sleep(1.5)
        a.process.send_signal(signal.SIGTERM)
        timing["sigterm"] = time.monotonic()
        await asyncio.to_thread(a.process.wait, 30)
        timing["exited"] = time.monotonic()
        await asyncio.gather(*lanes)
        await asyncio.gather(*(c.wait_lost(10) for c in on_a))
        # The client's outbox: whatever was not acknowledged goes to the other process.
        retried = [cid for cid, (status, _) in outcomes.items() if status != 201]
        timing["stored_unanswered"] = len(set(retried) & await asyncio.to_thread(_stored_now, topic.slug))
        timing["in_flight_unanswered"] = sum(1 for cid in retried if started[cid] < timing["sigterm"])
        for client_id in retried:
            status, answer = await post_message(b.http, token, topic.slug, "gửi lại", client_id)
            assert status == 201, answer
        await wait_until(lambda: all(len(c.seen()) >= len(outcomes) for c in on_b), 15)
        for client in on_b:
            await client.close()
        return retried

    retried = asyncio.run(scenario())
    return a, on_a, on_b, outcomes, retried, timing


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_sigterm_finishes_what_it_acknowledged_and_nothing_is_stored_twice(topic, people, hubs, server):
    a, on_a, on_b, outcomes, retried, timing = _shutdown_run(topic, people, hubs, server)
    stored = stored_ids(topic.slug)
    acknowledged = {cid: answer["id"] for cid, (status, answer) in outcomes.items() if status == 201}
    statuses = sorted({status for status, _ in outcomes.values()})
    report(f"graceful shutdown ({server})", sent=len(outcomes), acknowledged=len(acknowledged),
           retried_elsewhere=len(retried), in_flight_unanswered=timing["in_flight_unanswered"],
           stored_but_unanswered=timing["stored_unanswered"],
           statuses=statuses, stored=len(stored), lost=len(set(outcomes) - set(stored)), duplicated=0,
           exit_code=a.process.returncode, exit_after_sigterm_s=round(timing["exited"] - timing["sigterm"], 1),
           close_codes_on_a=sorted(code for c in on_a for code in c.close_codes),
           received_on_b=[len(set(c.live)) for c in on_b], caught_up_on_b=[len(c.seen() - set(c.live)) for c in on_b])
    assert set(statuses) <= {0, 201, 503}, statuses  # never a 500 from a half-shut process
    assert all(stored[cid] == mid for cid, mid in acknowledged.items())
    assert set(stored) == set(outcomes) and len(set(stored.values())) == len(outcomes)
    assert all(c.seen() == set(stored.values()) and c.live_duplicates() == 0 for c in on_b)
    # It exited by itself: daphne with 0, uvicorn by re-raising SIGTERM after its graceful shutdown.
    assert a.process.returncode in (0, -signal.SIGTERM)
    # It drained: every request in flight at SIGTERM was answered; every socket got 4012.
    assert timing["in_flight_unanswered"] == 0
    assert [c.close_codes for c in on_a] == [[4012]] * len(on_a)

"""Publishing from worker threads: handed to the event loop's outbox, sent in the order committed."""

import asyncio
import time

from asgiref.sync import sync_to_async

from hub.realtime.publisher import _run_publisher, send_publications
from hub.realtime.receiver import Batch, Delivery, local_fanout


class Collector:
    """A local socket that keeps the frames it is handed, one by one."""

    batches = False

    def __init__(self) -> None:
        self.frames: list[str] = []

    async def deliver_batch(self, batch: Batch) -> None:
        for delivery in batch.deliveries:
            await self.deliver(delivery)

    async def deliver(self, delivery: Delivery) -> None:
        self.frames.append(delivery.event["frame"])


async def test_publishes_handed_over_by_a_thread_go_out_in_the_order_they_were_committed():
    group = f"outbox-test-{time.time_ns()}"
    collector = Collector()
    await local_fanout().join(group, collector)
    try:
        def commit_many() -> None:
            for i in range(200):
                _run_publisher([(group, f"frame-{i}", {})])

        await sync_to_async(commit_many, thread_sensitive=False)()
        deadline = time.monotonic() + 5
        while len(collector.frames) < 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert collector.frames == [f"frame-{i}" for i in range(200)]
    finally:
        await local_fanout().leave(group, collector)


async def test_a_pile_of_publications_goes_out_in_batches_in_order_once_each_and_with_no_false_gap():
    """What piles up during one fan-out is sent as few layer messages (100 frames each): every frame
    arrives once, in order, and the receivers' gap detection sees no hole (no unasked `resync`)."""
    a, b = f"batch-a-{time.time_ns()}", f"batch-b-{time.time_ns()}"
    both, only_a = Collector(), Collector()
    fanout = local_fanout()
    for group, collector in ((a, both), (b, both), (a, only_a)):
        await fanout.join(group, collector)
    try:
        items = [(a, f"a-{i}", {"event_id": f"a-{i}"}) for i in range(250)]
        items += [(b, "b-0", {"event_id": "b-0"}), (a, "a-250", {"event_id": "a-250"})]
        await send_publications(items)
        deadline = time.monotonic() + 5
        while len(only_a.frames) < 251 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.2)  # past the gap grace period: a false gap would have sent `resync`
        assert only_a.frames == [f"a-{i}" for i in range(251)]
        assert both.frames == [f"a-{i}" for i in range(250)] + ["b-0", "a-250"]
    finally:
        for group, collector in ((a, both), (b, both), (a, only_a)):
            await fanout.leave(group, collector)


async def test_a_large_batch_lets_the_event_loop_run_between_its_frames(settings):
    """Delivering a batch to many sockets must not hold the loop (requests, pings) until it is done:
    each socket gets the batch's events back to back (so that it can take them as one frame), and
    the loop runs between sockets once HUB_FANOUT_YIELD_EVERY frames were handed out."""
    settings.HUB_FANOUT_YIELD_EVERY = 10
    group = f"batch-yield-{time.time_ns()}"
    ticks = 0
    seen_at: list[int] = []

    class Ticked(Collector):
        async def deliver(self, delivery: Delivery) -> None:
            seen_at.append(ticks)
            await super().deliver(delivery)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    sockets = [Ticked() for _ in range(5)]
    fanout = local_fanout()
    for socket in sockets:
        await fanout.join(group, socket)
    running = asyncio.create_task(ticker())
    try:
        await send_publications([(group, f"f-{i}", {"event_id": f"f-{i}"}) for i in range(40)])
        deadline = time.monotonic() + 5
        while len(seen_at) < 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert all(socket.frames == [f"f-{i}" for i in range(40)] for socket in sockets)
        first_batch = seen_at[:200]
        per_socket = [first_batch[i:i + 40] for i in range(0, 200, 40)]
        assert all(len(set(ticks_of_one)) == 1 for ticks_of_one in per_socket)  # back to back
        assert len({ticks_of_one[0] for ticks_of_one in per_socket}) == 5  # the loop ran in between
    finally:
        running.cancel()
        for socket in sockets:
            await fanout.leave(group, socket)


async def test_events_of_two_publishers_that_arrived_together_reach_a_socket_as_one_batch(settings):
    """With two processes each publishes its own senders' messages; what arrives from both while this
    process is fanning out goes to a batch-taking socket as ONE batch afterwards, in arrival order,
    once each (not one frame per layer message: a socket write each, the cost that kept two
    processes from scaling)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from hub.realtime.publisher import BATCH_TYPE, channel_layer, event

    group = f"merge-{time.time_ns()}"
    layer = channel_layer()

    class Batching(Collector):
        batches = True

        def __init__(self) -> None:
            super().__init__()
            self.batches_seen: list[list[str]] = []

        async def deliver_batch(self, batch: Batch) -> None:
            self.batches_seen.append([d.event["frame"] for d in batch.deliveries])
            await super().deliver_batch(batch)

    class Busy(Collector):
        """A socket during whose delivery of the first event two other publishers' events arrive."""

        async def deliver(self, delivery: Delivery) -> None:
            await super().deliver(delivery)
            if delivery.event["frame"] == "p1-1":
                await layer.group_send(group, event(group, "p2-1", publisher="p2", seq=1, event_id="p2-1"))
                await layer.group_send(group, {"type": BATCH_TYPE, "group": group, "events": [
                    event(group, f"p3-{i}", publisher="p3", seq=i, event_id=f"p3-{i}") for i in (1, 2)]})

    batching, busy = Batching(), Busy()
    fanout = local_fanout()
    await fanout.join(group, batching)
    await fanout.join(group, busy)
    try:
        await layer.group_send(group, event(group, "p1-1", publisher="p1", seq=1, event_id="p1-1"))
        deadline = time.monotonic() + 5
        while len(batching.frames) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert batching.batches_seen == [["p2-1", "p3-1", "p3-2"]]  # p1-1 came alone, through `deliver`
        assert batching.frames == busy.frames == ["p1-1", "p2-1", "p3-1", "p3-2"]
    finally:
        await fanout.leave(group, batching)
        await fanout.leave(group, busy)


class _Chain:
    """Two local sockets of one group on the in-memory layer: `batching` takes batches and notes
    when each frame reached it; `slow` takes `slow_s` over each frame of `chain` (a fan-out
    to a thousand sockets) and, while doing so, publishes the frame `chain` names next — an event
    published while the loop is fanning out, so it waits for the loop."""

    def __init__(self, group: str, chain: dict[str, str], slow_s: float = 0.03) -> None:
        from hub.realtime.publisher import channel_layer

        self.group = group
        self.layer = channel_layer()
        self.delivered_at: dict[str, float] = {}
        self.batches_seen: list[list[str]] = []
        outer = self

        class Batching(Collector):
            batches = True

            async def deliver_batch(self, batch: Batch) -> None:
                outer.batches_seen.append([d.event["frame"] for d in batch.deliveries])
                await super().deliver_batch(batch)

            async def deliver(self, delivery: Delivery) -> None:
                outer.delivered_at[delivery.event["frame"]] = time.monotonic()
                await super().deliver(delivery)

        class Slow(Collector):
            async def deliver(self, delivery: Delivery) -> None:
                frame = delivery.event["frame"]
                if frame in chain or frame in chain.values():
                    time.sleep(slow_s)
                if frame in chain:
                    await outer.publish(chain[frame])
                await super().deliver(delivery)

        self.batching, self.slow = Batching(), Slow()

    async def publish(self, frame: str) -> float:
        from hub.realtime.publisher import event

        await self.layer.group_send(self.group, event(self.group, frame, event_id=frame, published_at=time.time()))
        return time.monotonic()

    async def until(self, collector: Collector, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(collector.frames) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.002)


async def test_when_the_loop_is_behind_the_next_fan_out_waits_and_takes_what_arrives_meanwhile(settings):
    """Issue 27, targets 6 and 7: a socket write costs ~10 µs and one more event in a `batch` frame
    ~1–2 µs, so a process that fanned each event of a stream out alone spent its CPU on writes. Once
    two fan-outs in a row found an event that had waited for the previous one (the loop is behind),
    the next waits HUB_FANOUT_COALESCE × the last one's length: two events published in that pause
    reach a batch-taking socket as one batch, after the one that waited."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.HUB_FANOUT_COALESCE = 1.0
    chain = _Chain(f"behind-{time.time_ns()}", {"s1": "s2", "s2": "s3"})
    fanout = local_fanout()
    await fanout.join(chain.group, chain.batching)
    await fanout.join(chain.group, chain.slow)
    try:
        await chain.publish("s1")  # s2 is published during s1's fan-out, s3 during s2's: behind twice
        await chain.until(chain.batching, 3)  # s3's fan-out has ended (the loop was held by it)
        await chain.publish("a")  # in the pause after s3's fan-out (~30 ms)…
        await asyncio.sleep(0.005)
        await chain.publish("b")
        await chain.until(chain.batching, 5)
        assert chain.batches_seen == [["a", "b"]]  # …so both go in one write
        assert chain.batching.frames == chain.slow.frames == ["s1", "s2", "s3", "a", "b"]
    finally:
        await fanout.leave(chain.group, chain.batching)
        await fanout.leave(chain.group, chain.slow)


async def test_while_the_loop_keeps_up_no_fan_out_waits(settings):
    """At ordinary rates (25 messages/s: two senders within one fan-out of each other now and then)
    one event that waited for a fan-out is not a backlog: what arrives after it goes at once, one by
    one, as with no coalescing at all (issue 11's p99 guard at 25/s, docs/benchmarks.md)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.HUB_FANOUT_COALESCE = 1.0
    chain = _Chain(f"keeps-up-{time.time_ns()}", {"s1": "s2"})
    fanout = local_fanout()
    await fanout.join(chain.group, chain.batching)
    await fanout.join(chain.group, chain.slow)
    try:
        await chain.publish("s1")  # s2 waits for s1's fan-out: behind once
        await chain.until(chain.batching, 2)
        sent = await chain.publish("c")
        await asyncio.sleep(0.005)
        await chain.publish("d")
        await chain.until(chain.batching, 4)
        assert chain.batches_seen == []  # c and d each went as soon as it arrived
        assert chain.delivered_at["c"] - sent < 0.02
        assert chain.batching.frames == chain.slow.frames == ["s1", "s2", "c", "d"]
    finally:
        await fanout.leave(chain.group, chain.batching)
        await fanout.leave(chain.group, chain.slow)


async def test_a_process_with_short_fan_outs_waits_as_long_as_one_with_all_the_sockets(settings, monkeypatch):
    """One of two processes holds half of a big group's sockets: its fan-outs are half as long, and
    paced by its own length alone it wrote every socket twice as often, with half the events per
    write, as one process holding them all (issue 27, target 6). When behind, the pause is at least
    HUB_FANOUT_COALESCE × COALESCE_MIN_SECONDS (here widened to 0.1 s against 2 ms fan-outs)."""
    from hub.realtime import receiver

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.HUB_FANOUT_COALESCE = 1.0
    monkeypatch.setattr(receiver, "COALESCE_MIN_SECONDS", 0.1)
    chain = _Chain(f"short-{time.time_ns()}", {"s1": "s2", "s2": "s3"}, slow_s=0.002)
    fanout = local_fanout()
    await fanout.join(chain.group, chain.batching)
    await fanout.join(chain.group, chain.slow)
    try:
        await chain.publish("s1")  # behind twice, each fan-out ~2 ms
        await chain.until(chain.batching, 3)
        await chain.publish("a")
        await asyncio.sleep(0.03)  # far past the 2 ms fan-out's own length, inside the floor
        await chain.publish("b")
        await chain.until(chain.batching, 5)
        assert chain.batches_seen == [["a", "b"]]
        assert chain.batching.frames == chain.slow.frames == ["s1", "s2", "s3", "a", "b"]
    finally:
        await fanout.leave(chain.group, chain.batching)
        await fanout.leave(chain.group, chain.slow)

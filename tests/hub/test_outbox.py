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


async def test_under_a_stream_of_events_the_next_fan_out_waits_and_takes_what_arrived_meanwhile(settings):
    """Issue 27, target 6: a socket write costs ~10 µs and one more event in a `batch` frame ~1 µs, so
    a process that fanned each event of a stream out alone spent its CPU on writes. After a fan-out
    that took a while, the next one waits HUB_FANOUT_COALESCE × that long: two events arriving in
    the pause reach a batch-taking socket as one batch. An event after a quiet moment goes at once."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.HUB_FANOUT_COALESCE = 1.0
    from hub.realtime.publisher import channel_layer, event

    group = f"coalesce-{time.time_ns()}"
    layer = channel_layer()
    delivered_at: dict[str, float] = {}

    class Batching(Collector):
        batches = True

        def __init__(self) -> None:
            super().__init__()
            self.batches_seen: list[list[str]] = []

        async def deliver_batch(self, batch: Batch) -> None:
            self.batches_seen.append([d.event["frame"] for d in batch.deliveries])
            await super().deliver_batch(batch)

        async def deliver(self, delivery: Delivery) -> None:
            delivered_at[delivery.event["frame"]] = time.monotonic()
            await super().deliver(delivery)

    class Slow(Collector):
        """A socket whose first event takes 0.1 s to hand over (a fan-out to a few thousand sockets)."""

        async def deliver(self, delivery: Delivery) -> None:
            if delivery.event["frame"] in ("first", "slow again"):
                time.sleep(0.1)
            await super().deliver(delivery)

    async def publish(frame: str) -> float:
        await layer.group_send(group, event(group, frame, event_id=frame))
        return time.monotonic()

    async def until(collector: Collector, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(collector.frames) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    batching, slow = Batching(), Slow()
    fanout = local_fanout()
    await fanout.join(group, batching)
    await fanout.join(group, slow)
    try:
        await publish("first")
        await until(slow, 1)
        await publish("second")  # the fan-out of "first" took 0.1 s: the next waits ~0.1 s
        await asyncio.sleep(0.03)
        await publish("third")
        await until(batching, 3)
        assert batching.batches_seen == [["second", "third"]]  # one write for both, not one each
        await publish("slow again")  # the fan-out of the batch was short: this one goes at once…
        await until(slow, 4)
        await asyncio.sleep(0.3)  # …and takes 0.1 s; after a quiet moment longer than that
        sent = await publish("fourth")
        await until(batching, 5)
        assert batching.frames == slow.frames == ["first", "second", "third", "slow again", "fourth"]
        assert delivered_at["fourth"] - sent < 0.08  # nothing to wait for
    finally:
        await fanout.leave(group, batching)
        await fanout.leave(group, slow)

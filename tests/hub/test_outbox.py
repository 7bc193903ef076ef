"""Publishing from worker threads: handed to the event loop's outbox, sent in the order committed."""

import asyncio
import time

from asgiref.sync import sync_to_async

from hub.broadcast import _run_publisher
from hub.fanout import Delivery, local_fanout, publish


class Collector:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def deliver(self, delivery: Delivery) -> None:
        self.frames.append(delivery.event["frame"])


async def test_publishes_handed_over_by_a_thread_go_out_in_the_order_they_were_committed():
    group = f"outbox-test-{time.time_ns()}"
    collector = Collector()
    await local_fanout().join(group, collector)
    try:
        def commit_many() -> None:
            for i in range(200):
                _run_publisher(lambda i=i: publish(group, f"frame-{i}"))

        await sync_to_async(commit_many, thread_sensitive=False)()
        deadline = time.monotonic() + 5
        while len(collector.frames) < 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert collector.frames == [f"frame-{i}" for i in range(200)]
    finally:
        await local_fanout().leave(group, collector)

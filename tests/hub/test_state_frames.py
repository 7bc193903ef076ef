"""State frames: an event that carries the whole current state of something (a message's reactions)
may wait HUB_STATE_FRAME_WAIT_SECONDS to share the next event's socket write, and of several of one
state only the newest reaches the sockets (hub/realtime/receiver.py, issue 26)."""

import asyncio
import time

import pytest

from hub.realtime.publisher import channel_layer, event
from hub.realtime.receiver import Batch, Delivery, local_fanout


class Socket:
    """A local socket that takes batches, as the web client does (`?batch=1`): what it is handed, as
    writes (one per `deliver` or `deliver_batch`), and when."""

    batches = True

    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.at: list[float] = []

    async def deliver(self, delivery: Delivery) -> None:
        self.writes.append([delivery.event["frame"]])
        self.at.append(time.monotonic())

    async def deliver_batch(self, batch: Batch) -> None:
        self.writes.append([d.event["frame"] for d in batch.deliveries])
        self.at.append(time.monotonic())

    @property
    def frames(self) -> list[str]:
        return [frame for write in self.writes for frame in write]


@pytest.fixture
def in_memory(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.HUB_STATE_FRAME_WAIT_SECONDS = 0.4
    return settings


async def _joined(group: str) -> Socket:
    socket = Socket()
    await local_fanout().join(group, socket)
    return socket


async def _send(group: str, frame: str, seq: int, **meta) -> None:
    await channel_layer().group_send(group, event(group, frame, publisher="p", seq=seq, event_id=frame, **meta))


async def _until(socket: Socket, count: int, seconds: float = 3) -> None:
    deadline = time.monotonic() + seconds
    while len(socket.frames) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def test_a_state_frame_rides_with_the_next_event_in_one_write(in_memory):
    group = f"state-ride-{time.time_ns()}"
    socket = await _joined(group)
    try:
        started = time.monotonic()
        await _send(group, "reactions-1", 1, state="reactions:1")
        await asyncio.sleep(0.05)
        await _send(group, "message-2", 2)
        await _until(socket, 2)
        assert socket.writes == [["reactions-1", "message-2"]]  # one write, in arrival order
        assert socket.at[0] - started < 0.4  # the message ended the wait
    finally:
        await local_fanout().leave(group, socket)


async def test_of_several_frames_of_one_state_only_the_newest_is_delivered(in_memory):
    group = f"state-newest-{time.time_ns()}"
    socket = await _joined(group)
    try:
        await _send(group, "reactions-1-old", 1, state="reactions:1")
        await _send(group, "reactions-2", 2, state="reactions:2")
        await _send(group, "reactions-1-new", 3, state="reactions:1")
        await _send(group, "message-4", 4)
        await _until(socket, 3)
        await asyncio.sleep(0.1)
        assert socket.frames == ["reactions-2", "reactions-1-new", "message-4"]
    finally:
        await local_fanout().leave(group, socket)


async def test_of_crossed_frames_of_one_state_the_highest_version_is_delivered(in_memory):
    """Two processes' states of one message may arrive in the other order: the newer by `version`
    goes, not the last to arrive (docs/chat.md, "Order of changes")."""
    group = f"state-version-{time.time_ns()}"
    socket = await _joined(group)
    try:
        await _send(group, "reactions-1-v5", 1, state="reactions:1", version=5)
        await _send(group, "reactions-1-v4", 2, state="reactions:1", version=4)
        await _send(group, "message-3", 3)
        await _until(socket, 2)
        await asyncio.sleep(0.1)
        assert socket.frames == ["reactions-1-v5", "message-3"]
    finally:
        await local_fanout().leave(group, socket)


async def test_a_state_frame_alone_goes_out_when_its_wait_ends(in_memory):
    group = f"state-alone-{time.time_ns()}"
    socket = await _joined(group)
    try:
        started = time.monotonic()
        await _send(group, "reactions-1", 1, state="reactions:1")
        await asyncio.sleep(0.2)
        assert socket.frames == []  # still waiting for company
        await _until(socket, 1)
        assert socket.frames == ["reactions-1"]
        assert 0.35 <= socket.at[0] - started < 1.5
        # The next one waits again, from its own arrival.
        await _send(group, "reactions-1-again", 2, state="reactions:1")
        await _until(socket, 2)
        assert socket.frames == ["reactions-1", "reactions-1-again"]
    finally:
        await local_fanout().leave(group, socket)


async def test_other_events_never_wait_behind_a_held_state_frame(in_memory):
    """A held frame delays nothing else: the next ordinary event ends the wait at once, and the
    held frames go first (they arrived first)."""
    group, other = f"state-first-{time.time_ns()}", f"state-other-{time.time_ns()}"
    socket = await _joined(group)
    elsewhere = await _joined(other)
    try:
        await _send(group, "reactions-1", 1, state="reactions:1")
        await asyncio.sleep(0.05)
        sent = time.monotonic()
        await _send(other, "message-in-another-topic", 1)
        await _until(elsewhere, 1)
        assert elsewhere.at[0] - sent < 0.3
        assert socket.frames == ["reactions-1"]
    finally:
        await local_fanout().leave(group, socket)
        await local_fanout().leave(other, elsewhere)


async def test_with_no_wait_a_state_frame_goes_out_at_once(in_memory):
    in_memory.HUB_STATE_FRAME_WAIT_SECONDS = 0
    group = f"state-now-{time.time_ns()}"
    socket = await _joined(group)
    try:
        started = time.monotonic()
        await _send(group, "reactions-1", 1, state="reactions:1")
        await _until(socket, 1)
        assert socket.frames == ["reactions-1"]
        assert socket.at[0] - started < 0.3
    finally:
        await local_fanout().leave(group, socket)

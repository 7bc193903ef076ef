"""Process-local fan-out: one channel-layer subscription per group per process, not per socket.

The Channels tutorial design gives every socket its own channel and has the layer deliver one copy
per recipient (a layer message, a dispatch and a `json.dumps` each). Measured on this hardware that
saturates at a few thousand deliveries/s (../shared/STACK-NOTES.md). Here each process owns a single
layer channel; the first local socket interested in a group adds that channel to the group, and one
reader task relays each event — whose frame was encoded once, by the publisher — to every local
socket in the group. Delivery is still best-effort: sockets recover anything missed from the database
through `sync`, never from the layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from typing import Any, Protocol

from django.conf import settings

from hub import metrics
from hub.lib.jsonutil import dumps
from hub.realtime.audience import Reach, reach_from_meta
from hub.realtime.frames import ResyncFrame
from hub.realtime.loops import per_loop
from hub.realtime.publisher import BATCH_TYPE, EVENT_TYPE, channel_layer, event

logger = logging.getLogger(__name__)

# channels-redis forgets group membership after `group_expiry`; re-adding well before keeps a
# long-lived process subscribed (core layer; harmless for the pub/sub layer). At most this often…
REFRESH_SECONDS = 600

# Gap detection. Every event carries its publisher (one id per process) and a sequence number per
# group, so a receiving process notices when the layer skipped some (core layer over `capacity`, a
# Redis restart, a publish that failed) and tells its sockets instead of letting them miss messages
# silently. Out-of-order arrival within GAP_GRACE_SECONDS is not a gap. (The numbers are given by
# the publisher, hub.realtime.publisher.)
GAP_GRACE_SECONDS = 1.0
# Only streams that can catch up (a topic socket's `sync`) are told; for others a gap is logged.
RESYNC_GROUP_PREFIXES = ("topic.",)

# At most this many events of one group, received together, go to the sockets as one batch (its
# frames are still split by HUB_WS_BATCH_MAX_BYTES): a publisher's own batch is at most 100.
MAX_MERGED = 500

# Each event reaches a group's sockets once: the ids of the latest events handed to each group are
# kept (per process, not per socket), and an event that arrives again — a redelivered publication —
# is dropped before any socket sees it.
RECENT_PER_GROUP = 1024

# Only a fan-out at least this long makes the next one wait (HUB_FANOUT_COALESCE): ~100 sockets' worth
# of writes. Below it the pause would buy little and only delay the next event.
COALESCE_AFTER_SECONDS = 0.001

# The loop counts as behind — and the next fan-out waits (HUB_FANOUT_COALESCE) — after this many
# fan-outs in a row each found an event that had been published before the previous one ended (it
# waited for the loop). One such fan-out is ordinary at 25 messages/s (two senders within ~12 ms of
# each other); a stream the loop cannot keep up with gives one after another.
BEHIND_AFTER_FANOUTS = 2

# When behind, the pause is HUB_FANOUT_COALESCE × the last fan-out's length, but at least
# HUB_FANOUT_COALESCE × this: a 1,000-socket fan-out's length on the bench machine. A process holding
# only some of a big group's sockets (one of two) has shorter fan-outs; paced by its own length alone
# it wrote each socket twice as often, with half the events per write, as one process holding all
# of them — the CPU per delivery that kept two processes from scaling (issue 27, target 6).
COALESCE_MIN_SECONDS = 0.012


def resync_frame(after: int | None) -> str:
    """What those sockets get: the contract's `resync`, unasked, with `after` = the `cursor` (message
    id) of the last event this process received in order before the gap — sync from there, not from
    the newest id seen, since newer messages may have arrived after the lost ones. None when no
    cursor is known (then: sync after the last id you saw)."""
    frame: ResyncFrame = {"type": "resync", "reason": "missed_events", "after": after, "latest": None}
    return dumps(frame)



def _events(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The events a layer message carries (one, or a publisher's batch), or None for anything else."""
    kind = message.get("type")
    if kind == EVENT_TYPE:
        return [message]
    if kind == BATCH_TYPE and isinstance(message.get("events"), list):
        events: list[dict[str, Any]] = message["events"]
        return events
    return None


def _waited(messages: list[dict[str, Any]], since: float) -> bool:
    """Whether any of these layer messages carries an event published before `since` (the previous
    fan-out's end): it was queued — in the layer, the inbox or this process's outbox — while the
    loop was fanning out. A batch's events are in publish order, so its first one is the oldest."""
    for message in messages:
        events = _events(message)
        first = events[0] if events else message
        published = first.get("published_at") if isinstance(first, dict) else None
        if isinstance(published, float) and published < since:
            return True
    return False


def _state_only(message: dict[str, Any]) -> bool:
    """Whether a layer message carries only state frames (events with a `state`: they may wait)."""
    events = _events(message)
    return events is not None and bool(events) and all(one.get("state") for one in events)


def _newest_states(messages: list[dict[str, Any]]) -> dict[tuple[str, Any], int]:
    """(group, state) → the identity of the newest event of that state among these messages: the
    highest `version` (two processes' states may arrive crossed), else the last to arrive; empty when
    none carries a state (the common case costs one look-up per event)."""
    newest: dict[tuple[str, Any], tuple[int, int]] = {}
    for message in messages:
        for one in _events(message) or ():
            state = one.get("state")
            if state:
                key = (message.get("group") or "", state)
                version = one.get("version")
                version = version if isinstance(version, int) else 0
                held = newest.get(key)
                if held is None or version >= held[0]:
                    newest[key] = (version, id(one))
    return {key: identity for key, (_version, identity) in newest.items()}


def refresh_seconds() -> float:
    """How often group memberships are re-added: a third of the layer's `group_expiry`, so even a
    shortened expiry (tests, or an operator's choice) never drops a live process from a group."""
    layers: dict[str, dict[str, Any]] = settings.CHANNEL_LAYERS  # the settings' literal types vary by branch
    config: dict[str, Any] = layers.get("default", {}).get("CONFIG", {})
    expiry = config.get("group_expiry")
    if not expiry:
        return REFRESH_SECONDS
    return max(0.5, min(float(REFRESH_SECONDS), float(expiry) / 3))


class Delivery:
    """One received event, prepared once for all the process's sockets: the fan-out's per-recipient
    cost is what bounds throughput (docs/benchmarks.md), so everything that does not depend on the
    recipient — the ASGI message, the parsed audience — is computed here, not per socket. ASGI
    servers only read the message they are given, so one dict serves every socket."""

    __slots__ = ("event", "message", "audience", "event_id", "control", "origin")

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self.message = {"type": "websocket.send", "text": event.get("frame", "")}
        self.audience: Reach = reach_from_meta(event.get("audience"))
        # Read by every socket (duplicate check, control events, one's own typing indicator): looked
        # up once here rather than in the event's dict per socket (tests/hub/test_outbox.py).
        self.event_id: str | None = event.get("event_id") or None
        self.control: str | None = event.get("control")
        self.origin: str | None = event.get("origin")


BATCH_FRAME_PREFIX = '{"type":"batch","frames":['
BATCH_FRAME_SUFFIX = "]}"


class Batch:
    """Several events of one group received together, for sockets that take them as one `batch`
    frame (docs/chat.md): under uvicorn every ASGI send is one socket write, a system call, and
    under daphne one autobahn frame and writer registration — per socket per frame the largest cost
    of a fan-out (docs/benchmarks.md). The combined frame for a given choice of events is built once
    for all the sockets that make the same choice (normally: all of them)."""

    __slots__ = ("deliveries", "_sizes", "_messages")

    def __init__(self, deliveries: list[Delivery]) -> None:
        self.deliveries = deliveries
        self._sizes: list[int] | None = None
        self._messages: dict[tuple[int, ...], list[dict[str, Any]]] = {}

    def messages(self, chosen: tuple[int, ...]) -> list[dict[str, Any]]:
        """The ASGI messages that carry these events (indices, in order) to one socket: `batch`
        frames of at most HUB_WS_BATCH_MAX_BYTES — a client's frame limit is unknown, and the hub's
        own is 64 KiB — and an event alone in its chunk as its own plain frame."""
        messages = self._messages.get(chosen)
        if messages is not None:
            return messages
        if self._sizes is None:
            self._sizes = [len(d.message["text"].encode("utf-8", "surrogatepass")) for d in self.deliveries]
        # What the frames and their commas may take in one batch frame (prefix and suffix are ASCII).
        room = settings.HUB_WS_BATCH_MAX_BYTES - len(BATCH_FRAME_PREFIX) - len(BATCH_FRAME_SUFFIX)
        chunks: list[list[int]] = []
        size = 0
        for index in chosen:
            if chunks and size + 1 + self._sizes[index] <= room:  # 1: the comma
                chunks[-1].append(index)
                size += self._sizes[index] + 1
            else:
                chunks.append([index])
                size = self._sizes[index]
        messages = [self._message(chunk) for chunk in chunks]
        self._messages[chosen] = messages
        return messages

    def _message(self, chunk: list[int]) -> dict[str, Any]:
        if len(chunk) == 1:
            return self.deliveries[chunk[0]].message
        frames = ",".join(self.deliveries[index].message["text"] for index in chunk)
        return {"type": "websocket.send", "text": BATCH_FRAME_PREFIX + frames + BATCH_FRAME_SUFFIX}


class Listener(Protocol):
    """A local socket. One whose `batches` attribute is true gets the events of a batch through
    `deliver_batch`; the others get them one by one through `deliver`."""

    batches: bool

    async def deliver(self, delivery: Delivery) -> None: ...

    async def deliver_batch(self, batch: Batch) -> None: ...


class _Sequence:
    """What one process has received from one publisher in one group."""

    __slots__ = ("last", "missing", "cursor")

    def __init__(self, last: int, cursor: int | None) -> None:
        self.last = last
        self.missing: set[int] = set()
        self.cursor = cursor  # the newest `cursor` received with no gap before it


class LocalFanout:
    def __init__(self) -> None:
        self.layer = channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, set[Listener]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._fanner: asyncio.Task[None] | None = None
        # Layer messages received and not yet handed to the sockets (`_read_loop` → `_fanout_loop`).
        self._inbox: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        # State frames waiting for company (HUB_STATE_FRAME_WAIT_SECONDS), and until when at most.
        self._held: list[dict[str, Any]] = []
        self._held_until = 0.0
        self._refresher: asyncio.Task[None] | None = None
        # group → publisher → _Sequence; reset whenever this process (re)subscribes to the group.
        self._received: dict[str, dict[str, _Sequence]] = {}
        # group → the ids of its latest events handed to its sockets (RECENT_PER_GROUP at most).
        self._recent: dict[str, OrderedDict[str, None]] = {}
        self._gap_checks: set[asyncio.Task[None]] = set()

    async def _ensure_started(self) -> str:
        if self.channel is None:
            self.channel = await self.layer.new_channel("hub.process.")
            self._reader = asyncio.create_task(self._read_loop(), name="hub-fanout-reader")
            self._fanner = asyncio.create_task(self._fanout_loop(), name="hub-fanout")
            self._refresher = asyncio.create_task(self._refresh_loop(), name="hub-fanout-refresh")
        return self.channel

    async def join(self, group: str, listener: Listener) -> None:
        # Subscriptions are serialised: concurrent first subscriptions to one group raced in
        # redis-py's PubSub and delivered the first message twice (STACK-NOTES "Traps").
        async with self._lock:
            channel = await self._ensure_started()
            members = self.groups.get(group)
            if members is None:
                members = self.groups[group] = set()
                self._received.pop(group, None)
                await self.layer.group_add(group, channel)
            members.add(listener)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self._lock:
            members = self.groups.get(group)
            if members is None:
                return
            members.discard(listener)
            if not members:
                del self.groups[group]
                self._received.pop(group, None)
                self._recent.pop(group, None)
                try:
                    await self.layer.group_discard(group, await self._ensure_started())
                except Exception:  # the layer being down must not break a disconnect
                    logger.warning("group_discard(%s) failed", group, exc_info=True)

    async def _read_loop(self) -> None:
        """Take each layer message as soon as it arrives and leave it for `_fanout_loop`. While the
        fan-out hands one batch to the sockets, the loop runs nothing else, so the messages of other
        publishers (another process's senders) pile up in the layer; this task takes all of them at
        the next turn, and the fan-out then sends each socket ONE frame for all of them instead of
        one per layer message (docs/benchmarks.md, "Two processes")."""
        channel = self.channel
        assert channel is not None  # started by _ensure_started
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.LAYER_ERRORS.labels("receive").inc()
                logger.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            self._inbox.append(message)
            self._arrived.set()

    async def _fanout_loop(self) -> None:
        """Hand what arrived to the sockets, one fan-out at a time. A socket write (a system call
        and the server's framing) costs ~10 µs and an event more in a `batch` frame ~1–2 µs
        (bench/receiver_cpu.py), so under a stream of events the CPU per delivery is set by how many
        events each write carries. When the loop is behind — BEHIND_AFTER_FANOUTS fan-outs in a row
        found events that had waited for the previous one — the next fan-out starts no sooner than
        HUB_FANOUT_COALESCE × the last one's length (at least COALESCE_MIN_SECONDS) after it
        ended: the fan-out then takes at most about 1 / (1 + HUB_FANOUT_COALESCE) of the loop, the
        rest (reading senders' frames, persisting, publishing) gets the remainder, and what arrives
        in between goes to each socket together. While the loop keeps up nothing waits: the pause
        is paid only where events were queueing anyway (issue 27, targets 6 and 7;
        docs/benchmarks.md, "Coalescing when behind")."""
        loop = asyncio.get_running_loop()
        handed = 0  # frames handed to sockets since the loop last ran other work
        next_at = 0.0  # when the next fan-out may begin
        ended_wall = 0.0  # when the last fan-out ended (wall clock, as events' `published_at`)
        behind = 0  # consecutive fan-outs that found an event published before the previous ended
        while True:
            await self._next_arrival(loop)
            pause = next_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            self._arrived.clear()
            started = loop.time()
            messages = list(self._inbox)
            self._inbox.clear()
            if self._hold(messages, started):
                continue
            behind = behind + 1 if _waited(messages, ended_wall) else 0
            if self._held:
                messages = self._held + messages  # they arrived first
                self._held = []
            for group, events in self._runs(messages):
                if len(events) == 1:
                    handed += await self._deliver(group, events[0])
                else:
                    handed = await self._deliver_batch(group, events, handed)
                if handed >= settings.HUB_FANOUT_YIELD_EVERY:
                    handed = 0
                    await asyncio.sleep(0)
            ended = loop.time()
            ended_wall = time.time()
            took = ended - started
            # A small fan-out (a few sockets) costs little per event either way: never wait after it.
            coalesce = behind >= BEHIND_AFTER_FANOUTS and took >= COALESCE_AFTER_SECONDS
            next_at = ended + settings.HUB_FANOUT_COALESCE * max(took, COALESCE_MIN_SECONDS) if coalesce else 0.0
            if self._inbox:
                self._arrived.set()  # arrived during this fan-out: the next one, after any pause

    async def _next_arrival(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until something arrives, or until the state frames held (`_hold`) may wait no longer."""
        if not self._held:
            await self._arrived.wait()
            return
        timeout = self._held_until - loop.time()
        if timeout > 0 and not self._arrived.is_set():
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                pass

    def _hold(self, messages: list[dict[str, Any]], now: float) -> bool:
        """Keep these layer messages back if they carry only state frames (a message's reactions) and
        the first of those held may still wait (HUB_STATE_FRAME_WAIT_SECONDS): they then go to each
        socket in the same write as the next event, and of several of one state only the newest
        (`_runs`). A 👍 toggled on every third message of a busy topic cost a fan-out of its own
        (issue 26). Anything else arriving ends the wait, and the held frames go first."""
        wait = settings.HUB_STATE_FRAME_WAIT_SECONDS
        if wait <= 0 or not all(_state_only(message) for message in messages):
            return False
        if not self._held:
            if not messages:
                return False
            self._held_until = now + wait
        elif now >= self._held_until:
            return False
        self._held.extend(messages)
        return True

    def _runs(self, messages: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
        """The events of layer messages that arrived together, in arrival order, consecutive ones of
        one group joined (at most MAX_MERGED events each); sequence numbers noted per event. Of the
        state frames of one group and state (a message's reactions) only the newest is kept: each
        carries the whole state, so the older ones would only be overwritten."""
        runs: list[tuple[str, list[dict[str, Any]]]] = []
        newest = _newest_states(messages)
        for message in messages:
            events = _events(message)
            if events is None:
                continue
            group: str = message.get("group") or ""
            listeners = self.groups.get(group)
            metrics.observe_received(events, len(listeners) if listeners else 0)
            if listeners is None:
                continue  # no socket of this process listens (any more)
            for one in events:
                self._note_sequence(group, one.get("publisher"), one.get("seq"), one.get("cursor"))
            events = [one for one in events if self._first_time(group, one)
                      and (not newest or newest.get((group, one.get("state"))) in (None, id(one)))]
            if not events:
                continue
            if runs and runs[-1][0] == group and len(runs[-1][1]) + len(events) <= MAX_MERGED:
                runs[-1][1].extend(events)
            else:
                runs.append((group, list(events)))
        return runs

    async def _deliver(self, group: str, message: dict[str, Any]) -> int:
        """Hand one event to every local socket of the group; how many there were."""
        listeners = self.groups.get(group)
        if not listeners:
            return 0
        delivery = Delivery(message)
        for listener in list(listeners):
            try:
                await listener.deliver(delivery)
            except Exception:
                logger.exception("delivery to a local socket failed")
        return len(listeners)

    async def _deliver_batch(self, group: str, events: list[dict[str, Any]], handed: int) -> int:
        """Hand several events to every local socket of the group, socket by socket (each gets them
        in order; a socket that takes batches gets them as one frame). The loop runs other work
        every HUB_FANOUT_YIELD_EVERY frames, as in `_read_loop`; returns the frames handed since."""
        listeners = self.groups.get(group)
        if not listeners:
            return handed
        batch = Batch([Delivery(one) for one in events])
        yield_every = settings.HUB_FANOUT_YIELD_EVERY  # read once: a settings look-up is ~1 µs
        for listener in list(listeners):
            try:
                if listener.batches:
                    await listener.deliver_batch(batch)
                else:
                    for delivery in batch.deliveries:
                        await listener.deliver(delivery)
            except Exception:
                logger.exception("delivery to a local socket failed")
            handed += len(events)
            if handed >= yield_every:
                handed = 0
                await asyncio.sleep(0)
        return handed

    def _first_time(self, group: str, one: dict[str, Any]) -> bool:
        """Whether this event was not handed to the group's sockets yet (a redelivered publication
        was: dropped here, once for every socket of the group)."""
        event_id = one.get("event_id")
        if not event_id:
            return True
        recent = self._recent.get(group)
        if recent is None:
            recent = self._recent[group] = OrderedDict()
        elif event_id in recent:
            return False
        recent[event_id] = None
        if len(recent) > RECENT_PER_GROUP:
            recent.popitem(last=False)
        return True

    def _note_sequence(self, group: str, publisher: Any, seq: Any, cursor: Any) -> None:
        if not isinstance(publisher, str) or not isinstance(seq, int):
            return  # an event from an older publisher: nothing to compare
        publishers = self._received.setdefault(group, {})
        state = publishers.get(publisher)
        if state is None:
            if len(publishers) >= 64:  # publishers come and go (restarts): keep the newest
                publishers.pop(next(iter(publishers)))
            publishers[publisher] = _Sequence(seq, cursor)  # the first one seen is the baseline
            return
        if seq > state.last + 1:
            gap = set(range(state.last + 1, seq)) if seq - state.last <= 10_000 else {seq - 1}
            state.missing |= gap
            task = asyncio.create_task(self._check_gap(group, state, gap, state.cursor))
            self._gap_checks.add(task)
            task.add_done_callback(self._gap_checks.discard)
        else:
            state.missing.discard(seq)
        if not state.missing and isinstance(cursor, int):
            state.cursor = cursor
        state.last = max(state.last, seq)

    async def _check_gap(self, group: str, state: _Sequence, gap: set[int], after: int | None) -> None:
        await asyncio.sleep(GAP_GRACE_SECONDS)
        lost = gap & state.missing
        if not lost:
            return  # they arrived, only out of order
        state.missing -= lost
        metrics.LOST_EVENTS.inc(len(lost))
        logger.warning("the channel layer skipped %s event(s) of group %s", len(lost), group)
        if group.startswith(RESYNC_GROUP_PREFIXES):
            metrics.RESYNCS.inc()
            await self._deliver(group, event(group, resync_frame(after), event_id=uuid.uuid4().hex))

    async def _refresh_loop(self) -> None:
        channel = self.channel
        assert channel is not None  # started by _ensure_started
        while True:
            await asyncio.sleep(refresh_seconds())
            for group in list(self.groups):
                try:
                    await self.layer.group_add(group, channel)
                except Exception:
                    logger.warning("refreshing group %s failed", group, exc_info=True)


# The fan-out of the running event loop (one per server process; tests get one per loop).
local_fanout = per_loop(lambda loop: LocalFanout())

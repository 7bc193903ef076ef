"""The client side of the fault tests: real HTTP and `websockets` clients that count what they get.

A `TopicClient` is one WebSocket on `/ws/topics/<slug>/` that records every message id it receives,
in order, split into what arrived live and what arrived as the answer to a `sync`, so a test can say
exactly how many messages were delivered live, recovered by catch-up, lost or duplicated. The ground
truth is always the database: a message exists when the hub stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websockets

# Frames the server sends on its own; they are never counted.
BACKGROUND = {"presence", "typing", "read", "receipt"}
# Posting limits high enough for a load scenario (the default 5/s, burst 20 would refuse most sends).
LOAD_ENV = {"HUB_RATE_LIMIT_PER_SECOND": "10000", "HUB_RATE_LIMIT_BURST": "10000",
            "HUB_WRITE_LIMIT_PER_SECOND": "10000", "HUB_WRITE_LIMIT_BURST": "10000"}


def http(method: str, url: str, token: str | None = None, body: dict | None = None,
         timeout: float = 10) -> tuple[int, Any]:
    """One request → (status, decoded JSON or text). A refused/dropped connection is status 0."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read().decode()
    except (OSError, urllib.error.URLError) as exc:  # connection refused / reset / timed out
        return 0, repr(exc)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


async def ahttp(method: str, url: str, token: str | None = None, body: dict | None = None,
                timeout: float = 10) -> tuple[int, Any]:
    return await asyncio.to_thread(http, method, url, token, body, timeout)


def wait_for_health(http_base: str, wanted: int, timeout: float = 30) -> tuple[float, Any]:
    """Poll /healthz until it answers `wanted`; return (seconds it took, last body)."""
    start = time.monotonic()
    status, body = http("GET", http_base + "/healthz", timeout=3)
    while status != wanted and time.monotonic() - start < timeout:
        time.sleep(0.2)
        status, body = http("GET", http_base + "/healthz", timeout=3)
    assert status == wanted, f"/healthz stayed {status} {body} for {timeout}s (wanted {wanted})"
    return time.monotonic() - start, body


async def post_message(http_base: str, token: str, slug: str, body: str, client_id: str) -> tuple[int, Any]:
    return await ahttp("POST", f"{http_base}/api/v1/topics/{slug}/messages", token,
                       {"body": body, "client_id": client_id})


async def post_until_stored(http_base: str, token: str, slug: str, body: str, client_id: str,
                            attempts: int = 5) -> tuple[int, Any]:
    """Post like a client with an outbox: a 503 (the shared PostgreSQL may briefly refuse
    connections when other test runs load it) is retried with the same client_id, a few times."""
    for attempt in range(attempts):
        status, answer = await post_message(http_base, token, slug, body, client_id)
        if status != 503:
            break
        await asyncio.sleep(0.5 * (attempt + 1))
    return status, answer


@dataclass
class TopicClient:
    """One live socket on a topic (reconnectable to another server), counting message ids."""

    name: str
    token: str
    slug: str
    http_base: str = ""
    ws_base: str = ""
    # ids of `message` frames outside a sync, and of those inside one that cannot be its answer
    live: list[int] = field(default_factory=list)
    synced: list[int] = field(default_factory=list)  # ids delivered as the answer to a sync
    own: dict[str, int] = field(default_factory=dict)  # client_id → id of this socket's acknowledged sends
    live_at: dict[str, float] = field(default_factory=dict)  # client_id → monotonic time it arrived live
    errors: list[dict] = field(default_factory=list)
    resyncs: list[dict] = field(default_factory=list)  # every `resync` frame, asked for or not
    unsolicited_resyncs: int = 0  # `resync` frames that did not answer a sync of ours
    close_codes: list[int | None] = field(default_factory=list)
    connections: int = 0
    # What a real client does with a `resync` it did not ask for (the hub noticed that this socket
    # missed live events) or with a message whose `prev_id` it never received: catch up.
    auto_catch_up: bool = False
    socket: Any = None
    _background: set = field(default_factory=set)
    _reader: asyncio.Task | None = None
    _sync_answer: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _in_sync: bool = False
    _window: list[int] = field(default_factory=list)  # message ids received while a sync was open
    _lost: asyncio.Event = field(default_factory=asyncio.Event)

    # --- connection -------------------------------------------------------------------------------
    async def connect(self, http_base: str, ws_base: str, *, read: bool = True) -> None:
        self.http_base, self.ws_base = http_base, ws_base
        status, answer = await ahttp("POST", http_base + "/api/v1/ws-tickets", self.token)
        assert status == 201, f"{self.name}: no ticket ({status} {answer})"
        self.socket = await websockets.connect(
            f"{ws_base}/ws/topics/{self.slug}/?ticket={answer['ticket']}", open_timeout=10, max_size=2**22,
        )
        self.connections += 1
        self._sync_answer = asyncio.Queue()
        self._lost = asyncio.Event()
        self._in_sync = False
        self._window.clear()
        if read:
            self._reader = asyncio.create_task(self._read(self.socket), name=f"reader-{self.name}")

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 5)
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)

    @property
    def catching_up(self) -> bool:
        """A catch-up this client started on its own (after a `prev_id` hole or a `resync`) is running."""
        return bool(self._background) or self._in_sync

    @property
    def is_lost(self) -> bool:
        return self._lost.is_set()

    async def wait_lost(self, timeout: float) -> None:
        await asyncio.wait_for(self._lost.wait(), timeout)

    async def _read(self, socket) -> None:
        try:
            async for raw in socket:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    message = frame["message"]
                    prev_id, last = message.get("prev_id"), self.last_seen
                    # A real client's other cue: a live message whose predecessor in the topic was never
                    # received (stored, but its publisher died) — catch up from the last id seen.
                    hole = (not self._in_sync and isinstance(prev_id, int) and 0 < last < prev_id
                            and prev_id not in self.seen())
                    (self.synced if self._in_sync else self.live).append(message["id"])
                    if self._in_sync:
                        self._window.append(message["id"])
                    if hole and self.auto_catch_up:
                        task = asyncio.create_task(self.catch_up(last))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                    if not self._in_sync and message.get("client_id"):
                        self.live_at.setdefault(message["client_id"], time.monotonic())
                    if message.get("client_id") and message["author"]["username"] == self.name:
                        self.own[message["client_id"]] = message["id"]
                elif kind == "resync" and frame.get("reason") == "missed_events":
                    # Not an answer: the hub noticed that this socket missed live events, and says
                    # from where to sync (or, without `after`, from the last id seen).
                    self.resyncs.append(frame)
                    self.unsolicited_resyncs += 1
                    if self.auto_catch_up:
                        task = asyncio.create_task(self.catch_up(frame.get("after")))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                elif kind in {"sync.done", "resync"}:
                    if kind == "resync":
                        self.resyncs.append(frame)
                    if self._in_sync:
                        self._sort_window(frame["latest"] if kind == "sync.done" else frame["after"])
                        await self._sync_answer.put(frame)
                elif kind == "error":
                    self.errors.append(frame)
                    if self._in_sync:
                        self._window.clear()  # no answer to sort them against: they stay "synced"
                        await self._sync_answer.put(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_codes.append(socket.close_code)
            self._lost.set()

    def _sort_window(self, answer_last: int) -> None:
        """Which frames of a closed sync window were live broadcasts. On the wire they look alike,
        but an answer holds each id once and none beyond its last (`sync.done.latest`, `resync.after`):
        an id past that, or a second copy of one, was broadcast live while the sync ran."""
        copies = Counter(self._window)
        self.live += [i for i in dict.fromkeys(self._window) if i > answer_last or copies[i] > 1]
        self._window.clear()

    # --- frames -------------------------------------------------------------------------------------
    async def send(self, body: str, client_id: str) -> None:
        await self.socket.send(json.dumps({"type": "message.send", "body": body, "client_id": client_id}))

    async def sync(self, after: int, timeout: float = 30) -> dict:
        """One `sync` round: returns the closing frame (`sync.done`, `resync` or an `error`)."""
        self._in_sync = True
        try:
            await self.socket.send(json.dumps({"type": "sync", "after": after}))
            return await asyncio.wait_for(self._sync_answer.get(), timeout)
        finally:
            self._in_sync = False

    async def catch_up(self, after: int | None = None, max_rounds: int = 50) -> int:
        """Sync until `sync.done`, following `resync` answers; returns the number of rounds."""
        while self._in_sync:  # one sync at a time on a socket
            await asyncio.sleep(0.05)
        after = self.last_seen if after is None else after
        for rounds in range(1, max_rounds + 1):
            answer = await self.sync(after)
            if answer["type"] == "sync.done":
                return rounds
            assert answer["type"] == "resync", f"{self.name}: sync answered {answer}"
            after = answer["after"]
        raise AssertionError(f"{self.name}: no sync.done after {max_rounds} rounds")

    # --- counting -----------------------------------------------------------------------------------
    @property
    def last_seen(self) -> int:
        return max(self.live + self.synced, default=0)

    def seen(self) -> set[int]:
        return set(self.live) | set(self.synced)

    def live_duplicates(self) -> int:
        """Ids the live stream delivered more than once (overlap with a sync answer is not counted:
        a sync after a reconnect may legitimately repeat what arrived live in between)."""
        return sum(n - 1 for n in Counter(self.live).values() if n > 1)


async def wait_until(predicate, timeout: float) -> bool:
    """Poll `predicate` until it holds or `timeout` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return predicate()


def report(name: str, **numbers: Any) -> None:
    """One line per scenario for docs/reliability.md (shown with `pytest -s` or on failure)."""
    print(f"\n[reliability] {name}: " + ", ".join(f"{k}={v}" for k, v in numbers.items()), flush=True)


def stored_ids(slug: str) -> dict[str, int]:
    """client_id → id of every message the database holds for the topic (sync code only)."""
    from chat.models import Message

    return {client_id: pk for client_id, pk in Message.objects.filter(topic__slug=slug).values_list("client_id", "id")
            if client_id is not None}


def stored_count(slug: str) -> int:
    from chat.models import Message

    return Message.objects.filter(topic__slug=slug).count()

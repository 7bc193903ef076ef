"""The base every hub WebSocket consumer stands on: parsing, limits, error frames, fan-out.

Subclasses implement `handle_<type>` coroutines (dots in frame types become underscores, so
`message.send` → `handle_message_send`). Everything a client can get wrong is answered here with the
contract's `error` frame and the connection stays open; a client that keeps getting it wrong is
closed with 4429 (an application code: daphne/autobahn refuse to send 1008 from a server
and would turn it into a 1011 crash).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from asgiref.typing import WebSocketConnectEvent, WebSocketDisconnectEvent
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.urls import URLPattern, re_path
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hub import i18n, metrics
from hub.errors import INVALID, RATE_LIMITED, TOO_LARGE, UNAVAILABLE, HubError
from hub.lib import ratelimit
from hub.lib.api_support import DATABASE_UNAVAILABLE
from hub.lib.asgi import Receive, Scope, Send
from hub.lib.jsonutil import dumps
from hub.lib.ratelimit import TokenBucket
from hub.models import access_of
from hub.realtime import identity
from hub.realtime.frames import AccessChangedFrame, ErrorFrame
from hub.realtime.groups import control_group, is_control_group
from hub.realtime.loops import per_loop
from hub.realtime.receiver import Batch, Delivery, local_fanout
from hub.realtime.workers import in_worker_thread
from hub.server import shutdown
from hub.server.admission import HANDSHAKE_DONE
from hub.services import SESSION_ENDED, TOKEN_REVOKED, session_digest

if TYPE_CHECKING:
    from datetime import datetime

    from hub.models import User

logger = logging.getLogger(__name__)

CLOSE_ABUSE = 4429  # "too many bad frames"; see the module docstring for why not 1008
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


ACCESS_CHANGED_FRAME: AccessChangedFrame = {"type": "access.changed"}

# Deliveries a socket holds back while it re-reads who its person is (at most; then it reconnects).
MAX_HELD = 5000


def _stale(consumers: list[HubConsumer]) -> list[HubConsumer]:
    """The periodic re-check's reads for a whole process (sync, in a worker thread): the sockets whose
    person changed (any of IDENTITY_FIELDS, or gone), whose API token was revoked, or whose session
    ended, expired or no longer matches the password — three queries however many sockets. Those
    then re-read their person and decide again, as on a control event; this catches what no event
    announced (a raw SQL write, an event the layer lost)."""
    now = identity.identities(c.user.id for c in consumers)
    tokens = identity.live_tokens(c.token_id for c in consumers if c.token_id is not None)
    keys = [c.session_key for c in consumers if c.session_key]
    sessions = identity.live_sessions(keys) if keys else {}
    stale = []
    for consumer in consumers:
        if now.get(consumer.user.id) != consumer.identity_seen or (
                consumer.token_id is not None and consumer.token_id not in tokens):
            stale.append(consumer)
        elif consumer.session_key:
            if sessions is None:  # a session engine without a table: one load each
                state = identity.session_state(consumer.session_key)
                data = state[0] if state else None
            else:
                data = sessions.get(consumer.session_key)
            if not data or not identity.session_matches(data, consumer.user):
                stale.append(consumer)
    return stale


class _Revalidator:
    """The periodic re-check of every socket of one process, batched.

    One task and two queries per interval for the whole process, instead of a task and a database
    round trip per socket: with a thousand sockets the per-socket version kept the database thread
    busy full-time and delayed every message behind it (measured by `make bench`).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.consumers: set[HubConsumer] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, consumer: HubConsumer) -> None:
        self.consumers.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._loop(), name="hub-ws-revalidate")

    def discard(self, consumer: HubConsumer) -> None:
        self.consumers.discard(consumer)

    async def _loop(self) -> None:
        while self.consumers:
            await asyncio.sleep(settings.HUB_WS_REVALIDATE_SECONDS)
            try:
                await self.check_all()
            except Exception:
                logger.warning("periodic re-check failed; will retry", exc_info=True)

    async def close_all(self) -> None:
        """SIGTERM (hub.server.shutdown): tell every socket of this loop to reconnect elsewhere."""
        if asyncio.get_running_loop() is not self.loop:
            return
        for consumer in list(self.consumers):
            await consumer.close(code=shutdown.CLOSE_SERVICE_RESTART)

    async def check_all(self) -> None:
        consumers = [c for c in self.consumers if not c.closed]
        if not consumers:
            return
        stale = set(await in_worker_thread(_stale)(consumers))
        by_class: dict[type[HubConsumer], list[HubConsumer]] = {}
        for consumer in consumers:
            if consumer in stale:
                consumer.reauthorise_soon()
            else:
                by_class.setdefault(type(consumer), []).append(consumer)
        for cls, group in by_class.items():
            for consumer in await cls.recheck_access(group):
                await consumer.close(code=CLOSE_FORBIDDEN)


def _new_revalidator(loop: asyncio.AbstractEventLoop) -> _Revalidator:
    revalidator = _Revalidator(loop)
    shutdown.on_shutdown(revalidator.close_all)  # it knows every socket of its loop
    return revalidator


_revalidator = per_loop(_new_revalidator)


def _query(scope: Mapping[str, Any], name: str) -> str:
    """The last value of `name` in the WebSocket URL's query ('' when absent)."""
    values: list[str] = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name, [""])
    return values[-1]


def wants_batches(scope: Mapping[str, Any]) -> bool:
    """`?batch=1` on the WebSocket URL: the client unpacks `batch` frames (docs/chat.md)."""
    return _query(scope, "batch") in ("1", "true")


class HubConsumer(AsyncWebsocketConsumer):
    # Frame types that cost a token from this socket's own bucket (a flood of reads still costs).
    rate_limited_types: frozenset[str] = frozenset({"message.send", "typing"})
    # Frame types that write nothing. Every other frame type — including one added tomorrow — costs
    # its person a `write` token (hub/lib/ratelimit.py, shared by all their sockets and requests).
    unlimited_types: frozenset[str] = frozenset({"ping"})
    # Named buckets a frame type costs besides (charged in the same Redis call as `write`).
    frame_buckets: dict[str, tuple[str, ...]] = {}
    # The `kind` label of this class's sockets in /metrics (hub_ws_open_sockets).
    metrics_kind = "socket"
    # Who is connected: hub.realtime.ws_auth.WsGate puts a User in the scope, or refuses the socket.
    user: User
    # The server's own send, taken by the gate (hub/realtime/ws_auth.py): plain ASGI messages.
    base_send: Send  # type: ignore[assignment]  # Channels' stubs want asgiref's per-event TypedDicts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        """Channels' `AsyncConsumer.__call__` without a channel-layer channel and without
        `await_many_dispatch` (docs/departures.md, 5). Events reach sockets through the process
        fan-out (hub.realtime.receiver: one subscription per group per process), so a socket's own
        layer channel, with a `receive` pending on it for the socket's whole life, would only cost
        the connect path and Redis; and with only the client to listen to, Channels' helper still
        kept a task pending on it (with `asyncio.wait`'s future and callbacks) and made a new task
        for every frame — memory of every idle socket and CPU per frame (docs/benchmarks.md,
        "Memory per idle connection"). The client's messages are awaited here, in the socket's own
        task, one after the other, as that helper dispatched them."""
        self.scope = scope  # type: ignore[assignment]  # Channels' stubs want asgiref's WebSocketScope
        self.channel_layer = None  # type: ignore[assignment]  # no layer channel (see above)
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass  # websocket_disconnect ends the consumer, as in Channels

    async def websocket_connect(self, message: WebSocketConnectEvent) -> None:
        self.user = cast("User", self.scope["user"])
        # The API token behind a `?ticket=` handshake (None for a session): revoking it cuts us off.
        self.token_id: int | None = getattr(self.user, "ws_token_id", None)
        # The session behind a cookie handshake, or behind the ticket a session fetched: the socket
        # lives no longer than it (issue 20, class 2; review of 7 December, finding 5).
        # (ws_auth.WsGate put both in the scope: a str and a datetime or None.)
        self.session_key: str | None = cast("str | None", self.scope.get("session_key"))
        self.session_tag = session_digest(self.session_key) if self.session_key else None
        self.session_expires = cast("datetime | None", self.scope.get("session_expires"))
        # What the person's authorisation was decided from; the periodic re-check compares it.
        self.identity_seen = self.user.identity()
        self._held: list[Delivery] | None = None  # deliveries waiting while the person is re-read…
        self._holders = 0  # … or a topic's `sync` is read and answered (`hold_deliveries`): how many hold
        self._held_overflow = False
        self._reauth: asyncio.Task[None] | None = None
        self._reauth_again = False
        self._rereading = False  # `_reauth` is reading the person, holding deliveries
        self._expiry: asyncio.TimerHandle | None = None
        self.groups_joined: set[str] = set()
        self.strikes = 0
        self.closed = False
        self.bucket = TokenBucket(settings.HUB_RATE_LIMIT_PER_SECOND, settings.HUB_RATE_LIMIT_BURST)
        # The ids of the latest events delivered (at most 256), kept only by a socket in two groups
        # that carry events (`join`: a notifications socket hears an event published to its centre
        # and to its own user through both). A socket in one such group (every topic socket) cannot
        # hear an event twice: a publication that arrives twice (a redelivery,
        # tests/chat/test_batch_frames.py) is dropped once per process by the fan-out
        # (hub.realtime.receiver.LocalFanout), not once per socket — 256 ids were up to ~20 KiB of
        # every busy socket, and an idle one fills them with presence frames (docs/benchmarks.md,
        # "Memory per idle connection").
        self.recent_events: OrderedDict[str, None] | None = None
        self.batches = wants_batches(self.scope)
        self.language = i18n.socket_language(self.scope, self.user)
        self._counted = False
        try:
            await super().websocket_connect(message)
            if not self.closed:
                self._counted = True
                metrics.WS_OPEN.labels(self.metrics_kind).inc()
                metrics.WS_CONNECTS.labels(self.metrics_kind).inc()
                await self.join(control_group(self.user.id))
                _revalidator().add(self)
                self._schedule_expiry()
                shown = _query(self.scope, "access")
                if shown and shown != identity.access_digest(self.user):
                    # The page was rendered with other rights (changed before this socket opened, or
                    # while the page was disconnected): what it shows is stale.
                    await self.send_json(ACCESS_CHANGED_FRAME)
        finally:
            handshake_done: Callable[[], None] | None = cast(Mapping[str, Any], self.scope).get(HANDSHAKE_DONE)
            if handshake_done is not None:
                handshake_done()  # the next waiting handshake may start (hub.server.admission)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, less its `aclose_old_connections()` before every handler: that is a
        hop to Channels' one shared sync thread and back for each frame, to tidy database
        connections that these consumers never use on that thread. Their database work runs in
        `hub.realtime.workers` threads, which tidy connections around every call themselves."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        await super().close(code=code, reason=reason)

    # --- staying authorised (issue 20, classes 1 and 2) ---------------------------------------------
    # Every delivery is decided from the person's *current* role, centre, active flag and credentials.
    # A control event (hub/services.py) or the periodic re-check (`_stale`) makes the socket re-read
    # its person (`reauthorise_soon`); meanwhile it holds back what arrives, and afterwards lets
    # through only what the person as they are now may receive. Then `adopt` (per socket kind) joins
    # and leaves groups, or refuses (4403); credentials gone close it (4401). A socket that stays open
    # while what the person may see changed (their centre, role, hub admin flag) first tells its client
    # with `access.changed`: what the page already shows was chosen with the old rights.

    async def still_allowed(self) -> bool:
        """Whether the user may still use this socket's resource (a restricted topic, say).
        Subclasses override; checked periodically and whenever they choose (e.g. on each send)."""
        return True

    @classmethod
    async def recheck_access(cls, consumers: list[HubConsumer]) -> list[HubConsumer]:
        """The periodic re-check for many sockets of this class at once: those that lost access.
        Subclasses whose `still_allowed` costs a database round trip override it with one batch."""
        return [consumer for consumer in consumers if not await consumer.still_allowed()]

    async def adopt(self, user: Any) -> bool:
        """Take `user` (the person as stored now) as this socket's person: join the groups they may
        now receive and leave the others; False when they may no longer use this socket at all
        (closed with 4403). Subclasses extend; this base keeps the control group."""
        return True

    def reauthorise_soon(self) -> None:
        """Re-read the person in the background (the fan-out that called must not wait for the
        database); deliveries arriving meanwhile are held, then filtered with the new person."""
        if self.closed:
            return
        if self._rereading:
            self._reauth_again = True  # a second change while the first is read: read once more
            return
        self._rereading = True
        self.hold_deliveries()  # released by the re-read (`_reauthorise`)
        self._reauth = asyncio.get_running_loop().create_task(self._reauthorise(), name="hub-ws-reauthorise")

    async def _reauthorise(self) -> None:
        seen = access_of(self.identity_seen)
        try:
            while True:
                self._reauth_again = False
                if not await self.reauthorise():
                    return
                if not self._reauth_again:
                    break
            if access_of(self.identity_seen) != seen:
                # Before the held deliveries (still held until this is sent), once however many
                # re-reads it took.
                await self.send_json(ACCESS_CHANGED_FRAME)
        except Exception:
            # Cannot tell who the person is now (the database failed): fail closed, and let the client
            # reconnect, which authenticates afresh.
            logger.warning("could not re-read the person of a socket; closing it", exc_info=True)
            await self.close(code=shutdown.CLOSE_SERVICE_RESTART)
            return
        finally:
            self._rereading = False  # a change from here on is read by a new re-read
            held = self._unhold()
        await self._release(held)

    async def reauthorise(self) -> bool:
        """Re-read the person and their credentials now; close (4401/4403) and return False if they
        no longer hold, else adopt the person as stored now."""
        standing = await in_worker_thread(identity.current_standing)(
            self.user.id, token_id=self.token_id, session_key=self.session_key)
        if self.closed:
            return False
        if standing is None:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return False
        if not await self.adopt(standing.user):
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        self.user = standing.user
        self.identity_seen = standing.user.identity()
        self.session_expires = standing.session_expires
        self._schedule_expiry()
        return True

    def _schedule_expiry(self) -> None:
        """A session socket re-checks its session when the session is due to expire (and closes 4401
        unless it was extended meanwhile)."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.session_key is None or self.session_expires is None or self.closed:
            return
        delay = max(0.0, (self.session_expires - timezone.now()).total_seconds()) + 0.05
        self._expiry = asyncio.get_running_loop().call_later(delay, self.reauthorise_soon)

    def hold_deliveries(self) -> None:
        """Hold what arrives for this socket until `release_deliveries` (each call with its own):
        a re-read of the person, or an answer that must not be overtaken by the live frames of a
        change committed while it was read (a topic's `sync`: chat.consumers). Holders nest; what
        was held goes out, in its order, when the last lets go, filtered by the person as they are then."""
        if self._held is None:
            self._held = []
        self._holders += 1

    async def release_deliveries(self) -> None:
        await self._release(self._unhold())

    def _unhold(self) -> list[Delivery] | None:
        """One holder lets go: what was held if it was the last, else None (the last sends it)."""
        self._holders -= 1
        if self._holders:
            return None
        held, self._held = self._held or [], None
        return held

    async def _release(self, held: list[Delivery] | None) -> None:
        if held is None:
            return
        if self._held_overflow:
            await self.close(code=shutdown.CLOSE_SERVICE_RESTART)  # too much held back: catch up anew
            return
        for delivery in held:
            if self.closed:
                return
            if self._accepts(delivery):
                await self.base_send(delivery.message)

    def _hold(self, delivery: Delivery) -> None:
        held = self._held
        assert held is not None  # called only while a re-read holds deliveries (`_held` is a list)
        if len(held) < MAX_HELD:
            held.append(delivery)
        else:
            self._held_overflow = True

    # --- fan-out ------------------------------------------------------------------------------
    async def join(self, group: str) -> None:
        await local_fanout().join(group, self)
        self.groups_joined.add(group)
        if self.recent_events is None and sum(not is_control_group(g) for g in self.groups_joined) > 1:
            self.recent_events = OrderedDict()  # and kept: an event may still be on its way through both

    async def leave(self, group: str) -> None:
        await local_fanout().leave(group, self)
        self.groups_joined.discard(group)

    async def leave_all(self) -> None:
        fanout = local_fanout()
        for group in list(self.groups_joined):
            await fanout.leave(group, self)
        self.groups_joined.clear()

    async def deliver(self, delivery: Delivery) -> None:
        """Called by the process fan-out for each event of a group this socket joined. This is the
        hub's hottest path (once per event per socket): keep it free of I/O and allocation."""
        if self.closed:
            return
        if delivery.control is not None:
            self._control(delivery.event)
        elif self._held is not None:
            self._hold(delivery)
        elif self._accepts(delivery):
            await self.base_send(delivery.message)

    async def deliver_batch(self, batch: Batch) -> None:
        """Several events that arrived together, for a socket that asked for batches (the fan-out
        hands the others each event through `deliver`): those it may see go as one `batch` frame
        (or a few, by size). Control events act in their place in the order."""
        chosen: list[int] = []
        for index, delivery in enumerate(batch.deliveries):
            if delivery.control is not None:
                await self._send_chosen(batch, chosen)
                chosen = []
                if not self.closed:
                    self._control(delivery.event)
            elif self._held is not None:
                self._hold(delivery)
            elif self._accepts(delivery):
                chosen.append(index)
        await self._send_chosen(batch, chosen)

    async def _send_chosen(self, batch: Batch, chosen: list[int]) -> None:
        if self.closed or not chosen:
            return
        for message in batch.messages(tuple(chosen)):
            await self.base_send(message)

    def _control(self, event: dict[str, Any]) -> None:
        """A control event for this socket's person (hub/services.py): re-read them, unless it is
        about another person sharing the control group (hub.realtime.groups.CONTROL_GROUPS) or
        another token or session of theirs. An event naming nobody concerns every socket that hears
        it."""
        user = event.get("user")
        if user is not None and user != self.user.id:
            return
        action = event.get("control")
        if action == TOKEN_REVOKED and event.get("token_id") != self.token_id:
            return
        if action == SESSION_ENDED and event.get("session") != self.session_tag:
            return
        self.reauthorise_soon()

    def _accepts(self, delivery: Delivery) -> bool:
        """Whether this socket gets this (non-control) event: once only, and only if its audience
        allows."""
        recent = self.recent_events
        if recent is not None:
            # A socket in several groups (its centre and its own user, say) gets each event once.
            event_id = delivery.event_id
            if event_id is not None:
                if event_id in recent:
                    return False
                recent[event_id] = None
                if len(recent) > 256:
                    recent.popitem(last=False)
        return self.may_receive(delivery)

    def may_receive(self, delivery: Delivery) -> bool:
        """Last check before a frame leaves: the event's audience (TLP, internal comments…)."""
        return delivery.audience.allows(self.user)

    async def websocket_disconnect(self, message: WebSocketDisconnectEvent) -> None:
        self.closed = True
        if getattr(self, "_counted", False):
            self._counted = False
            metrics.WS_OPEN.labels(self.metrics_kind).dec()
        _revalidator().discard(self)
        if self._expiry is not None:
            self._expiry.cancel()
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        await self.leave_all()

    # --- frames ---------------------------------------------------------------------------------
    async def send_json(self, content: Mapping[str, Any]) -> None:
        await self.send(text_data=dumps(content))

    def render(self, text: str | Promise, **params: Any) -> str:
        """`text` (a lazy translation) in this socket's language (hub.i18n.socket_language)."""
        with translation.override(self.language):
            rendered = str(text)
        return rendered % params if params else rendered

    async def send_error(self, code: str, detail: str | Promise, *, extra: Mapping[str, Any] | None = None,
                         **params: Any) -> None:
        """An `error` frame (the connection stays open); `detail` is rendered in the socket's language;
        `extra` adds fields a client acts on (a rate limit's `retry_after`). A client that keeps sending
        what is refused is closed with 4429."""
        frame: ErrorFrame = {"type": "error", "code": code, "detail": self.render(detail, **params)}
        await self.send_json({**frame, **(extra or {})})
        self.strikes += 1
        if self.strikes >= settings.HUB_ABUSE_CLOSE_AFTER:
            logger.warning("closing socket of %s after %s rejected frames", self.user, self.strikes)
            await self.close(code=CLOSE_ABUSE)

    async def send_hub_error(self, exc: HubError) -> None:
        with translation.override(self.language):
            detail = exc.render()
        await self.send_error(exc.ws_code, detail, extra=exc.extra)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self._reauth is not None and not self._reauth.done():
            # The person is being re-read (a control event): act on this frame as who they are now.
            await asyncio.shield(self._reauth)
        if self.closed:
            return
        if text_data is None:
            return await self.send_error(INVALID, _("Frames must be JSON text, not binary."))
        if len(text_data.encode("utf-8", "surrogatepass")) > settings.HUB_MAX_BODY_BYTES + 1024:
            return await self.send_error(TOO_LARGE, _("Frame exceeds %(limit)s bytes of body."),
                                         limit=settings.HUB_MAX_BODY_BYTES)
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            return await self.send_error(INVALID, _("Frame is not valid JSON."))
        if not isinstance(frame, dict):
            return await self.send_error(INVALID, _("Frame must be a JSON object."))
        frame_type = frame.get("type")
        if not isinstance(frame_type, str):
            return await self.send_error(INVALID, _("Frame needs a string `type`."))
        handler = getattr(self, "handle_" + frame_type.replace(".", "_"), None)
        if handler is None or not frame_type.replace(".", "").replace("_", "").isalnum():
            return await self.send_error(INVALID, _("Unknown frame type “%(type)s”."), type=frame_type[:40])
        metrics.WS_FRAMES.labels(frame_type).inc()
        if frame_type in self.rate_limited_types and not self.bucket.take(time.monotonic()):
            return await self.send_error(RATE_LIMITED, _("Too many frames; slow down."))
        buckets = () if frame_type in self.unlimited_types else ("write", *self.frame_buckets.get(frame_type, ()))
        try:
            with ratelimit.acting_for(self.user.id, pending=buckets):
                await handler(frame)
                if ratelimit.has_pending():  # the handler did no database work: charge now
                    await in_worker_thread(ratelimit.charge)()
        except HubError as exc:
            return await self.send_hub_error(exc)
        except DatabaseError:
            # Not the client's fault, so no strike: say so and keep the socket (a retry with the same
            # client_id is safe, even when the lost answer hid a commit).
            logger.warning("database unavailable while handling %s", frame_type, exc_info=True)
            unavailable: ErrorFrame = {"type": "error", "code": UNAVAILABLE,
                                       "detail": self.render(DATABASE_UNAVAILABLE)}
            return await self.send_json(unavailable)
        self.strikes = 0


def socket_route(pattern: str, consumer: type[HubConsumer]) -> URLPattern:
    """A WebSocket route (a regex, as Channels' URLRouter matches it) to a consumer class. Channels
    routes with Django's URL patterns, whose types expect views; what it holds is an ASGI application."""
    route: URLPattern = re_path(pattern, cast(Any, consumer.as_asgi()))
    return route

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
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.urls import URLPattern, re_path
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hub import i18n
from hub.errors import INVALID, RATE_LIMITED, TOO_LARGE, UNAVAILABLE, HubError
from hub.lib.api_support import DATABASE_UNAVAILABLE
from hub.lib.asgi import Send
from hub.lib.jsonutil import dumps
from hub.lib.ratelimit import TokenBucket
from hub.realtime.frames import ErrorFrame
from hub.realtime.groups import control_group
from hub.realtime.loops import per_loop
from hub.realtime.receiver import Batch, Delivery, local_fanout
from hub.server import shutdown
from hub.server.admission import HANDSHAKE_DONE

if TYPE_CHECKING:
    from hub.models import User

logger = logging.getLogger(__name__)

CLOSE_ABUSE = 4429  # "too many bad frames"; see the module docstring for why not 1008
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _credentials_still_valid(user_id: int, token_id: int | None) -> bool:
    from hub.models import ApiToken, User

    if not User.objects.filter(pk=user_id, is_active=True).exists():
        return False
    return token_id is None or ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists()


@database_sync_to_async
def _invalid_credentials(user_ids: set[int], token_ids: set[int]) -> tuple[set[int], set[int]]:
    """Of these users and tokens, which are no longer valid — two queries for a whole process."""
    from hub.models import ApiToken, User

    active = set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    live = set(ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).values_list("pk", flat=True))
    return user_ids - active, token_ids - live


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
        bad_users, bad_tokens = await _invalid_credentials(
            {c.user.id for c in consumers}, {c.token_id for c in consumers if c.token_id is not None}
        )
        by_class: dict[type[HubConsumer], list[HubConsumer]] = {}
        for consumer in consumers:
            if consumer.user.id in bad_users or consumer.token_id in bad_tokens:
                await consumer.close(code=CLOSE_NOT_AUTHENTICATED)
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


def wants_batches(scope: Mapping[str, Any]) -> bool:
    """`?batch=1` on the WebSocket URL: the client unpacks `batch` frames (docs/chat.md)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("batch", [""])[-1] in ("1", "true")


class HubConsumer(AsyncWebsocketConsumer):
    # No per-socket channel-layer channel: events arrive through hub.realtime.receiver instead.
    channel_layer_alias = "__hub_no_per_socket_channel__"
    # Frame types that cost a rate-limit token (reads and syncs are cheap and idempotent).
    rate_limited_types: frozenset[str] = frozenset({"message.send", "typing"})
    # Who is connected: hub.realtime.ws_auth.WsGate puts a User in the scope, or refuses the socket.
    user: User
    # The server's own send, taken by the gate (hub/realtime/ws_auth.py): plain ASGI messages.
    base_send: Send  # type: ignore[assignment]  # Channels' stubs want asgiref's per-event TypedDicts

    async def websocket_connect(self, message: WebSocketConnectEvent) -> None:
        self.user = cast("User", self.scope["user"])
        # The API token behind a `?ticket=` handshake (None for a session): revoking it cuts us off.
        self.token_id: int | None = getattr(self.user, "ws_token_id", None)
        self.groups_joined: set[str] = set()
        self.strikes = 0
        self.closed = False
        self.bucket = TokenBucket(settings.HUB_RATE_LIMIT_PER_SECOND, settings.HUB_RATE_LIMIT_BURST)
        self.recent_events: OrderedDict[str, None] = OrderedDict()
        self.batches = wants_batches(self.scope)
        self.language = i18n.socket_language(self.scope, self.user)
        try:
            await super().websocket_connect(message)
            if not self.closed:
                await self.join(control_group(self.user.id))
                _revalidator().add(self)
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

    # --- staying authorised -----------------------------------------------------------------------
    async def still_allowed(self) -> bool:
        """Whether the user may still use this socket's resource (a restricted topic, say).
        Subclasses override; checked periodically and whenever they choose (e.g. on each send)."""
        return True

    @classmethod
    async def recheck_access(cls, consumers: list[HubConsumer]) -> list[HubConsumer]:
        """The periodic re-check for many sockets of this class at once: those that lost access.
        Subclasses whose `still_allowed` costs a database round trip override it with one batch."""
        return [consumer for consumer in consumers if not await consumer.still_allowed()]

    async def revalidate(self) -> bool:
        """Re-check credentials and access now; close the socket (4401/4403) if they are gone."""
        if not await _credentials_still_valid(self.user.id, self.token_id):
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return False
        if not await self.still_allowed():
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True

    # --- fan-out ------------------------------------------------------------------------------
    async def join(self, group: str) -> None:
        await local_fanout().join(group, self)
        self.groups_joined.add(group)

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
        if delivery.event.get("control") is not None:
            await self._control(delivery.event)
        elif self._accepts(delivery):
            await self.base_send(delivery.message)

    async def deliver_batch(self, batch: Batch) -> None:
        """Several events that arrived together, for a socket that asked for batches (the fan-out
        hands the others each event through `deliver`): those it may see go as one `batch` frame
        (or a few, by size). Control events act in their place in the order."""
        chosen: list[int] = []
        for index, delivery in enumerate(batch.deliveries):
            if delivery.event.get("control") is not None:
                await self._send_chosen(batch, chosen)
                chosen = []
                if not self.closed:
                    await self._control(delivery.event)
            elif self._accepts(delivery):
                chosen.append(index)
        await self._send_chosen(batch, chosen)

    async def _send_chosen(self, batch: Batch, chosen: list[int]) -> None:
        if self.closed or not chosen:
            return
        for message in batch.messages(tuple(chosen)):
            await self.base_send(message)

    async def _control(self, event: dict[str, Any]) -> None:
        if event.get("control") == "token_revoked" and event.get("token_id") != self.token_id:
            return
        await self.revalidate()

    def _accepts(self, delivery: Delivery) -> bool:
        """Whether this socket gets this (non-control) event: once only, and only if its audience
        allows."""
        event_id = delivery.event.get("event_id")
        if event_id:
            # A socket in several groups (its centre and its own user, say) gets each event once.
            recent = self.recent_events
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
        _revalidator().discard(self)
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

    async def send_error(self, code: str, detail: str | Promise, **params: Any) -> None:
        """An `error` frame (the connection stays open); `detail` is rendered in the socket's language.
        A client that keeps sending what is refused is closed with 4429."""
        frame: ErrorFrame = {"type": "error", "code": code, "detail": self.render(detail, **params)}
        await self.send_json(frame)
        self.strikes += 1
        if self.strikes >= settings.HUB_ABUSE_CLOSE_AFTER:
            logger.warning("closing socket of %s after %s rejected frames", self.user, self.strikes)
            await self.close(code=CLOSE_ABUSE)

    async def send_hub_error(self, exc: HubError) -> None:
        with translation.override(self.language):
            detail = exc.render()
        await self.send_error(exc.ws_code, detail)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
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
        if frame_type in self.rate_limited_types and not self.bucket.take(time.monotonic()):
            return await self.send_error(RATE_LIMITED, _("Too many frames; slow down."))
        try:
            await handler(frame)
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

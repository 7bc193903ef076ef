"""`/ws/topics/{slug}/`: one topic channel (frames in docs/chat.md).

Thin by design: parse the frame, re-check the person's access, call a service, answer. The socket
joins the topic's group (through the process fan-out) before it accepts any `sync`, so a message
committed between the database read and the live stream is received live, never lost; clients
deduplicate by id.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from chat import presence
from chat.frames import (
    MessageDeletedFrame,
    MessageFrame,
    MessageUpdatedFrame,
    MessageWithdrawnFrame,
    ReadFrame,
    SyncDoneFrame,
    TypingFrame,
)
from chat.models import Topic
from chat.selectors import (
    can_view_topic,
    changed_up_to,
    get_topic,
    get_visible_message,
    latest_message_id,
    message_after,
    withdrawn_up_to,
)
from chat.serializers import author_out, message_out
from chat.services import delete_message, edit_message, mark_topic_read, post_message
from hub.errors import FORBIDDEN, INVALID, NOT_FOUND, HubError
from hub.lib.compiled_queries import CompiledQuery
from hub.lib.inputs import MAX_ID, check_year
from hub.lib.jsonutil import dumps, timestamp
from hub.models import ACCESS_FIELDS, User
from hub.realtime.consumers import HubConsumer
from hub.realtime.frames import ResyncFrame
from hub.realtime.groups import topic_group
from hub.realtime.publisher import publish
from hub.realtime.receiver import Delivery
from hub.realtime.workers import in_worker_thread
from hub.realtime.ws_auth import CLOSE_FORBIDDEN, CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_FOUND

logger = logging.getLogger(__name__)

TYPING_INTERVAL_SECONDS = float(getattr(settings, "CHAT_TYPING_INTERVAL_SECONDS", 3))


CLOSED = object()  # _call's answer when the socket was cut off


class AccessLost(Exception):
    """The user was deactivated (4401) or may no longer see the topic (4403): the socket is cut off."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _optional_int_field(frame: dict[str, Any], name: str) -> int | None:
    return None if frame.get(name) is None else _int_field(frame, name)


def _int_field(frame: dict[str, Any], name: str) -> int:
    value = frame.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise HubError(INVALID, _("`%(name)s` must be a non-negative integer."), fields=[name], name=name)
    return value


def _time_field(frame: dict[str, Any], name: str) -> datetime | None:
    value = frame.get(name)
    if value is None:
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        parsed = None
    if parsed is None:
        raise HubError(INVALID, _("`%(name)s` must be an ISO 8601 date and time."), fields=[name], name=name)
    check_year(parsed, field=name)  # year 1 less the sync's margin would leave Python's range
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_ACCESS_FIELDS = ("pk", *ACCESS_FIELDS)


def _access_fingerprint(user: User) -> tuple:
    """What a person's access to topics depends on, as `values_list(*_ACCESS_FIELDS)` returns it."""
    return tuple(getattr(user, field) for field in _ACCESS_FIELDS)


# Before each frame's action: access, plus what the person's new messages show (name, centre code).
_FRAME_FIELDS = (*_ACCESS_FIELDS, "username", "display_name", "first_name", "last_name", "centre__code")


# The per-frame re-check's two reads, compiled once (hub.lib.compiled_queries): building their SQL cost four times
# what the database took to answer them. Their rows are only compared with the previous check's.
_PERSON_NOW = CompiledQuery(lambda pk: User.objects.filter(pk=pk).values_list(*_FRAME_FIELDS)[:1])
_CHANNEL_NOW = CompiledQuery(
    lambda pk: Topic.objects.filter(pk=pk).order_by("allowed_centres__code")
    .values_list("slug", "kind", "allowed_roles", "allowed_centres__code")
)
_IS_ACTIVE = _FRAME_FIELDS.index("is_active")


class TopicConsumer(HubConsumer):
    metrics_kind = "topic"
    # Posting (send, edit) is limited per user in chat.ratelimit, shared by all their sockets and
    # HTTP. The frames below cost a token from this socket's own bucket: none of them stores a
    # message, but a flood of them would still cost database reads (sync, read) or fan-out (typing).
    # Typing indicators are additionally throttled silently to one per interval.
    rate_limited_types: frozenset[str] = frozenset({"typing", "sync", "read"})
    # Reads and typing write nothing; every other frame costs a `write` token (hub/lib/ratelimit.py),
    # and posting or editing a message a `post` token besides, in the same Redis call.
    unlimited_types: frozenset[str] = frozenset({"ping", "sync", "typing"})
    frame_buckets = {"message.send": ("post",), "message.edit": ("post",)}
    # What `_fresh_access` read last time; before the first frame nothing, so that one reloads.
    _person_seen: list[tuple] | None = None
    _channel_seen: list[tuple] | None = None

    async def connect(self) -> None:
        self.topic: Topic | None = None
        self.member: str | None = None
        self.socket_id = uuid.uuid4().hex
        self.last_typing = float("-inf")
        slug = self.scope["url_route"]["kwargs"]["slug"]

        def find() -> tuple[Topic | None, bool]:  # one trip to the database thread per handshake
            topic = get_topic(slug)
            return topic, topic is not None and can_view_topic(self.user, topic)

        topic, allowed = await in_worker_thread(find)()
        if topic is None:
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not allowed:
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.topic = topic
        await self.accept()
        await self.join(topic_group(topic.slug))
        self.member = presence.entry(self.socket_id, self.user)
        try:
            await presence.enter(topic.slug, self.member)
            presence.announce(topic.slug)  # reaches this socket too: its first frame
        except Exception:
            logger.warning("presence unavailable for %s", topic.slug, exc_info=True)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.topic is not None and self.member is not None:
            try:
                await presence.leave(self.topic.slug, self.member)
                presence.announce(self.topic.slug)
            except Exception:
                logger.warning("presence update failed on disconnect", exc_info=True)

    def may_receive(self, delivery: Delivery) -> bool:
        if delivery.origin is not None and delivery.origin == self.socket_id:  # our own typing indicator
            return False
        return super().may_receive(delivery)

    # --- helpers ----------------------------------------------------------------------------------

    def _fresh_access(self) -> User:
        """Re-check, in a DB thread, that the person may still use the topic; raise AccessLost if not.

        This runs before every frame's action, so it reads two narrow rows — what the person's and
        the channel's access depend on — with queries compiled once, and reloads a model only when
        its rows differ from those read at the previous check (reloading both in full was a third of
        a posted message's CPU, measured with py-spy). What was reloaded is kept: later audience
        checks then use the current centre and role, and new messages the current name. Topics of
        other kinds are reloaded every time: their rule reads other tables (a ticket's centres)."""
        person = _PERSON_NOW.rows(self.user.pk)
        if not person or not person[0][_IS_ACTIVE]:
            raise AccessLost(CLOSE_NOT_AUTHENTICATED)
        user: User | None = self.user
        if person != self._person_seen:
            user = User.objects.select_related("centre").filter(pk=self.user.pk).first()
            if user is None or not user.is_active:
                raise AccessLost(CLOSE_NOT_AUTHENTICATED)
        assert user is not None
        topic: Topic | None = self.joined
        channel = _CHANNEL_NOW.rows(self.joined.pk) if self.joined.kind == Topic.Kind.CHANNEL else None
        if channel is None or channel != self._channel_seen:
            topic = get_topic(self.joined.slug)
        if topic is None or not can_view_topic(user, topic):
            raise AccessLost(CLOSE_FORBIDDEN)
        self.user, self.topic = user, topic
        self._person_seen, self._channel_seen = person, channel
        return user

    @property
    def joined(self) -> Topic:
        """The topic of a socket that was let in: frames reach the handlers only then."""
        assert self.topic is not None, "a frame before the socket joined its topic"
        return self.topic

    @classmethod
    async def recheck_access(cls, consumers: list[HubConsumer]) -> list[HubConsumer]:
        """The periodic re-check of all this process' topic sockets in one database call: each
        socket's rule re-applied to its topic as stored now (a topic restricted after people joined)
        and to its person — reloaded only when what access depends on (active, role, superuser,
        centre) changed, since loading a thousand people every interval stalled delivery."""
        live = [c for c in consumers if isinstance(c, TopicConsumer) and c.topic is not None]

        def check() -> list[HubConsumer]:
            current = {row[0]: row for row in User.objects.filter(pk__in={c.user.id for c in live})
                       .values_list(*_ACCESS_FIELDS)}
            changed = {c.user.id for c in live if c.user.id in current
                       and current[c.user.id] != _access_fingerprint(c.user)}
            reloaded = User.objects.select_related("centre").in_bulk(changed) if changed else {}
            topics = {t.slug: t for t in Topic.objects.prefetch_related("allowed_centres")
                      .filter(slug__in={c.joined.slug for c in live})}
            lost: list[HubConsumer] = []
            for consumer in live:
                user = reloaded.get(consumer.user.id, consumer.user)
                topic = topics.get(consumer.joined.slug)
                if consumer.user.id not in current or topic is None or not can_view_topic(user, topic):
                    lost.append(consumer)
                else:
                    consumer.user, consumer.topic = user, topic
            return lost

        return await database_sync_to_async(check)() if live else []

    async def adopt(self, user: User) -> bool:
        """The person changed (issue 20, class 1): may they still see this topic, as it is stored now?
        If so, later audience checks (`may_receive`) and posts use them as they are now."""
        if self.topic is None:
            return True
        slug = self.topic.slug

        def check() -> Topic | None:
            topic = get_topic(slug)
            return topic if topic is not None and can_view_topic(user, topic) else None

        topic = await in_worker_thread(check)()
        if topic is None:
            return False
        self.topic = topic
        self._person_seen = self._channel_seen = None  # the next frame's access check reads afresh
        return True

    async def still_allowed(self) -> bool:
        """HubConsumer re-checks this periodically: a topic restricted after we joined, or a
        person moved to another centre or role, cuts the socket off (4403)."""
        if self.topic is None:
            return True
        try:
            await in_worker_thread(self._fresh_access)()
        except AccessLost:
            return False
        return True

    async def _call(self, fn, *args, **kwargs):
        """Run `fn` in a DB thread after re-checking access (a HubError it raises becomes an error frame)."""

        def run():
            self._fresh_access()
            return fn(*args, **kwargs)

        try:
            return await in_worker_thread(run)()
        except AccessLost as lost:
            await self.send_error(FORBIDDEN, _("You no longer have access to this topic."))
            await self.close(code=lost.code)
            return CLOSED

    # --- frames ---------------------------------------------------------------------------------
    async def handle_message_send(self, frame: dict[str, Any]) -> None:
        if "body" not in frame:
            raise HubError(INVALID, _("message.send needs a `body`."), fields=["body"])

        def send():
            message, created = post_message(self.joined, by=self.user, body=frame["body"],
                                            client_id=frame.get("client_id"), tlp=frame.get("tlp"),
                                            shared_with=frame.get("shared_with"), reply_to=frame.get("reply_to"),
                                            also_channel=frame.get("also_channel", False))
            # A new message reaches this socket through the broadcast; only a retry needs it here.
            return (None if created else message_out(message)), created

        result = await self._call(send)
        if result is CLOSED:
            return
        payload, created = result
        if not created:
            # A retry: nothing is broadcast again, but this sender still gets its message back.
            again: MessageFrame = {"type": "message", "message": payload}
            await self.send_json(again)

    async def handle_sync(self, frame: dict[str, Any]) -> None:
        after = _optional_int_field(frame, "after") or 0
        since = _time_field(frame, "changed_since")
        limit = settings.HUB_SYNC_MAX

        def read():
            # Taken before reading: a change made during the read is sent again next time, not lost.
            at = timestamp(timezone.now())
            changed = changed_up_to(self.user, self.joined, after, since, limit) if since is not None else []
            # What it may have shown and may no longer (its audience narrowed while it was away).
            withdrawn = withdrawn_up_to(self.user, self.joined, after, since, limit) if since is not None else []
            rows = message_after(self.user, self.joined, after, limit + 1)
            return (withdrawn, [message_out(m) for m in changed], [message_out(m) for m in rows[:limit]],
                    len(rows) > limit, latest_message_id(self.joined), at)

        # Live frames wait while the answer is read and sent: one of a change committed after the
        # read (a narrowing's `message.withdrawn`) must come after what the read saw, never before it.
        # They follow the answer's messages, before its closing frame, filtered by the person as now.
        self.hold_deliveries()
        try:
            result = await self._call(read)
            if result is CLOSED:
                return
            withdrawn, changed, messages, more, latest, at = result
            for message_id in withdrawn:
                gone: MessageWithdrawnFrame = {"type": "message.withdrawn", "topic": self.joined.slug,
                                               "id": message_id}
                await self.send_json(gone)
            for payload in changed:  # what changed in messages the client already had (edits, reactions, …)
                change: MessageDeletedFrame | MessageUpdatedFrame = (
                    {"type": "message.deleted", "message": payload} if payload["deleted"]
                    else {"type": "message.updated", "message": payload})
                await self.send_json(change)
            for payload in messages:
                missed: MessageFrame = {"type": "message", "message": payload}
                await self.send_json(missed)
        finally:
            await self.release_deliveries()
        if self.closed:
            return
        if more:
            # Never a silent partial catch-up: say where to continue (sync again from `after`).
            resync: ResyncFrame = {"type": "resync", "after": messages[-1]["id"], "latest": latest}
            await self.send_json(resync)
        else:
            # `at`: the `changed_since` of the next sync (a reconnect), in the hub's own clock.
            done: SyncDoneFrame = {"type": "sync.done", "latest": messages[-1]["id"] if messages else after, "at": at}
            await self.send_json(done)

    async def handle_typing(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self.last_typing < TYPING_INTERVAL_SECONDS:
            return  # throttled: at most one indicator per interval per socket
        self.last_typing = now
        out: TypingFrame = {"type": "typing", "topic": self.joined.slug, "user": author_out(self.user)}
        await publish(topic_group(self.joined.slug), dumps(out), event_id=uuid.uuid4().hex, origin=self.socket_id)

    async def handle_read(self, frame: dict[str, Any]) -> None:
        up_to = _int_field(frame, "up_to")
        try:
            marker = await self._call(lambda: mark_topic_read(self.joined, by=self.user, up_to=up_to))
        except DatabaseError:
            # A read marker is bookkeeping the client repeats with the next batch: never answered
            # with an error the page would show next to the message just sent (issue 23).
            logger.warning("read marker not stored for %s", self.joined.slug, exc_info=True)
            return
        if marker is CLOSED:
            return
        read: ReadFrame = {"type": "read", "topic": self.joined.slug, "up_to": marker}
        await self.send_json(read)

    async def handle_message_edit(self, frame: dict[str, Any]) -> None:
        message_id = _int_field(frame, "id")
        if "body" not in frame:
            raise HubError(INVALID, _("message.edit needs a `body`."), fields=["body"])

        def edit():
            message = get_visible_message(self.user, self.joined, message_id)
            if message is None:
                raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), id=message_id)
            edit_message(message, by=self.user, body=frame["body"])

        await self._call(edit)

    async def handle_message_delete(self, frame: dict[str, Any]) -> None:
        message_id = _int_field(frame, "id")

        def delete():
            message = get_visible_message(self.user, self.joined, message_id)
            if message is None:
                raise HubError(NOT_FOUND, _("No message %(id)s in this topic."), id=message_id)
            delete_message(message, by=self.user)

        await self._call(delete)

"""Every change to topics and messages: validate, store in a transaction, broadcast after commit.

The HTTP API and the WebSocket consumer call these same functions, so a message posted over HTTP is
broadcast exactly as one sent over a socket, and a client never receives a frame for data the
database does not hold (`hub.realtime.publisher.broadcast_on_commit`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from chat.frames import (
    MentionFrame,
    Mentions,
    MessageDeletedFrame,
    MessageFrame,
    MessageUpdatedFrame,
    MessageWire,
    ReadFrame,
)
from chat.models import Mention, Message, MessageRevision, ReadMarker, Topic
from chat.rendering import Rendered, render_body
from chat.selectors import can_view_topic, latest_message_id, message_visible
from chat.serializers import message_out
from chat.text import search_text
from hub.errors import CONFLICT, FORBIDDEN, INVALID, HubError
from hub.lib import ratelimit
from hub.lib.compiled_queries import CompiledQuery
from hub.lib.text import clean_text
from hub.models import Centre, Role, User
from hub.realtime.audience import Audience
from hub.realtime.groups import topic_group, user_group
from hub.realtime.publisher import broadcast_on_commit, published_in_commit_order
from hub.sharing import Tlp, clean_shared_with, clean_tlp, scope_audience

CLIENT_ID_MAX = 64
MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger is bad input, not a database error


# --- topics -------------------------------------------------------------------------------------

def create_topic(
    *, slug: str, name_vi: str, name_en: str, kind: str = Topic.Kind.CHANNEL, description: str = "",
    description_en: str = "", allowed_roles: Iterable[str] = (), allowed_centres: Iterable[Centre | str] = (),
    default_tlp: str = Tlp.GREEN,
) -> Topic:
    """Create a topic, or return the existing one with that slug unchanged (idempotent on slug)."""
    if not slug or slugify(slug) != slug:
        raise HubError(INVALID, _("slug must be lower-case letters, digits and hyphens."), fields=["slug"])
    if kind not in Topic.Kind.values:
        raise HubError(INVALID, _("kind must be one of %(kinds)s."), fields=["kind"],
                       kinds=", ".join(Topic.Kind.values))
    roles = list(dict.fromkeys(allowed_roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise HubError(INVALID, _("unknown role(s): %(roles)s."), fields=["allowed_roles"],
                       roles=", ".join(map(str, unknown)))
    codes = [c.code if isinstance(c, Centre) else c for c in allowed_centres]
    centres = list(Centre.objects.filter(code__in=codes))
    if len(centres) != len(set(codes)):
        raise HubError(INVALID, _("unknown centre code in allowed_centres."), fields=["allowed_centres"])
    existing = Topic.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        topic, created = Topic.objects.get_or_create(
            slug=slug,
            defaults={"name_vi": name_vi, "name_en": name_en, "kind": kind, "description": description,
                      "description_en": description_en, "allowed_roles": roles,
                      "default_tlp": clean_tlp(default_tlp, field="default_tlp")},
        )
        if created and centres:
            topic.allowed_centres.set(centres)
    return topic


# --- validation ---------------------------------------------------------------------------------

def validate_body(body: Any) -> str:
    """A message body: the hub's one text rule (hub/lib/text.py: a string, no lone surrogates, NUL or
    control characters, not empty, at most HUB_MAX_BODY_BYTES, else 413), kept as written."""
    clean_text(body, field="body", max_bytes=settings.HUB_MAX_BODY_BYTES)
    assert isinstance(body, str)  # clean_text refuses anything else
    return body


def validate_client_id(client_id: Any) -> str | None:
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str):
        raise HubError(INVALID, _("client_id must be a string."), fields=["client_id"])
    if len(client_id) > CLIENT_ID_MAX or "\x00" in client_id:
        raise HubError(INVALID, _("client_id must be at most %(n)s characters."), fields=["client_id"], n=CLIENT_ID_MAX)
    return client_id


def _require_access(user: User, topic: Topic) -> None:
    if not can_view_topic(user, topic):
        raise HubError(FORBIDDEN, _("You may not use this topic."))


# --- mentions -----------------------------------------------------------------------------------

def _mention_recipients(message: Message, users: list[User], centres: list[Centre]) -> set[int]:
    """Ids of the people a mention reaches: named users plus the active members of named centres,
    minus the author and anyone who may not see the topic or the message."""
    candidates = {u.id: u for u in users}
    if centres:
        for member in User.objects.select_related("centre").filter(centre__in=centres, is_active=True):
            candidates.setdefault(member.id, member)
    return {
        uid for uid, person in candidates.items()
        if uid != message.author_id and person.is_active and can_view_topic(person, message.topic)
        and message_visible(person, message)
    }


def _store_mentions(message: Message, users: list[User], centres: list[Centre]) -> None:
    Mention.objects.bulk_create(
        [Mention(message=message, user=u) for u in users] + [Mention(message=message, centre=c) for c in centres]
    )


def _mention_names(rendered: Rendered) -> Mentions:
    return {"users": [u.username for u in rendered.users], "centres": [c.code for c in rendered.centres]}


def _notify_mentions(message: Message, recipients: set[int], payload: MessageWire, direct: Iterable[int] = ()) -> None:
    if not recipients:
        return
    topic = message.topic
    frame: MentionFrame = {"type": "mention", "message": payload,
                           "topic": {"slug": topic.slug, "name_vi": topic.name_vi, "name_en": topic.name_en}}
    for uid in sorted(recipients):
        broadcast_on_commit([user_group(uid)], frame, Audience(users=frozenset({uid})))
    # The in-hub record, emailed later if still unseen (notify: the unseen rule, topic mutes).
    from notify.services import mentioned

    mentioned(message=message, recipients=recipients, direct=direct)


# --- messages -----------------------------------------------------------------------------------

# post_message's topic lock, compiled once (hub.lib.compiled_queries): building its SQL cost more CPU than the
# database took to answer it (its other read, the previous id, is `latest_message_id`).
_LOCK_TOPIC = CompiledQuery(lambda pk: Topic.objects.select_for_update().filter(pk=pk).values_list("pk")[:1])


def message_audience(*, author: User, shared_with: list[str] | None) -> Audience | None:
    """Who may read a message besides the topic's own rule: with a sharing scope, the people of the
    listed centres and the author's, whatever their role (CONTRACT, "Additions"); without one, None
    (everyone the topic allows)."""
    return scope_audience(shared_with, author.centre.code if author.centre is not None else None)


def post_message(
    topic: Topic, *, by: User, body: Any, client_id: Any = None, audience: Audience | None = None,
    tlp: Any = None, shared_with: Any = None,
) -> tuple[Message, bool]:
    """Store a message and broadcast it after commit. Returns (message, created).

    `tlp` is the topic's `default_tlp` when not given, and may only be tighter; `shared_with` (centre
    codes) narrows the readers to those centres and the author's (`message_audience`). `audience`
    is for the hub's own messages (an alert's summary carries the alert's TLP audience).
    A `client_id` the author already used returns the stored message with created=False and sends
    nothing again, so a client may retry after a dropped connection without duplicates."""
    body = validate_body(body)
    client_id = validate_client_id(client_id)
    tlp = clean_tlp(tlp, floor=topic.default_tlp)
    shared_with = clean_shared_with(shared_with)
    _require_access(by, topic)
    if audience is None:
        audience = message_audience(author=by, shared_with=shared_with)
    ratelimit.charge("post")  # the acting person's `post` bucket (hub/lib/ratelimit.py)
    # No look-up for an existing client_id first: the unique constraint answers retries below,
    # which keeps the common path (a new message) one query shorter.
    meta = audience.as_meta() if audience is not None else None
    try:
        with published_in_commit_order(("topic", topic.pk)) as before_commit, transaction.atomic():
            # Lock the topic row: ids are then committed in id order within a topic, so a client
            # that synced "after N" can never later miss a message with an id below a seen one.
            _LOCK_TOPIC.rows(topic.pk)
            prev_id = latest_message_id(topic) or None
            rendered = render_body(body)
            message = Message(topic=topic, author=by, body=body, html=rendered.html, client_id=client_id,
                              search_text=search_text(body), prev_id=prev_id, tlp=tlp, shared_with=shared_with)
            message.set_audience(meta)
            message.save()
            _store_mentions(message, rendered.users, rendered.centres)
            payload = message_out(message, _mention_names(rendered))
            frame: MessageFrame = {"type": "message", "message": payload}
            broadcast_on_commit([topic_group(topic.slug)], frame, Audience.from_meta(meta))
            _notify_mentions(message, _mention_recipients(message, rendered.users, rendered.centres), payload,
                             direct=[u.id for u in rendered.users])
            before_commit()
    except IntegrityError:
        # The same client_id raced in from another socket or process: the first one won.
        existing = _existing(by, client_id, topic) if client_id is not None else None
        if existing is None:
            raise
        return existing, False
    return message, True


def _existing(author: User, client_id: str, topic: Topic) -> Message | None:
    existing = (
        Message.objects.select_related("author", "author__centre", "topic")
        .filter(author=author, client_id=client_id).first()
    )
    if existing is not None and existing.topic_id != topic.id:
        raise HubError(CONFLICT, _("client_id was already used for a message in another topic."), fields=["client_id"])
    return existing


def _locked(pk: int) -> Message:
    """The message row locked for this transaction (not the joined author/centre rows)."""
    return Message.objects.select_for_update(of=("self",)).select_related("topic", "author", "author__centre").get(
        pk=pk
    )


def _may_change(user: User, message: Message) -> bool:
    return user.is_active and (message.author_id == user.id or user.is_hub_admin)


def edit_message(message: Message, *, by: User, body: Any) -> Message:
    """Replace a message's text, keeping the previous text as a revision; broadcast `message.updated`.
    Newly mentioned people are notified; those mentioned before are not notified twice."""
    body = validate_body(body)
    if not _may_change(by, message):
        raise HubError(FORBIDDEN, _("Only the author or a hub admin may edit this message."))
    ratelimit.charge("post")
    with transaction.atomic():
        message = _locked(message.pk)
        if message.deleted_at is not None:
            raise HubError(CONFLICT, _("A deleted message cannot be edited."))
        if body == message.body:
            return message
        old = list(message.mentions.select_related("user", "centre"))
        before = _mention_recipients(message, [m.user for m in old if m.user is not None],
                                     [m.centre for m in old if m.centre is not None])
        MessageRevision.objects.create(message=message, action=MessageRevision.Action.EDIT, body=message.body,
                                       html=message.html, changed_by=by)
        rendered = render_body(body)
        message.body, message.html, message.search_text = body, rendered.html, search_text(body)
        message.edited_at = timezone.now()
        message.save(update_fields=["body", "html", "search_text", "edited_at"])
        message.mentions.all().delete()
        _store_mentions(message, rendered.users, rendered.centres)
        payload = message_out(message, _mention_names(rendered))
        updated: MessageUpdatedFrame = {"type": "message.updated", "message": payload}
        broadcast_on_commit([topic_group(message.topic.slug)], updated, Audience.from_meta(message.audience))
        after = _mention_recipients(message, rendered.users, rendered.centres)
        _notify_mentions(message, after - before, payload, direct=[u.id for u in rendered.users])
    return message


def delete_message(message: Message, *, by: User) -> Message:
    """Soft-delete: the id stays (a tombstone) so catch-up has no gaps; the text moves to a revision."""
    if not _may_change(by, message):
        raise HubError(FORBIDDEN, _("Only the author or a hub admin may delete this message."))
    with transaction.atomic():
        message = _locked(message.pk)
        if message.deleted_at is not None:
            return message
        MessageRevision.objects.create(message=message, action=MessageRevision.Action.DELETE, body=message.body,
                                       html=message.html, changed_by=by)
        message.deleted_at = timezone.now()
        message.body, message.html, message.search_text = "", "", ""
        message.save(update_fields=["deleted_at", "body", "html", "search_text"])
        deleted: MessageDeletedFrame = {"type": "message.deleted", "message": message_out(message)}
        broadcast_on_commit([topic_group(message.topic.slug)], deleted, Audience.from_meta(message.audience))
    return message


# --- read markers -------------------------------------------------------------------------------

def mark_topic_read(topic: Topic, *, by: User, up_to: Any) -> int:
    """Move the user's read marker forward to `up_to` (never backwards, never past the newest id).
    Returns the marker; the user's other sockets hear of it through their notifications stream."""
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 <= up_to <= MAX_ID:
        raise HubError(INVALID, _("up_to must be a non-negative integer message id."), fields=["up_to"])
    _require_access(by, topic)
    up_to = min(up_to, latest_message_id(topic))
    with transaction.atomic():
        marker, _created = ReadMarker.objects.get_or_create(user=by, topic=topic)
        if up_to > marker.last_read_id:
            ReadMarker.objects.filter(pk=marker.pk, last_read_id__lt=up_to).update(last_read_id=up_to)
            from notify.services import mark_read_mentions

            mark_read_mentions(user_id=by.id, topic_id=topic.pk, up_to=up_to)
            read: ReadFrame = {"type": "read", "topic": topic.slug, "up_to": up_to}
            broadcast_on_commit([user_group(by.id)], read, Audience(users=frozenset({by.id})))
        marker.refresh_from_db(fields=["last_read_id"])
    return marker.last_read_id

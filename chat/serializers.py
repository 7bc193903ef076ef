"""The wire form of topics and messages: one function each, used by HTTP and WebSocket alike, so a
message looks the same whether it arrived live, by `sync`, from history or from search."""

from __future__ import annotations

from typing import Any

from chat.frames import AttachmentWire, Mentions, MessageWire, ReactionWire
from chat.models import Message, Topic
from hub.lib.jsonutil import optional_timestamp, timestamp
from hub.realtime.frames import Person


def author_out(user) -> Person:
    return {
        "username": user.username,
        "display_name": user.get_display_name(),
        "centre": user.centre.code if user.centre is not None else None,
    }


def _mentions(message: Message) -> Mentions:
    attached = getattr(message, "mention_names", None)  # chat.selectors.with_mention_names
    if attached is not None:
        return attached
    users: list[str] = []
    centres: list[str] = []
    for mention in message.mentions.all():
        if mention.user is not None:
            users.append(mention.user.username)
        elif mention.centre is not None:
            centres.append(mention.centre.code)
    return {"users": users, "centres": centres}


def _reactions(message: Message) -> list[ReactionWire]:
    attached = getattr(message, "reaction_list", None)  # chat.selectors.with_reactions_and_pins
    if attached is not None:
        return attached
    from chat.selectors import reactions_of

    return reactions_of([message.id])[message.id]


def _pinned(message: Message) -> bool:
    attached = getattr(message, "is_pinned", None)
    if attached is not None:
        return attached
    from chat.models import Pin

    return Pin.objects.filter(message_id=message.id).exists()


def attachments_out(slug: str, files: list[dict[str, Any]]) -> list[AttachmentWire]:
    """The wire form of a message's files from what it stores (`Message.files`, written with it)."""
    out: list[AttachmentWire] = []
    for f in files:
        url = f"/api/v1/topics/{slug}/files/{f['id']}"
        out.append({"id": f["id"], "name": f["name"], "content_type": f["content_type"], "size": f["size"],
                    "image": bool(f.get("thumbnail")), "width": f.get("width"), "height": f.get("height"),
                    "url": url, "thumbnail_url": f"{url}/thumbnail" if f.get("thumbnail") else None})
    return out


def message_out(message: Message, mentions: Mentions | None = None) -> MessageWire:
    """The contract's message object plus documented extensions (docs/chat.md):
    `edited_at`, `deleted`, `mentions`, `restricted`, `prev_id`, `tlp`, `shared_with`, `promoted_to`,
    the thread fields (`reply_to`, `thread_root`, `reply_count`, `last_reply_at`, `also_channel`),
    `reactions` and `pinned` (the last two attached per page by chat.selectors, else read here),
    `attachments` (the files posted with it, from its own `files` column), `version` (the order of
    its changes: a client keeps the state with the highest, chat.models.Message.version).
    A deleted message keeps its id and place
    (a tombstone) with empty `body` and `html`, so catch-up stays gap-free. `mentions` may be
    passed by a caller that already knows them (saves a query on the posting path)."""
    deleted = message.deleted_at is not None
    return {
        "id": message.id,
        "topic": message.topic.slug,
        "author": author_out(message.author),
        "body": "" if deleted else message.body,
        "html": "" if deleted else message.html,
        "created_at": timestamp(message.created_at),
        "client_id": message.client_id,
        "edited_at": optional_timestamp(message.edited_at),
        "deleted": deleted,
        "mentions": {"users": [], "centres": []} if deleted else (mentions or _mentions(message)),
        "restricted": message.audience is not None,
        "prev_id": message.prev_id,
        "tlp": message.tlp,
        "shared_with": message.shared_with,
        "promoted_to": list(message.promoted_to or []),
        "reply_to": message.reply_to_id,
        "thread_root": message.thread_root_id,
        "reply_count": message.reply_count,
        "last_reply_at": optional_timestamp(message.last_reply_at),
        "also_channel": message.also_channel,
        "reactions": _reactions(message),
        "pinned": _pinned(message),
        "attachments": [] if deleted else attachments_out(message.topic.slug, message.files or []),
        "version": message.version,
    }


def topic_out(topic: Topic, *, unread: int = 0, last_read_id: int = 0, latest_id: int = 0,
              members: list | None = None, may_pin: bool = False, history_after: int = 0) -> dict[str, Any]:
    centres = sorted(c.code for c in topic.allowed_centres.all())
    return {
        "slug": topic.slug,
        "name": topic.name,
        "name_vi": topic.name_vi,
        "name_en": topic.name_en,
        "description": topic.description,
        "description_en": topic.description_en,
        "kind": topic.kind,
        "allowed_roles": list(topic.allowed_roles or []),
        "allowed_centres": centres,
        "restricted": bool(topic.allowed_roles or centres),
        "default_tlp": topic.default_tlp,
        "unread": unread,
        "last_read_id": last_read_id,
        "latest_message_id": latest_id,
        "created_at": timestamp(topic.created_at),
        "members": [author_out(m) for m in members] if topic.kind == Topic.Kind.DIRECT and members is not None
        else None,
        "pin_roles": list(topic.pin_roles or []),
        "may_pin": may_pin,
        "history_after": history_after,
    }

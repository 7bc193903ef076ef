"""Every WebSocket frame of topic channels (`/ws/topics/{slug}/`) and the chat frames of the
notifications stream, as types.

The code that builds a frame annotates it with its type here (mypy checks the keys and values), a
test holds real frames to these types with no key missing or extra (tests/hub/test_frames.py), and
docs/frames.md is generated from them (`python -m hub.realtime.frame_types`). Timestamps are
`hub.lib.jsonutil.timestamp` strings.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from hub.realtime.frames import Person

# --- the objects frames carry ------------------------------------------------------------------

class Mentions(TypedDict):
    users: list[str]
    centres: list[str]


class PromotedTo(TypedDict):
    """An alert or a support request this message became (chat.promotion)."""

    kind: str  # alert | ticket
    id: int


class ReactionWire(TypedDict):
    """One emoji on a message: how many reacted with it, and who (usernames, in reaction order)."""

    emoji: str
    count: int
    users: list[str]


class AttachmentWire(TypedDict):
    """A file posted with a message (docs/chat.md, "Files and images"); both addresses answer only
    those who may read the message."""

    id: int
    name: str  # the uploader's file name (shown, and given back as the download's name)
    content_type: str  # decided from the name against the upload rule (hub.lib.uploads)
    size: int  # bytes
    image: bool  # a picture the hub could read: shown as a thumbnail, opened full size
    width: int | None  # an image's size in pixels (None for other files)
    height: int | None
    url: str  # the file: /api/v1/topics/{slug}/files/{id}
    thumbnail_url: str | None  # an image's smaller copy; None for other files


class MessageWire(TypedDict):
    """A message as every path gives it: live frames, `sync`, history, search (chat.serializers)."""

    id: int
    topic: str
    author: Person
    body: str  # what was sent ("" once deleted)
    html: str  # its sanitised rendering
    created_at: str
    client_id: str | None
    edited_at: str | None
    deleted: bool
    mentions: Mentions
    restricted: bool  # the message has an audience narrower than the topic's
    prev_id: int | None  # the previous message of the topic (gap detection)
    tlp: str  # clear | green | amber | amber+strict | red (never looser than the topic's)
    shared_with: list[str] | None  # centre codes; None: everyone the topic allows
    promoted_to: list[PromotedTo]
    reply_to: int | None  # the message this one answers (a threaded reply)
    thread_root: int | None  # the thread's first message; None for a message in no thread or a root
    reply_count: int  # on a root: its replies (0 otherwise)
    last_reply_at: str | None  # on a root: the time of its last reply
    also_channel: bool  # a reply also shown in the channel
    reactions: list[ReactionWire]
    pinned: bool
    attachments: list[AttachmentWire]  # files posted with it ([] once deleted)
    version: int  # grows with each change after posting: of two states of a message, keep the higher


class TopicRef(TypedDict):
    slug: str
    name_vi: str
    name_en: str


class PresentPerson(TypedDict):
    username: str
    display_name: str


class OnlineCentre(TypedDict):
    centre: str | None
    count: int  # people of this centre online
    users: list[PresentPerson]  # named only while the topic has at most HUB_PRESENCE_MAX_NAMES online


# --- server → client ----------------------------------------------------------------------------

class MessageFrame(TypedDict):
    """A new message (the sender gets its own too; match it by `client_id`)."""

    type: Literal["message"]
    message: MessageWire


class MessageUpdatedFrame(TypedDict):
    """A message was edited (its `edited_at` is set)."""

    type: Literal["message.updated"]
    message: MessageWire


class MessageDeletedFrame(TypedDict):
    """A message was deleted: it stays as a tombstone with empty `body` and `html`."""

    type: Literal["message.deleted"]
    message: MessageWire


class MessageWithdrawnFrame(TypedDict):
    """A message the person could read and no longer may (its audience narrowed: an alert's summary
    and its replies when the alert's TLP is raised or its sharing narrowed): take it off the page —
    the channel, its thread, the pins, search results. Only its id, never its content; sent to the
    people who lost it (`Lost`), and by `sync` with `changed_since` to a client that was away."""

    type: Literal["message.withdrawn"]
    topic: str
    id: int


class TypingFrame(TypedDict):
    """Someone in the topic is typing (never sent back to the typing socket)."""

    type: Literal["typing"]
    topic: str
    user: Person


class PresenceFrame(TypedDict):
    """Who is in the topic now: each person once, grouped by centre."""

    type: Literal["presence"]
    topic: str
    count: int
    online: list[OnlineCentre]


class ReadFrame(TypedDict):
    """The caller's read marker moved (the answer to `read`, and on the caller's other sockets)."""

    type: Literal["read"]
    topic: str
    up_to: int


class ReceiptFrame(TypedDict):
    """Someone who shares their read state read the topic up to `up_to` (chat/receipts.py): pages
    refresh the "seen by" lines of the messages they show."""

    type: Literal["receipt"]
    topic: str
    user: str  # username
    up_to: int


class ReactionsFrame(TypedDict):
    """A message's reactions changed (someone added or removed one): all of them now."""

    type: Literal["message.reactions"]
    topic: str
    id: int
    reactions: list[ReactionWire]
    version: int  # the message's version with these reactions: older ones arriving later are stale


class ThreadUpdatedFrame(TypedDict):
    """A thread got a reply: its root's reply count and last reply time now."""

    type: Literal["thread.updated"]
    topic: str
    root: int
    reply_count: int
    last_reply_at: str | None


class PinnedFrame(TypedDict):
    """A message was pinned (`pinned`: true, by `pinned_by`) or unpinned in the topic."""

    type: Literal["message.pinned"]
    topic: str
    message: MessageWire
    pinned: bool
    pinned_by: Person | None
    pinned_at: str | None


class MembersFrame(TypedDict):
    """A direct conversation's members changed (someone was added or left)."""

    type: Literal["members"]
    topic: str
    members: list[Person]


class SyncDoneFrame(TypedDict):
    """A `sync` is complete: every message after `after` up to `latest` was sent, and every change
    since `changed_since` to the ones before. `at` (the hub's time when the sync read) is what to send
    as `changed_since` on the next sync, after a reconnect."""

    type: Literal["sync.done"]
    latest: int
    at: str


class MentionFrame(TypedDict):
    """On the notifications stream: someone mentioned the caller (or the caller's centre)."""

    type: Literal["mention"]
    message: MessageWire
    topic: TopicRef


# --- client → server -----------------------------------------------------------------------------

class MessageSendIn(TypedDict):
    type: Literal["message.send"]
    body: str
    client_id: NotRequired[str | None]
    tlp: NotRequired[str | None]
    shared_with: NotRequired[list[str] | None]
    reply_to: NotRequired[int | None]  # a threaded reply to that message
    also_channel: NotRequired[bool]  # with reply_to: show it in the channel too


class MessageEditIn(TypedDict):
    type: Literal["message.edit"]
    id: int
    body: str


class MessageDeleteIn(TypedDict):
    type: Literal["message.delete"]
    id: int


class SyncIn(TypedDict):
    """Everything after `after`; with `changed_since`, also edits and deletions since then."""

    type: Literal["sync"]
    after: NotRequired[int]
    changed_since: NotRequired[str]


class TypingIn(TypedDict):
    type: Literal["typing"]


class ReadIn(TypedDict):
    type: Literal["read"]
    up_to: int


# and hub.realtime.frames.ResyncFrame
TOPIC_FRAMES = (MessageFrame, MessageUpdatedFrame, MessageDeletedFrame, MessageWithdrawnFrame, TypingFrame,
                PresenceFrame, ReadFrame, SyncDoneFrame, ReactionsFrame, ThreadUpdatedFrame, PinnedFrame, MembersFrame,
                ReceiptFrame)
NOTIFICATION_FRAMES = (MentionFrame, ReadFrame)
CLIENT_FRAMES = (MessageSendIn, MessageEditIn, MessageDeleteIn, SyncIn, TypingIn, ReadIn)

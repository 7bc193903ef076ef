"""The frames any hub socket may receive whatever its kind, and the person object every app's frames
share. Each app's own frames are in its `frames.py` (chat, alerts, requests, duty); docs/frames.md lists
them all, generated from these types (`python -m hub.realtime.frame_types`); tests/hub/test_frames.py
holds real frames to them, key for key."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class Person(TypedDict):
    """Someone in a frame: an author, an actor, an assignee."""

    username: str
    display_name: str
    centre: str | None  # their centre's code


class ErrorFrame(TypedDict):
    """A refused frame; the socket stays open (after `HUB_ABUSE_CLOSE_AFTER` refusals in a row it is
    closed with 4429). `detail` is in the person's language (hub.i18n.socket_language)."""

    type: Literal["error"]
    code: str  # invalid | too_large | rate_limited | forbidden | not_authenticated | unavailable
    detail: str


class ResyncFrame(TypedDict):
    """Catch up with `sync` from `after` again: a `sync` hit `HUB_SYNC_MAX` (`latest` is the newest
    id), or this process noticed that it lost events (`reason: "missed_events"`, `latest` null;
    `after` null when no position is known: sync after the last id you saw)."""

    type: Literal["resync"]
    after: int | None
    latest: int | None
    reason: NotRequired[Literal["missed_events"]]


class BatchFrame(TypedDict):
    """Events that reached the socket together, for a socket that asked with `?batch=1`: each element
    exactly the frame that would otherwise have come alone, in order."""

    type: Literal["batch"]
    frames: list[dict[str, object]]


class AccessChangedFrame(TypedDict):
    """The person's rights changed — their centre, role, hub admin flag (hub.models.ACCESS_FIELDS) —
    and this socket stays open: later frames are already chosen with the new rights, but what the
    page shows was chosen with the old ones. Load it again (the hub's pages reload themselves,
    keeping what the person was typing; docs/ui.md). Sent once per change, before any frame that
    arrived while the person was re-read; and after the first frame of a socket opened with
    `?access=D` when D (`access` in the page's viewer data) is not the person's digest now — the page
    was rendered with other rights. Never for a change that leaves what they see alone (a password,
    a display name)."""

    type: Literal["access.changed"]


class HelloFrame(TypedDict):
    """The notifications stream's first frame."""

    type: Literal["hello"]
    user: str
    groups: int


class PongFrame(TypedDict):
    """The answer to `{"type": "ping"}` on the notifications stream."""

    type: Literal["pong"]


class PingIn(TypedDict):
    type: Literal["ping"]


ANY_SOCKET_FRAMES = (ErrorFrame, BatchFrame, AccessChangedFrame)
NOTIFICATION_FRAMES = (HelloFrame, PongFrame)
TOPIC_FRAMES = (ResyncFrame,)
CLIENT_FRAMES = (PingIn,)

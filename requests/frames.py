"""The `ticket` frame of the notifications stream (`/ws/notifications/`), as types.

Its objects are those of the tickets API (requests.serializers), so a client merges a frame into
what it fetched. Built by requests.services, held to these types by tests/hub/test_frames.py,
listed in docs/frames.md.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from hub.realtime.frames import Person


class TicketSummaryWire(TypedDict):
    """A ticket as the list gives it (no comments or history)."""

    id: int
    reference: str  # CODE-YEAR-NNNN
    title: str
    category: str
    priority: str
    status: str
    requesting_centre: str
    target_centre: str | None  # None: any centre, until one accepts
    requested_by: Person
    assignee: Person | None
    due_at: str
    overdue: bool
    version: int
    created_at: str
    updated_at: str
    url: str
    thread: str | None  # the slug of its discussion topic
    tlp: str
    merged_into: int | None  # the request a merged duplicate points at; None unless merged


class TicketEventWire(TypedDict):
    """One entry of a ticket's history."""

    id: int
    kind: str  # created | transition | field | assigned | comment | attachment | watcher_added | …
    field: str | None
    before: Any
    after: Any
    note: str
    internal: bool
    actor: Person
    created_at: str


class AttachmentWire(TypedDict):
    id: int
    name: str
    content_type: str
    size: int
    comment: int | None
    internal: bool
    uploaded_by: Person
    created_at: str
    url: str
    tlp: str  # its comment's (or the ticket's) or tighter
    shared_with: list[str] | None  # which of the ticket's two centres; None: the ticket's readers


class CommentWire(TypedDict):
    id: int
    author: Person
    body: str
    html: str
    internal: bool
    created_at: str
    attachments: list[AttachmentWire]
    tlp: str  # the ticket's or tighter
    shared_with: list[str] | None  # which of the ticket's two centres; None: the ticket's readers


class TicketFrame(TypedDict):
    """A ticket the caller may see changed: the ticket as it is now and the history event; a new
    comment or attachment comes with it (internal ones only to the target centre)."""

    type: Literal["ticket"]
    ticket: TicketSummaryWire
    event: TicketEventWire
    comment: NotRequired[CommentWire]
    attachment: NotRequired[AttachmentWire]


NOTIFICATION_FRAMES = (TicketFrame,)

"""The `ticket` frames of the notifications stream (`/ws/notifications/`), as types.

Its objects are those of the tickets API (requests.serializers), so a client merges a frame into
what it fetched. Built by requests.services, held to these types by tests/hub/test_frames.py,
listed in docs/frames.md.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from hub.realtime.frames import Person
from requests.seen import CommentSeen
from requests.sla import SlaWire


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
    due_at: str  # the resolution due time as stored (= sla.resolution_due unless paused)
    overdue: bool  # open and an SLA clock breached
    sla: SlaWire
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
    actor: Person | None  # None: the hub itself (SLA reminders)
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


class TicketSlaFrame(TypedDict):
    """An SLA clock of a request is due soon (80 % of its target spent) or breached: sent once per
    due time by the SLA watch (hub.jobs "requests.sla") to the target centre and the requester; the
    same notice is an entry (`sla_due_soon` / `sla_breached`) in the request's history."""

    type: Literal["ticket.sla"]
    event: Literal["due_soon", "breached"]
    clock: Literal["first_response", "resolution"]
    due: str
    ticket: TicketSummaryWire
    entry: TicketEventWire


class TicketSeenFrame(TypedDict):
    """Someone of the other centre has just read the request since its latest public comment
    (requests/seen.py): `seen` is what `GET /api/v1/tickets/{id}/seen` answers now. To the readers
    of that comment (`requests.selectors.audience_of_item`), never to a reader of the request who
    may not read it (a watcher from a third centre and a TLP:RED comment)."""

    type: Literal["ticket.seen"]
    ticket: int
    seen: CommentSeen


class TicketWithdrawnFrame(TypedDict):
    """The request's readers shrank (TLP raised, redirected or accepted by one centre, a watcher
    removed, merged) and the recipient may no longer see it: take it off every open page. Nothing
    of the request but its id. Only to the people its old readers admitted and its new ones refuse
    (`hub.realtime.audience.Lost`), never a hub admin; its readers get the `ticket` frame instead."""

    type: Literal["ticket.withdrawn"]
    id: int


NOTIFICATION_FRAMES = (TicketFrame, TicketSlaFrame, TicketSeenFrame, TicketWithdrawnFrame)

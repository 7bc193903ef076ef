"""Tickets as JSON: one shape for the API, the `ticket` frames and the pages' scripts.

Frames and API responses use the same dictionaries so a client can merge a frame into what it
fetched without translating names.
"""

from __future__ import annotations

from django.utils import timezone

from chat.promotion import recorded
from hub.lib.jsonutil import timestamp
from hub.models import User
from hub.realtime.frames import Person
from requests.frames import AttachmentWire, CommentWire, TicketEventWire, TicketSummaryWire
from requests.models import OPEN_STATUSES, Attachment, Comment, Ticket, TicketEvent
from requests.sla import sla_out


def person(user: User) -> Person:
    centre = getattr(user, "centre", None)
    return {
        "username": user.username,
        "display_name": user.get_display_name(),
        "centre": centre.code if centre is not None else None,
    }


def ticket_summary(ticket: Ticket) -> TicketSummaryWire:
    """The list/frame form of a ticket (no comments or history). Needs requesting_centre,
    target_centre, assignee and requested_by loaded (`select_related`) to cost no queries."""
    sla = sla_out(ticket, timezone.now())
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "title": ticket.title,
        "category": ticket.category,
        "priority": ticket.priority,
        "status": ticket.status,
        "requesting_centre": ticket.requesting_centre.code,
        "target_centre": ticket.target_centre.code if ticket.target_centre is not None else None,
        "requested_by": person(ticket.requested_by),
        "assignee": person(ticket.assignee) if ticket.assignee is not None else None,
        "due_at": timestamp(ticket.due_at),
        "overdue": ticket.status in OPEN_STATUSES and sla["breached"],
        "sla": sla,
        "version": ticket.version,
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "url": ticket.get_absolute_url(),
        "thread": ticket.thread.slug if ticket.thread is not None else None,
        "tlp": ticket.tlp,
        "merged_into": ticket.merged_into_id,
    }


def comment_out(comment: Comment, attachments: list[Attachment] | None = None) -> CommentWire:
    return {
        "id": comment.pk,
        "author": person(comment.author),
        "body": comment.body,
        "html": comment.html,
        "internal": comment.internal,
        "tlp": comment.tlp,
        "shared_with": comment.shared_with,
        "created_at": timestamp(comment.created_at),
        "attachments": [attachment_out(a) for a in (attachments or [])],
    }


def attachment_out(attachment: Attachment) -> AttachmentWire:
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "comment": attachment.comment_id,
        "internal": attachment.internal,
        "tlp": attachment.tlp,
        "shared_with": attachment.shared_with,
        "uploaded_by": person(attachment.uploaded_by),
        "created_at": timestamp(attachment.created_at),
        "url": f"/api/v1/tickets/{attachment.ticket_id}/attachments/{attachment.pk}",
    }


def event_out(event: TicketEvent) -> TicketEventWire:
    return {
        "id": event.pk,
        "kind": event.kind,
        "field": event.field or None,
        "before": event.before,
        "after": recorded(event.after),  # never a quote (chat.promotion)
        "note": event.note,
        "internal": event.internal,
        "actor": person(event.actor) if event.actor is not None else None,
        "created_at": timestamp(event.created_at),
    }

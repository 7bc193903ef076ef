"""Whether the other centre has seen a request's latest public comment (issue 22 §4; docs/duty.md).

A `TicketView` is the last time a person opened a request's page (`frontend.views.ticket_detail`
records it). The latest public comment a centre may read has been *seen by the other centre* when
someone of that centre — the target centre for a comment of the requesting side, the requesting
centre for one of the target side — opened the request at or after the comment was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.db import models
from django.utils import timezone

from hub.lib.jsonutil import optional_timestamp
from hub.models import Centre
from requests.models import Comment, Ticket


class TicketView(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "support_requests"
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="requests_ticketview_once")]


class CommentSeen(TypedDict):
    comment: int | None
    other_centre: str | None
    seen: bool
    seen_at: str | None
    seen_by: list[str]


def record_view(ticket_id: int, user: Any, at: datetime | None = None) -> None:
    if not user.is_authenticated:
        return
    TicketView.objects.update_or_create(ticket_id=ticket_id, user=user,
                                        defaults={"seen_at": at or timezone.now(), "centre_id": user.centre_id})


def latest_comment_seen(ticket: Ticket) -> CommentSeen:
    """The latest public comment and whether the other of the request's two centres has seen it."""
    found: CommentSeen = {"comment": None, "other_centre": None, "seen": False, "seen_at": None, "seen_by": []}
    for comment in Comment.objects.filter(ticket=ticket, internal=False).select_related("author").order_by(
            "-created_at", "-id")[:20]:
        other = _other_centre(ticket, comment)
        if other is None:
            continue
        if comment.shared_with is not None and other.code not in comment.shared_with:
            continue  # a comment the other centre may not read is not waiting for it to be seen
        views = list(TicketView.objects.filter(ticket=ticket, centre=other, seen_at__gte=comment.created_at)
                     .select_related("user").order_by("seen_at"))
        return {"comment": comment.pk, "other_centre": other.code, "seen": bool(views),
                "seen_at": optional_timestamp(views[0].seen_at) if views else None,
                "seen_by": [v.user.get_display_name() for v in views]}
    return found


def _other_centre(ticket: Ticket, comment: Any) -> Centre | None:
    author_centre = comment.author.centre_id
    if author_centre is not None and author_centre == ticket.target_centre_id:
        return ticket.requesting_centre
    return ticket.target_centre

"""Whether the other centre has seen a request's latest public comment (issue 22 §4; docs/duty.md).

A `TicketView` is the last time a person read a request: its page (`frontend.views.ticket_detail`)
or `GET /api/v1/tickets/{id}` (requests/api.py), with a session or a token — `record_view`. The
latest public comment a centre may read — of those the asking person may read too
(`requests.selectors.may_read_item`: a watcher from a third centre is never told of a TLP:RED
comment) — has been *seen by the other centre* when someone of that centre — the target centre for
a comment of the requesting side, the requesting centre for one of the target side — read the
request at or after the comment was written. The view that makes it so is announced live
(`ticket.seen` frame to the comment's readers, `item_audience`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from django.conf import settings
from django.db import models, transaction
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


# How many of a request's latest public comments are looked at for the one to answer about; past
# them the answer is "no comment" (it tells less, never more).
LOOK_BACK = 20


class CommentSeen(TypedDict):
    comment: int | None
    other_centre: str | None
    seen: bool
    seen_at: str | None
    seen_by: list[str]


def record_view(ticket: Ticket, user: Any, *, at: datetime | None = None) -> None:
    """`user` has read the request (its page, or `GET /api/v1/tickets/{id}` with a token or a
    session): their view is recorded, and when it is what makes the latest public comment *seen*
    by the other centre for them (they are of that centre and had not read the request since the
    comment), a `ticket.seen` frame tells the comment's readers at once (after commit)."""
    if not getattr(user, "is_authenticated", False):
        return
    at = at or timezone.now()
    with transaction.atomic():
        before = (TicketView.objects.select_for_update().filter(ticket=ticket, user=user)
                  .values_list("seen_at", flat=True).first())
        TicketView.objects.update_or_create(ticket=ticket, user=user,
                                            defaults={"seen_at": at, "centre_id": user.centre_id})
        if user.centre_id is None:
            return
        comment, other = _latest(ticket)
        if comment is None or other is None or other.pk != user.centre_id or comment.created_at > at:
            return
        if before is not None and before >= comment.created_at:
            return  # they had already seen it: nothing changed for the others
        from hub.realtime.groups import groups_for
        from hub.realtime.publisher import broadcast_on_commit
        from requests.frames import TicketSeenFrame
        from requests.selectors import audience_of_item

        audience = audience_of_item(ticket, comment)  # the frame names the comment: only to its readers
        frame: TicketSeenFrame = {"type": "ticket.seen", "ticket": ticket.pk, "seen": _seen(ticket, comment, other)}
        broadcast_on_commit(groups_for(audience), frame, audience)


def _latest(ticket: Ticket, viewer: Any = None) -> tuple[Comment | None, Centre | None]:
    """The latest public comment the other of the request's two centres may read — of those `viewer`
    may read too (`requests.selectors.may_read_item`), when given — and that centre."""
    from requests.selectors import audience_of, may_read_item

    ticket_audience = audience_of(ticket) if viewer is not None else None
    for comment in Comment.objects.filter(ticket=ticket, internal=False).select_related("author").order_by(
            "-created_at", "-id")[:LOOK_BACK]:
        other = _other_centre(ticket, comment)
        if other is None:
            continue
        if comment.shared_with is not None and other.code not in comment.shared_with:
            continue  # a comment the other centre may not read is not waiting for it to be seen
        if viewer is not None and not may_read_item(viewer, ticket, comment, ticket_audience):
            continue  # nor is one the viewer may not read theirs to hear of
        return comment, other
    return None, None


def latest_comment_seen(ticket: Ticket, viewer: Any) -> CommentSeen:
    """The latest public comment `viewer` may read (and the other of the request's two centres too),
    and whether that centre has seen it."""
    comment, other = _latest(ticket, viewer)
    return _seen(ticket, comment, other)


def _seen(ticket: Ticket, comment: Comment | None, other: Centre | None) -> CommentSeen:
    if comment is None or other is None:
        return {"comment": None, "other_centre": None, "seen": False, "seen_at": None, "seen_by": []}
    views = list(TicketView.objects.filter(ticket=ticket, centre=other, seen_at__gte=comment.created_at)
                 .select_related("user").order_by("seen_at"))
    return {"comment": comment.pk, "other_centre": other.code, "seen": bool(views),
            "seen_at": optional_timestamp(views[0].seen_at) if views else None,
            "seen_by": [v.user.get_display_name() for v in views]}


def _other_centre(ticket: Ticket, comment: Any) -> Centre | None:
    author_centre = comment.author.centre_id
    if author_centre is not None and author_centre == ticket.target_centre_id:
        return ticket.requesting_centre
    return ticket.target_centre

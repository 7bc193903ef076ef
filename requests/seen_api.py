"""`GET /api/v1/tickets/{id}/seen`: whether the other centre has seen the request's latest public
comment (requests/seen.py, docs/duty.md "Read receipts")."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from hub.errors import NOT_FOUND, HubError
from hub.lib.api_support import ERRORS, ApiRequest
from requests.seen import latest_comment_seen
from requests.selectors import visible_tickets

router = Router(tags=["tickets"])


class CommentSeenOut(Schema):
    comment: int | None
    other_centre: str | None
    seen: bool
    seen_at: str | None
    seen_by: list[str]


@router.get("/tickets/{ticket_id}/seen", response={200: CommentSeenOut, **ERRORS},
            summary="Whether the other centre has seen the request's latest public comment")
def comment_seen(request: ApiRequest, ticket_id: int):
    ticket = visible_tickets(request.auth).filter(pk=ticket_id).select_related(
        "requesting_centre", "target_centre").first() if 0 < ticket_id < 2**63 else None
    if ticket is None:
        raise HubError(NOT_FOUND, _("No such request."))
    return latest_comment_seen(ticket, request.auth)

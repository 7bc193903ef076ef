"""Every change to a support request: validate, lock, write with its history event, then broadcast.

Each action runs in one transaction that locks the ticket row (`select_for_update`) before reading
its status or version, so of two people moving the same ticket at once the second sees the first's
result and is refused (409) instead of overwriting it. The `ticket` frame is published only after the
commit (`hub.realtime.publisher.broadcast_on_commit`), to the groups of the people who may see the ticket, with
an `Audience` that every socket re-checks before sending.
"""

from __future__ import annotations

import logging
import mimetypes
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.lib import ratelimit
from hub.lib.api_support import ApiError
from hub.lib.rendering import render_markdown
from hub.lib.text import clean_text
from hub.models import Centre, Role, User
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.groups import ALL, centre_group, role_group, user_group
from hub.realtime.publisher import broadcast_on_commit
from requests import workflow
from requests.models import (
    FINAL_STATUSES,
    PRIORITY_RANK,
    Attachment,
    Category,
    Comment,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from requests.selectors import TICKET_RELATED, can_view_ticket, fold, may_read_internal
from requests.serializers import attachment_out, comment_out, event_out, ticket_summary

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("title", "description", "category", "priority", "target_centre")


# --- helpers ---------------------------------------------------------------------------------------


def sla_due(priority: str, start) -> Any:
    """When a ticket of `priority` opened at `start` is due (settings.REQUESTS_SLA_HOURS)."""
    hours = settings.REQUESTS_SLA_HOURS[priority]
    return start + timedelta(hours=hours)


def _search_text(ticket: Ticket) -> str:
    return fold(f"{ticket.reference} {ticket.title} {ticket.description}")


def _lock(ticket_id: int) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(*TICKET_RELATED)
        .get(pk=ticket_id)
    )


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise ApiError(
            409,
            f"The ticket was changed meanwhile (version {ticket.version}, you had {expected_version}); "
            "reload it and try again.",
            code="stale",
            version=ticket.version,
        )


def _touch(ticket: Ticket, now, fields: list[str]) -> None:
    ticket.version += 1
    ticket.updated_at = now
    ticket.save(update_fields=[*fields, "version", "updated_at"])


def _event(ticket: Ticket, actor: User, kind: str, *, field: str = "", before=None, after=None, note: str = "",
           internal: bool = False, internal_to_id: int | None = None, at=None) -> TicketEvent:
    """A history line; an internal one belongs to `internal_to_id` (default: the target centre now)."""
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, field=field, before=before, after=after, note=note,
        internal=internal, internal_to_id=(internal_to_id or ticket.target_centre_id) if internal else None,
        created_at=at or timezone.now(),
    )


def audience_of(ticket: Ticket, *, internal_to: Centre | None = None, internal: bool = False
                ) -> tuple[list[str], Audience]:
    """The groups to publish a change of `ticket` to, and who among their sockets may receive it. An
    internal item's go to the centre it belongs to (`internal_to`), not whoever the ticket targets."""
    if internal:
        if internal_to is None:
            return [role_group(Role.HUB_ADMIN)], Audience(roles=frozenset({Role.HUB_ADMIN}))
        code = internal_to.code
        return [centre_group(code), role_group(Role.HUB_ADMIN)], Audience(centres=frozenset({code}))
    watcher_ids = list(ticket.watchers.values_list("pk", flat=True))
    groups = [centre_group(ticket.requesting_centre.code), role_group(Role.HUB_ADMIN)]
    groups += [user_group(pk) for pk in watcher_ids]
    if ticket.target_centre_id is None and ticket.status == Status.NEW:
        return [ALL, *groups], EVERYONE
    centres = {ticket.requesting_centre.code}
    if ticket.target_centre_id is not None:
        centres.add(ticket.target_centre.code)
        groups.append(centre_group(ticket.target_centre.code))
    return groups, Audience(centres=frozenset(centres), users=frozenset(watcher_ids))


def _broadcast(ticket: Ticket, event: TicketEvent, extra: dict[str, Any] | None = None) -> None:
    frame = {"type": "ticket", "ticket": ticket_summary(ticket), "event": event_out(event), **(extra or {})}
    groups, audience = audience_of(ticket, internal=event.internal, internal_to=event.internal_to)
    broadcast_on_commit(groups, frame, audience)


def _clean_text(value: str | None, name: str, max_len: int | None = None, required: bool = True,
                single_line: bool = False) -> str:
    # The hub's one text rule (hub/lib/text.py): surrogates, NUL and control characters, length.
    return clean_text(value, field=name, max_length=max_len, required=required, single_line=single_line)


def _centre(code: str | None) -> Centre | None:
    if code is None or str(code).strip() == "":
        return None
    centre = Centre.objects.filter(code=str(code).strip().upper()).first()
    if centre is None:
        raise ApiError(400, f"target_centre: no centre with code {code!r}.", fields=["target_centre"])
    return centre


def _ensure_thread(ticket: Ticket) -> None:
    """Give the ticket its discussion thread: a `ticket` topic of the chat app (not a second chat),
    whose description links back to the ticket. Idempotent: an existing topic is reused."""
    from chat.services import create_topic

    topic = create_topic(
        slug=thread_slug(ticket),
        name_vi=f"{ticket.reference}: {ticket.title}"[:200],
        name_en=f"{ticket.reference}: {ticket.title}"[:200],
        kind="ticket",
        description=f"Trao đổi về yêu cầu hỗ trợ [{ticket.reference}]({ticket.get_absolute_url()}).",
        description_en=f"Discussion of support request [{ticket.reference}]({ticket.get_absolute_url()}).",
    )
    ticket.thread = topic
    ticket.save(update_fields=["thread"])


def thread_slug(ticket: Ticket) -> str:
    return f"ticket-{ticket.reference.lower()}"


# --- creating ----------------------------------------------------------------------------------------


def next_reference(centre: Centre, year: int) -> str:
    """Allocate the next `CODE-YEAR-NNNN` for `centre`; call inside the creating transaction.

    The increment is one `UPDATE … SET last = last + 1`: it takes the row's write lock (PostgreSQL
    row lock, SQLite database lock) and holds it until the creating transaction commits, so concurrent
    creations queue on it and each reads back its own number — no duplicates, no gaps on rollback."""
    TicketSequence.objects.get_or_create(centre=centre, year=year)
    TicketSequence.objects.filter(centre=centre, year=year).update(last=F("last") + 1)
    last = TicketSequence.objects.filter(centre=centre, year=year).values_list("last", flat=True).get()
    return f"{centre.code}-{year}-{last:04d}"


def create_ticket(*, user: User, title: str, description: str = "", category: str,
                  priority: str = Priority.NORMAL, target_centre: str | None = None) -> Ticket:
    if user.centre_id is None:
        raise ApiError(403, "Only staff of a centre can request support (your account has no centre).")
    title = _clean_text(title, "title", 200, single_line=True)
    description = _clean_text(description, "description", 20000, required=False)
    if category not in Category.values:
        raise ApiError(400, f"category: one of {', '.join(Category.values)}.", fields=["category"])
    if priority not in Priority.values:
        raise ApiError(400, f"priority: one of {', '.join(Priority.values)}.", fields=["priority"])
    target = _centre(target_centre)
    if target is not None and target.pk == user.centre_id:
        raise ApiError(400, "target_centre: a request goes to another centre, not your own.",
                       fields=["target_centre"])
    with transaction.atomic():
        now = timezone.now()
        centre = user.centre
        ticket = Ticket(
            reference=next_reference(centre, timezone.localtime(now).year),
            title=title,
            description=description,
            description_html=render_markdown(description),
            category=category,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            requesting_centre=centre,
            requested_by=user,
            target_centre=target,
            due_at=sla_due(priority, now),
            created_at=now,
            updated_at=now,
        )
        ticket.search_text = _search_text(ticket)
        ticket.save()
        ticket.watchers.add(user)
        _ensure_thread(ticket)
        event = _event(ticket, user, TicketEvent.Kind.CREATED, after={
            "status": ticket.status, "priority": priority, "category": category,
            "target_centre": target.code if target else None,
        }, at=now)
        _broadcast(ticket, event)
    return ticket


# --- the workflow ------------------------------------------------------------------------------------


def transition_ticket(ticket: Ticket, user: User, to: str, note: str = "",
                      expected_version: int | None = None) -> Ticket:
    """Move `ticket` to status `to` if the state machine lets `user` do so now.

    The row is locked and re-read first, so the decision is taken on the current status: of two
    concurrent movers exactly one succeeds and the other gets 409 with the moves still open to them.
    """
    note = _clean_text(note, "note", 5000, required=False)
    if to not in Status.values:
        raise ApiError(400, f"to: unknown status {to!r}; one of {', '.join(Status.values)}.", fields=["to"])
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        _check_version(ticket, expected_version)
        allowed = workflow.allowed_moves(ticket, user)
        if to not in allowed:
            shown = ", ".join(allowed) if allowed else "none"
            raise ApiError(
                409,
                f"You cannot move this ticket from {ticket.status} to {to}; allowed for you: {shown}.",
                allowed=allowed, current=ticket.status,
            )
        move = workflow.move_for(ticket.status, to)
        if move.note_required and not note:
            raise ApiError(400, f"note: a reason is required to move a ticket to {to}.", fields=["note"])
        now = timezone.now()
        before = ticket.status
        fields = ["status"]
        extra_events: list[tuple[str, dict]] = []
        if to == Status.ACCEPTED:
            if ticket.target_centre_id is None:
                if user.centre_id is None:
                    raise ApiError(409, "A request for any centre is accepted by a centre's staff.", allowed=allowed,
                                   current=ticket.status)
                ticket.target_centre = user.centre
                fields.append("target_centre")
                extra_events.append((TicketEvent.Kind.FIELD, {"field": "target_centre", "before": None,
                                                              "after": user.centre.code}))
            ticket.accepted_at = now
            fields.append("accepted_at")
            if ticket.assignee_id is None and user.centre_id == ticket.target_centre_id:
                ticket.assignee = user
                fields.append("assignee")
                extra_events.append((TicketEvent.Kind.ASSIGNED, {"field": "assignee", "before": None,
                                                                 "after": user.username}))
        elif to == Status.RESOLVED:
            ticket.resolved_at = now
            fields.append("resolved_at")
        elif to == Status.REOPENED:
            ticket.resolved_at = None
            fields.append("resolved_at")
        elif to in FINAL_STATUSES:
            ticket.closed_at = now
            fields.append("closed_at")
        ticket.status = to
        _touch(ticket, now, fields)
        event = _event(ticket, user, TicketEvent.Kind.TRANSITION, field="status", before=before, after=to,
                       note=note, at=now)
        for kind, data in extra_events:  # what the move brought with it (target centre, assignee)
            _event(ticket, user, kind, at=now, **data)
        _broadcast(ticket, event)
    return ticket


def assign_ticket(ticket: Ticket, user: User, assignee_username: str | None,
                  expected_version: int | None = None) -> Ticket:
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        _check_version(ticket, expected_version)
        assignee = None
        if assignee_username:
            assignee = User.objects.select_related("centre").filter(username=assignee_username,
                                                                    is_active=True).first()
            if assignee is None:
                raise ApiError(400, f"assignee: no user {assignee_username!r}.", fields=["assignee"])
        if not workflow.may_assign(user, ticket, assignee):
            raise ApiError(403, "Only managers of the target centre (or a hub admin) assign this ticket, "
                                "to someone of the target centre; staff may take an unassigned ticket.")
        if (assignee.pk if assignee else None) == ticket.assignee_id:
            return ticket
        before = ticket.assignee.username if ticket.assignee_id else None
        now = timezone.now()
        ticket.assignee = assignee
        _touch(ticket, now, ["assignee"])
        event = _event(ticket, user, TicketEvent.Kind.ASSIGNED, field="assignee", before=before,
                       after=assignee.username if assignee else None, at=now)
        _broadcast(ticket, event)
    return ticket


def update_ticket(ticket: Ticket, user: User, changes: dict[str, Any],
                  expected_version: int | None = None) -> Ticket:
    """Change title/description/category/priority (either side), or the target centre while new
    (the requesting side). A priority change moves the due time by the SLA table."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApiError(400, f"{sorted(unknown)[0]}: cannot be changed here.", fields=sorted(unknown))
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        _check_version(ticket, expected_version)
        if not workflow.may_edit(user, ticket):
            raise ApiError(403, "Only the requesting and target centres edit an open ticket.")
        now = timezone.now()
        events: list[dict] = []
        fields: list[str] = []
        if "title" in changes:
            value = _clean_text(changes["title"], "title", 200, single_line=True)
            if value != ticket.title:
                events.append({"field": "title", "before": ticket.title, "after": value})
                ticket.title = value
                fields.append("title")
        if "description" in changes:
            value = _clean_text(changes["description"], "description", 20000, required=False)
            if value != ticket.description:
                events.append({"field": "description", "before": ticket.description, "after": value})
                ticket.description = value
                ticket.description_html = render_markdown(value)
                fields += ["description", "description_html"]
        if "category" in changes:
            value = changes["category"]
            if value not in Category.values:
                raise ApiError(400, f"category: one of {', '.join(Category.values)}.", fields=["category"])
            if value != ticket.category:
                events.append({"field": "category", "before": ticket.category, "after": value})
                ticket.category = value
                fields.append("category")
        if "priority" in changes:
            value = changes["priority"]
            if value not in Priority.values:
                raise ApiError(400, f"priority: one of {', '.join(Priority.values)}.", fields=["priority"])
            if value != ticket.priority:
                events.append({"field": "priority", "before": ticket.priority, "after": value})
                due = sla_due(value, ticket.created_at)
                events.append({"field": "due_at", "before": ticket.due_at.isoformat(), "after": due.isoformat()})
                ticket.priority, ticket.priority_rank, ticket.due_at = value, PRIORITY_RANK[value], due
                fields += ["priority", "priority_rank", "due_at"]
        if "target_centre" in changes:
            target = _centre(changes["target_centre"])
            if (target.pk if target else None) != ticket.target_centre_id:
                if ticket.status != Status.NEW or not (
                    user.is_hub_admin or user.centre_id == ticket.requesting_centre_id
                ):
                    raise ApiError(403, "Only the requesting centre redirects a ticket, and only while it is new.")
                if target is not None and target.pk == ticket.requesting_centre_id:
                    raise ApiError(400, "target_centre: a request goes to another centre, not your own.",
                                   fields=["target_centre"])
                events.append({"field": "target_centre",
                               "before": ticket.target_centre.code if ticket.target_centre_id else None,
                               "after": target.code if target else None})
                ticket.target_centre = target
                fields.append("target_centre")
        if not events:
            return ticket
        ticket.search_text = _search_text(ticket)
        _touch(ticket, now, [*fields, "search_text"])
        last = None
        for data in events:
            last = _event(ticket, user, TicketEvent.Kind.FIELD, at=now, **data)
        _broadcast(ticket, last)
    return ticket


# --- comments, attachments, watchers -------------------------------------------------------------------


def add_comment(ticket: Ticket, user: User, body: str, internal: bool = False) -> Comment:
    # The same ceiling (in bytes, as on the wire) and answer (413) as a chat message, and the same
    # `post` bucket (hub/lib/ratelimit.py): a comment reaches other people like a message.
    body = clean_text(body, field="body", max_bytes=settings.HUB_MAX_BODY_BYTES)
    ratelimit.charge("post")
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        if internal and not workflow.may_comment_internally(user, ticket):
            raise ApiError(403, "Internal notes are for the target centre only.")
        if ticket.status in FINAL_STATUSES:
            raise ApiError(409, f"The ticket is {ticket.status}; it takes no more comments.")
        now = timezone.now()
        comment = Comment.objects.create(ticket=ticket, author=user, body=body, html=render_markdown(body),
                                         internal=internal, internal_to=ticket.target_centre if internal else None,
                                         created_at=now)
        _touch(ticket, now, [])
        event = _event(ticket, user, TicketEvent.Kind.COMMENT, after={"comment": comment.pk}, internal=internal, at=now)
        _broadcast(ticket, event, {"comment": comment_out(comment)})
    return comment


def _validate_upload(upload: UploadedFile) -> tuple[str, str]:
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise ApiError(400, "file: needs a file name.", fields=["file"])
    if upload.size is None or upload.size == 0:
        raise ApiError(400, "file: is empty.", fields=["file"])
    limit = settings.REQUESTS_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ApiError(413, f"file: {upload.size} bytes is over the limit of {limit} bytes.", fields=["file"])
    # The type is decided from the name, never from what the client declares, and must be allowed.
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    allowed = settings.REQUESTS_ATTACHMENT_TYPES
    if content_type not in allowed:
        raise ApiError(400, f"file: type {content_type} is not accepted; allowed: {', '.join(allowed)}.",
                       fields=["file"])
    return name, content_type


def add_attachment(ticket: Ticket, user: User, upload: UploadedFile, comment_id: int | None = None) -> Attachment:
    name, content_type = _validate_upload(upload)
    stored: list[str] = []
    try:
        with transaction.atomic():
            ticket = _lock(ticket.pk)
            if not can_view_ticket(user, ticket):
                raise ApiError(404, "No such ticket.")
            if ticket.status in FINAL_STATUSES:
                raise ApiError(409, f"The ticket is {ticket.status}; it takes no more attachments.")
            comment = None
            if comment_id is not None:
                comment = Comment.objects.filter(pk=comment_id, ticket=ticket).first()
                if comment is None or not may_read_internal(user, comment):
                    raise ApiError(400, "comment: no such comment on this ticket.", fields=["comment"])
                if comment.author_id != user.pk and not user.is_hub_admin:
                    raise ApiError(403, "Files are attached to your own comments only.")
            internal = bool(comment and comment.internal)
            now = timezone.now()
            attachment = Attachment(ticket=ticket, comment=comment, uploaded_by=user, original_name=name,
                                    content_type=content_type, size=upload.size, internal=internal,
                                    internal_to_id=comment.internal_to_id if internal else None, created_at=now)
            attachment.file.save(name, upload, save=False)
            stored.append(attachment.file.name)
            attachment.save()
            _touch(ticket, now, [])
            event = _event(ticket, user, TicketEvent.Kind.ATTACHMENT, after={"attachment": attachment.pk, "name": name},
                           internal=internal, internal_to_id=attachment.internal_to_id, at=now)
            _broadcast(ticket, event, {"attachment": attachment_out(attachment)})
    except BaseException:
        # The row was rolled back: do not leave its file behind in storage.
        for name_in_storage in stored:
            try:
                default_storage.delete(name_in_storage)
            except OSError:
                logger.warning("could not delete orphan attachment %s", name_in_storage)
        raise
    return attachment


def add_watcher(ticket: Ticket, user: User, username: str | None = None) -> Ticket:
    """Watch a ticket yourself (any viewer), or add someone else (the ticket's two sides)."""
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        target = user
        if username and username != user.username:
            if not workflow.may_manage_watchers(user, ticket):
                raise ApiError(403, "Only the requesting and target centres add other watchers.")
            target = User.objects.filter(username=username, is_active=True).first()
            if target is None:
                raise ApiError(400, f"username: no user {username!r}.", fields=["username"])
        if ticket.watchers.filter(pk=target.pk).exists():
            return ticket
        now = timezone.now()
        ticket.watchers.add(target)
        _touch(ticket, now, [])
        event = _event(ticket, user, TicketEvent.Kind.WATCHER_ADDED, field="watchers", after=target.username, at=now)
        _broadcast(ticket, event)
    return ticket


def remove_watcher(ticket: Ticket, user: User, username: str | None = None) -> Ticket:
    with transaction.atomic():
        ticket = _lock(ticket.pk)
        if not can_view_ticket(user, ticket):
            raise ApiError(404, "No such ticket.")
        target = user
        if username and username != user.username:
            if not workflow.may_manage_watchers(user, ticket):
                raise ApiError(403, "Only the requesting and target centres remove other watchers.")
            target = User.objects.filter(username=username).first()
            if target is None:
                raise ApiError(400, f"username: no user {username!r}.", fields=["username"])
        if not ticket.watchers.filter(pk=target.pk).exists():
            return ticket
        now = timezone.now()
        # Broadcast before removing so the leaving watcher hears about it too.
        event = _event(ticket, user, TicketEvent.Kind.WATCHER_REMOVED, field="watchers", before=target.username,
                       at=now)
        _broadcast(ticket, event)
        ticket.watchers.remove(target)
        _touch(ticket, now, [])
    return ticket

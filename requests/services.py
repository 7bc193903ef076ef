"""Every change to a support request: validate, lock, write with its history event, then broadcast.

Each action runs in one transaction that locks the ticket row (`select_for_update`) before reading
its status or version, so of two people moving the same ticket at once the second sees the first's
result and is refused (409) instead of overwriting it. The `ticket` frame is published only after the
commit (`hub.realtime.publisher.broadcast_on_commit`), to the groups of the people who may see the ticket, with
an `Audience` that every socket re-checks before sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, HubError, define, invalid
from hub.lib import ratelimit
from hub.lib.inputs import id_or_none
from hub.lib.jsonutil import timestamp
from hub.lib.rendering import render_markdown
from hub.lib.text import clean_text
from hub.lib.uploads import removed_on_failure, validate_upload
from hub.models import Centre, User
from hub.realtime.audience import Audience
from hub.realtime.groups import groups_for
from hub.realtime.publisher import broadcast_on_commit, broadcast_together_on_commit, withdrawal
from hub.services import topic_access_changed
from hub.sharing import Tlp, clean_shared_with, clean_tlp, tightest
from notify import services as notify
from requests import sla, workflow
from requests.frames import AttachmentWire, CommentWire, TicketFrame, TicketSlaFrame, TicketWithdrawnFrame
from requests.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    PRIORITY_RANK,
    Attachment,
    Category,
    Comment,
    LinkKind,
    Priority,
    SlaReminder,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketSequence,
    TicketTemplate,
)
from requests.selectors import (
    PARTY_ONLY,
    READERS_FIELDS,
    TICKET_RELATED,
    audience_of,
    can_view_ticket,
    effective_tlp,
    fold,
    item_audience,
    may_read_internal,
    may_read_item,
    party_codes,
    render_template,
    visible_templates,
)
from requests.serializers import attachment_out, comment_out, event_out, ticket_summary

logger = logging.getLogger(__name__)

# A write based on a version of the ticket that is no longer current (409; the body has `version`).
STALE = define("stale", http_status=409)
NO_SUCH_TICKET = _("No such ticket.")
ONE_OF = _("must be one of %(values)s.")
REQUIRED = _("required.")
OTHER_CENTRE = _("a request goes to another centre, not your own.")
NO_USER = _("no active user “%(username)s”.")


# --- helpers ---------------------------------------------------------------------------------------


def _search_text(ticket: Ticket) -> str:
    return fold(f"{ticket.reference} {ticket.title} {ticket.description}")


def _lock(ticket_id: int) -> Ticket:
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(*TICKET_RELATED)
        .get(pk=ticket_id)
    )
    # A lock that waited for another transaction gets the ticket's row as that one committed it, but
    # the rows joined to it as the statement first saw them (PostgreSQL's re-check of a locked row):
    # a target centre or assignee set meanwhile is read again rather than taken as still empty.
    for name in ("target_centre", "assignee"):
        related = ticket._state.fields_cache.get(name)
        if (related.pk if related is not None else None) != getattr(ticket, f"{name}_id"):
            ticket._state.fields_cache.pop(name, None)
    return ticket


def _lock_writable(ticket_id: int, by: User) -> Ticket:
    """Lock the ticket for a change by `by`: 404 when they may not see it, 409 when it was merged
    into another request (a merged request is a read-only pointer; the body has `merged_into`)."""
    ticket = _lock(ticket_id)
    if not can_view_ticket(by, ticket):
        raise HubError(NOT_FOUND, NO_SUCH_TICKET)
    _refuse_merged(ticket)
    return ticket


def _refuse_merged(ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        into = Ticket.objects.only("reference").get(pk=ticket.merged_into_id)
        raise HubError(CONFLICT, _("This request was merged into %(reference)s; it takes no more changes there."),
                       extra={"merged_into": ticket.merged_into_id}, reference=into.reference)


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise HubError(STALE, _("The ticket was changed meanwhile (version %(version)s, you had %(yours)s); "
                                "reload it and try again."),
                       extra={"version": ticket.version}, version=ticket.version, yours=expected_version)


def _touch(ticket: Ticket, now: datetime, fields: list[str], *, watchers_removed: bool = False) -> None:
    """Save a change of `ticket` (its `fields`) with its new version. Every change is saved here, so
    here too a change of what the ticket's readers are decided from (`READERS_FIELDS`, or watchers
    removed: accepted by one centre, redirected, re-marked, merged) tells the sockets open on its
    discussion thread to re-check at once: those whose person no longer sees the ticket close (4403)
    before the thread's next message (hub.services.topic_access_changed)."""
    ticket.version += 1
    ticket.updated_at = now
    ticket.save(update_fields=[*fields, "version", "updated_at"])
    if ticket.thread_id is not None and (watchers_removed or not READERS_FIELDS.isdisjoint(fields)):
        topic_access_changed(thread_slug(ticket))


def _event(ticket: Ticket, actor: User | None, kind: str, *, field: str = "", before: Any = None, after: Any = None,
           note: str = "", internal: bool = False, internal_to_id: int | None = None,
           at: datetime | None = None) -> TicketEvent:
    """A history line; an internal one belongs to `internal_to_id` (default: the target centre now)."""
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, field=field, before=before, after=after, note=note,
        internal=internal, internal_to_id=(internal_to_id or ticket.target_centre_id) if internal else None,
        created_at=at or timezone.now(),
    )


def _broadcast(ticket: Ticket, event: TicketEvent, *, comment: CommentWire | None = None,
               attachment: AttachmentWire | None = None, audience: Audience | None = None,
               was: Audience | None = None) -> None:
    """The `ticket` frame of a change, to the ticket's audience (`requests.selectors.audience_of`),
    or, for a change about a comment or an attachment, to that item's (`item_audience`): an internal
    one's goes to the centre it belongs to (`internal_to`), not whoever the ticket targets. `was`:
    the ticket's readers before a change that may have narrowed them (a status move, a new TLP or
    target centre, a watcher removed, a merge): those it left out get `ticket.withdrawn` in the same
    hand-over (`hub.realtime.publisher.withdrawal`)."""
    readers = audience_of(ticket) if was is not None or (audience is None and not event.internal) else None
    if audience is None:
        audience = (readers if readers is not None and not event.internal else
                    item_audience(ticket, tlp=ticket.tlp, shared_with=None, internal=True,
                                  internal_to=event.internal_to_id))
    frame: TicketFrame = {"type": "ticket", "ticket": ticket_summary(ticket), "event": event_out(event)}
    if comment is not None:
        frame["comment"] = comment
    if attachment is not None:
        frame["attachment"] = attachment
    withdrawn: TicketWithdrawnFrame = {"type": "ticket.withdrawn", "id": ticket.pk}
    broadcast_together_on_commit([(groups_for(audience), frame, audience),
                                  *(withdrawal(withdrawn, before=was, after=readers) if readers is not None else [])])
    # The people it concerns (email if unseen) and the centres' webhooks, committed with the change.
    notify.ticket_changed(ticket=ticket, event=event)


def _clean_text(value: str | None, name: str, max_len: int | None = None, required: bool = True,
                single_line: bool = False) -> str:
    # The hub's one text rule (hub/lib/text.py): surrogates, NUL and control characters, length.
    return clean_text(value, field=name, max_length=max_len, required=required, single_line=single_line)


def _centre(code: str | None) -> Centre | None:
    if code is None or str(code).strip() == "":
        return None
    centre = Centre.objects.filter(code=str(code).strip().upper()).first()
    if centre is None:
        raise invalid("target_centre", _("no centre with code “%(centre)s”."), centre=code)
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


def next_reference(centre: Centre, *, year: int) -> str:
    """Allocate the next `CODE-YEAR-NNNN` for `centre`; call inside the creating transaction.

    The increment is one `UPDATE … SET last = last + 1`: it takes the row's write lock (PostgreSQL
    row lock, SQLite database lock) and holds it until the creating transaction commits, so concurrent
    creations queue on it and each reads back its own number — no duplicates, no gaps on rollback."""
    TicketSequence.objects.get_or_create(centre=centre, year=year)
    TicketSequence.objects.filter(centre=centre, year=year).update(last=F("last") + 1)
    last = TicketSequence.objects.filter(centre=centre, year=year).values_list("last", flat=True).get()
    return f"{centre.code}-{year}-{last:04d}"


def _clean_ticket_tlp(tlp: Any, target: Centre | None) -> str:
    """A ticket's marking: AMBER (its two centres) unless chosen. AMBER+STRICT and RED name their
    recipients, so they need a target centre: "any centre" would show the request to everyone."""
    marking = clean_tlp(tlp, default=Tlp.AMBER)
    if marking in PARTY_ONLY and target is None:
        raise HubError(INVALID, _("tlp: a TLP:%(tlp)s request needs a target centre (\"any centre\" would show "
                                  "it to every centre)."), fields=["tlp", "target_centre"], tlp=marking.upper())
    return marking


def create_ticket(*, by: User, title: str | None = None, description: str | None = None,
                  category: str | None = None, priority: str | None = None, target_centre: str | None = None,
                  tlp: Any = None, origin: dict[str, Any] | None = None, template: int | None = None) -> Ticket:
    """Open a request. `tlp` defaults to AMBER; `origin` is what a promotion quotes (chat.promotion);
    `template` (a `TicketTemplate` id) fills what is not given: its title and description with the
    placeholders filled in for `by`, its checklist, category, priority and target centre."""
    if by.centre_id is None:
        raise HubError(FORBIDDEN, _("Only staff of a centre can request support (your account has no centre)."))
    used = None
    if template is not None:
        # Only a template the person may use (their centre's, or shared): the same rule as the list.
        found = visible_templates(by).filter(pk=template).first()
        if found is None:
            raise invalid("template", _("no such template."))
        # The template's marking is the request's default, and its floor (a request never says less
        # about its text than the template it was made from).
        tlp = clean_tlp(tlp, floor=found.tlp)
        used = {"id": found.pk, "name": found.name, "centre": found.centre.code}
        filled = render_template(found, for_user=by)
        title = title if title else filled["title"]
        description = description if description else filled["description"]
        category = category or found.category
        priority = priority or found.priority
        if target_centre is None and found.target_centre is not None and found.target_centre_id != by.centre_id:
            target_centre = found.target_centre.code
    if category is None:
        raise invalid("category", REQUIRED)
    centre = by.centre
    assert centre is not None  # checked above
    return _open_ticket(by=by, centre=centre, requested_by=by, title=title, description=description or "",
                        category=category, priority=priority or Priority.NORMAL,
                        target=_centre(target_centre), tlp=tlp, origin=origin,
                        created={"template": used} if used else {})


def _open_ticket(*, by: User, centre: Centre, requested_by: User, title: Any, description: str, category: str,
                 priority: str, target: Centre | None, tlp: Any, origin: dict[str, Any] | None = None,
                 created: dict[str, Any] | None = None) -> Ticket:
    """A new request from `centre` (asked by `requested_by`, opened by `by`: the same person, except
    for a split), in its own transaction (or the caller's): checked, numbered, watched by the
    requester and `by`, with its thread, its `created` event (plus `created`) and its frame."""
    title = _clean_text(title, "title", 200, single_line=True)
    description = _clean_text(description, "description", 20000, required=False)
    if category not in Category.values:
        raise invalid("category", ONE_OF, values=", ".join(Category.values))
    if priority not in Priority.values:
        raise invalid("priority", ONE_OF, values=", ".join(Priority.values))
    if target is not None and target.pk == centre.pk:
        raise invalid("target_centre", OTHER_CENTRE)
    tlp = _clean_ticket_tlp(tlp, target)
    with transaction.atomic():
        now = timezone.now()
        ticket = Ticket(
            reference=next_reference(centre, year=timezone.localtime(now).year),
            title=title,
            description=description,
            description_html=render_markdown(description),
            category=category,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            requesting_centre=centre,
            requested_by=requested_by,
            target_centre=target,
            created_at=now,
            updated_at=now,
            tlp=tlp,
            origin=origin,
        )
        ticket.search_text = _search_text(ticket)
        sla.schedule(ticket)  # both clocks, in the target centre's working time
        ticket.save()
        ticket.watchers.add(*{requested_by, by})
        _ensure_thread(ticket)
        event = _event(ticket, by, TicketEvent.Kind.CREATED, after={
            "status": ticket.status, "priority": priority, "category": category,
            "target_centre": target.code if target else None, "tlp": tlp,
            **({"promoted_from": origin} if origin else {}), **(created or {}),
        }, at=now)
        _broadcast(ticket, event)
    return ticket


@contextmanager
def _keeping_quotes(ticket: Ticket, *, fields: list[str]) -> Iterator[None]:
    """THE check of every move that may widen a request — its TLP or target centre (`update_ticket`),
    a status move (`transition_ticket`), a watcher added (`add_watcher`, `merge_ticket`) — wrapped
    around the move inside its transaction, so a refusal rolls it all back: a request promoted with
    its messages' text quoted reaches no one they exclude that it did not reach before the move, nor
    goes looser than their tightest TLP (chat.promotion.check_quote_floor, on the live messages).
    Nothing is read for a request that quotes nothing."""
    from chat.promotion import check_quote_floor, quotes

    if not quotes(ticket.origin):
        yield
        return
    before, marking = audience_of(ticket), ticket.tlp
    yield
    check_quote_floor(ticket.origin, kind="ticket", fields=fields, audience=audience_of(ticket), tlp=ticket.tlp,
                      named=list(ticket.watchers.select_related("centre")), before=before, before_tlp=marking)


# --- the workflow ------------------------------------------------------------------------------------


def transition_ticket(ticket: Ticket, *, by: User, to: str, note: str = "",
                      expected_version: int | None = None) -> Ticket:
    """Move `ticket` to status `to` if the state machine lets `by` do so now.

    The row is locked and re-read first, so the decision is taken on the current status: of two
    concurrent movers exactly one succeeds and the other gets 409 with the moves still open to them.
    """
    note = _clean_text(note, "note", 5000, required=False)
    if to not in Status.values:
        raise invalid("to", ONE_OF, values=", ".join(Status.values))
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        _check_version(ticket, expected_version)
        move = workflow.require_move(ticket, by, to, note)
        now = timezone.now()
        before, was = ticket.status, audience_of(ticket)
        with _keeping_quotes(ticket, fields=["to"]):
            done = workflow.perform(move, ticket, by, now)
        _touch(ticket, now, done.fields)
        event = _event(ticket, by, TicketEvent.Kind.TRANSITION, field="status", before=before, after=to,
                       note=note, at=now)
        for kind, data in done.events:  # what the move brought with it (target centre, assignee)
            _event(ticket, by, kind, at=now, **data)
        _broadcast(ticket, event, was=was)
    return ticket


def assign_ticket(ticket: Ticket, *, by: User, username: str | None,
                  expected_version: int | None = None) -> Ticket:
    """Make the active person `username` the ticket's assignee (None: nobody), as `workflow.may_assign`
    allows `by`."""
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        _check_version(ticket, expected_version)
        assignee = None
        if username:
            assignee = User.objects.select_related("centre").filter(username=username, is_active=True).first()
            if assignee is None:
                raise invalid("username", NO_USER, username=username)
        if not workflow.may_assign(by, ticket, assignee):
            raise HubError(FORBIDDEN, _("Only managers of the target centre (or a hub admin) assign this ticket, "
                                      "to someone of the target centre; staff may take an unassigned ticket."))
        if (assignee.pk if assignee else None) == ticket.assignee_id:
            return ticket
        before = ticket.assignee.username if ticket.assignee is not None else None
        now = timezone.now()
        ticket.assignee = assignee
        # An assignment made by the target centre is its first response (the SLA clock stops).
        answered = sla.respond(ticket, now) if by.centre_id and by.centre_id == ticket.target_centre_id else []
        _touch(ticket, now, ["assignee", *answered])
        event = _event(ticket, by, TicketEvent.Kind.ASSIGNED, field="assignee", before=before,
                       after=assignee.username if assignee else None, at=now)
        _broadcast(ticket, event)
    return ticket


_SAME = object()


def _set(ticket: Ticket, done: workflow.Consequences, name: str, value: Any, *, shown: Any = _SAME,
         before: Any = _SAME, fields: tuple[str, ...] = ()) -> None:
    """Set a field and record the change (`before`/`shown`: what the history says, when not the values)."""
    done.events.append((TicketEvent.Kind.FIELD, {"field": name,
                                                 "before": getattr(ticket, name) if before is _SAME else before,
                                                 "after": value if shown is _SAME else shown}))
    setattr(ticket, name, value)
    done.fields.extend(fields or (name,))


def _edit_title(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    title = _clean_text(value, "title", 200, single_line=True)
    if title != ticket.title:
        _set(ticket, done, "title", title)


def _edit_description(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    description = _clean_text(value, "description", 20000, required=False)
    if description != ticket.description:
        _set(ticket, done, "description", description, fields=("description", "description_html"))
        ticket.description_html = render_markdown(description)


def _edit_category(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    if value not in Category.values:
        raise invalid("category", ONE_OF, values=", ".join(Category.values))
    if value != ticket.category:
        _set(ticket, done, "category", value)


def _reschedule(ticket: Ticket, done: workflow.Consequences) -> None:
    """The SLA clocks again from the creation time (a new priority or target centre); a moved
    resolution due time is in the history."""
    before = ticket.due_at
    done.fields.extend(sla.schedule(ticket))
    if ticket.due_at != before:
        done.events.append((TicketEvent.Kind.FIELD, {"field": "due_at", "before": timestamp(before),
                                                     "after": timestamp(ticket.due_at)}))


def _edit_priority(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    """A new priority moves the due times by its SLA targets (both changes are in the history)."""
    if value not in Priority.values:
        raise invalid("priority", ONE_OF, values=", ".join(Priority.values))
    if value != ticket.priority:
        _set(ticket, done, "priority", value, fields=("priority", "priority_rank"))
        ticket.priority_rank = PRIORITY_RANK[value]
        _reschedule(ticket, done)


def _edit_target_centre(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    target = _centre(value)
    if (target.pk if target else None) == ticket.target_centre_id:
        return
    if not workflow.may_redirect(by, ticket):
        raise HubError(FORBIDDEN, _("Only the requesting centre redirects a ticket, and only while it is new."))
    if target is not None and target.pk == ticket.requesting_centre_id:
        raise invalid("target_centre", OTHER_CENTRE)
    if target is None and ticket.tlp in PARTY_ONLY:
        raise invalid("target_centre", _("a TLP:%(tlp)s request keeps a target centre."), tlp=ticket.tlp.upper())
    before = ticket.target_centre.code if ticket.target_centre is not None else None
    _set(ticket, done, "target_centre", target, before=before, shown=target.code if target else None)
    _reschedule(ticket, done)  # the new target's working time


def _edit_tlp(ticket: Ticket, by: User, value: Any, done: workflow.Consequences) -> None:
    """Either side may re-mark a request; AMBER+STRICT and RED keep it to its two centres (its
    watchers from elsewhere stop seeing it) and need a target centre."""
    tlp = _clean_ticket_tlp(value, ticket.target_centre)
    if tlp != ticket.tlp:
        _set(ticket, done, "tlp", tlp)


# What `update_ticket` may change, each field by its own editor (in this order).
EDITORS: dict[str, Callable[[Ticket, User, Any, workflow.Consequences], None]] = {
    "title": _edit_title,
    "description": _edit_description,
    "category": _edit_category,
    "priority": _edit_priority,
    "target_centre": _edit_target_centre,
    "tlp": _edit_tlp,
}


def update_ticket(ticket: Ticket, *, by: User, changes: dict[str, Any],
                  expected_version: int | None = None) -> Ticket:
    """Change title/description/category/priority (either side), or the target centre while new
    (the requesting side): each field by its editor above, all or nothing, one history event per
    changed field and one frame for the lot."""
    unknown = set(changes) - set(EDITORS)
    if unknown:
        raise HubError(INVALID, _("%(field)s: cannot be changed here."), fields=sorted(unknown),
                       field=sorted(unknown)[0])
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        _check_version(ticket, expected_version)
        if not workflow.may_edit(by, ticket):
            raise HubError(FORBIDDEN, _("Only the requesting and target centres edit an open ticket."))
        done = workflow.Consequences()
        # Its readers before a change of what they are decided from (`READERS_FIELDS`).
        was = audience_of(ticket) if not READERS_FIELDS.isdisjoint(changes) else None
        with _keeping_quotes(ticket, fields=[name for name in ("tlp", "target_centre") if name in changes]):
            for name, edit in EDITORS.items():
                if name in changes:
                    edit(ticket, by, changes[name], done)
        if not done.events:
            return ticket
        ticket.search_text = _search_text(ticket)
        now = timezone.now()
        _touch(ticket, now, [*done.fields, "search_text"])
        events = [_event(ticket, by, kind, at=now, **data) for kind, data in done.events]
        _broadcast(ticket, events[-1], was=was)
    return ticket


# --- comments, attachments, watchers -------------------------------------------------------------------


def _clean_item_scope(ticket: Ticket, by: User, shared_with: Any) -> list[str] | None:
    """A comment's sharing scope: null (everyone who may read the ticket) or some of the ticket's
    two centres — never wider than the ticket. Narrowing is for the people of those centres."""
    codes = clean_shared_with(shared_with)
    if codes is None:
        return None
    parties = party_codes(ticket)
    outside = [code for code in codes if code not in parties]
    if outside:
        raise invalid("shared_with", _("a comment is shared within its request's centres (%(centres)s), not with "
                                       "%(centre)s."), centres=", ".join(sorted(parties)), centre=outside[0])
    mine = by.centre.code if by.centre is not None else None
    if not by.is_hub_admin and mine not in parties:
        raise HubError(FORBIDDEN, _("Only the request's two centres narrow who reads a comment."))
    if mine in parties and mine not in codes:
        codes.append(mine)  # the author's centre always reads what they write
    return sorted(codes)


def add_comment(ticket: Ticket, *, by: User, body: str, internal: bool = False, tlp: Any = None,
                shared_with: Any = None) -> Comment:
    """Comment on `ticket`. `tlp` is the ticket's or tighter (default: the ticket's); `shared_with`
    narrows the readers to some of the ticket's two centres (e.g. the author's own)."""
    # The same ceiling (in bytes, as on the wire) and answer (413) as a chat message, and the same
    # `post` bucket (hub/lib/ratelimit.py): a comment reaches other people like a message.
    body = clean_text(body, field="body", max_bytes=settings.HUB_MAX_BODY_BYTES)
    ratelimit.charge("post")
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        if internal and not workflow.may_comment_internally(by, ticket):
            raise HubError(FORBIDDEN, _("Internal notes are for the target centre only."))
        if ticket.status in FINAL_STATUSES:
            raise HubError(CONFLICT, _("The ticket is %(status)s; it takes no more comments."),
                           status=Status(ticket.status).label)
        tlp = clean_tlp(tlp, floor=ticket.tlp)
        scope = _clean_item_scope(ticket, by, shared_with)
        now = timezone.now()
        comment = Comment.objects.create(ticket=ticket, author=by, body=body, html=render_markdown(body),
                                         internal=internal, internal_to=ticket.target_centre if internal else None,
                                         created_at=now, tlp=tlp, shared_with=scope)
        parties = workflow.parties_of(by, ticket)
        # The target centre's first public comment is its first response (the SLA clock stops).
        answered = sla.respond(ticket, now) if not internal and workflow.Party.TARGET in parties else []
        _touch(ticket, now, answered)
        event = _event(ticket, by, TicketEvent.Kind.COMMENT, after={"comment": comment.pk}, internal=internal, at=now)
        _broadcast(ticket, event, comment=comment_out(comment),
                   audience=item_audience(ticket, tlp=tlp, shared_with=scope, internal=internal,
                                          internal_to=comment.internal_to_id))
        if not internal and ticket.status == Status.WAITING_FOR_REQUESTER and workflow.Party.REQUESTER in parties:
            _requester_answered(ticket, by, now)
    return comment


def _requester_answered(ticket: Ticket, by: User, now: datetime) -> None:
    """The requester's public comment on a request waiting for them is their answer: the request
    goes back to `in_progress` (the move the workflow gives them) and the SLA clock resumes."""
    move = workflow.move_for(Status.WAITING_FOR_REQUESTER, Status.IN_PROGRESS)
    assert move is not None
    done = workflow.perform(move, ticket, by, now)
    _touch(ticket, now, done.fields)
    event = _event(ticket, by, TicketEvent.Kind.TRANSITION, field="status", before=Status.WAITING_FOR_REQUESTER,
                   after=Status.IN_PROGRESS, at=now)
    _broadcast(ticket, event)


def add_attachment(ticket: Ticket, *, by: User, upload: UploadedFile[bytes], comment_id: int | None = None,
                   tlp: Any = None) -> Attachment:
    """Attach a file to `ticket` or to one of the caller's comments; its TLP is its comment's (or the
    ticket's) or tighter, and it has its comment's readers."""
    name, content_type = validate_upload(upload)
    with removed_on_failure() as stored, transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        if ticket.status in FINAL_STATUSES:
            raise HubError(CONFLICT, _("The ticket is %(status)s; it takes no more attachments."),
                           status=Status(ticket.status).label)
        comment = None
        if comment_id is not None:
            comment = Comment.objects.filter(pk=comment_id, ticket=ticket).first()
            if comment is None or not may_read_internal(by, comment):
                raise invalid("comment", _("no such comment on this ticket."))
            if comment.author_id != by.pk and not by.is_hub_admin:
                raise HubError(FORBIDDEN, _("Files are attached to your own comments only."))
        internal = bool(comment and comment.internal)
        floor = effective_tlp(ticket, comment.tlp) if comment else ticket.tlp
        tlp = clean_tlp(tlp, floor=floor)
        scope = comment.shared_with if comment else None
        now = timezone.now()
        attachment = Attachment(ticket=ticket, comment=comment, uploaded_by=by, original_name=name,
                                content_type=content_type, size=upload.size or 0, internal=internal,
                                internal_to_id=comment.internal_to_id if comment and internal else None,
                                created_at=now, tlp=tlp, shared_with=scope)
        attachment.file.save(name, upload, save=False)
        stored.append(attachment.file.name or name)
        attachment.save()
        _touch(ticket, now, [])
        event = _event(ticket, by, TicketEvent.Kind.ATTACHMENT, after={"attachment": attachment.pk, "name": name},
                       internal=internal, internal_to_id=attachment.internal_to_id, at=now)
        _broadcast(ticket, event, attachment=attachment_out(attachment),
                   audience=item_audience(ticket, tlp=tlp, shared_with=scope, internal=internal,
                                          internal_to=attachment.internal_to_id))
    return attachment


def add_watcher(ticket: Ticket, *, by: User, username: str | None = None) -> Ticket:
    """Watch a ticket yourself (any viewer), or add someone else (the ticket's two sides)."""
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        target = by
        if username and username != by.username:
            if not workflow.may_manage_watchers(by, ticket):
                raise HubError(FORBIDDEN, _("Only the requesting and target centres add other watchers."))
            found = User.objects.filter(username=username, is_active=True).first()
            if found is None:
                raise invalid("username", NO_USER, username=username)
            target = found
        if ticket.tlp in PARTY_ONLY and not (target.centre is not None and target.centre.code in party_codes(ticket)):
            raise invalid("username", _("a TLP:%(tlp)s request stays with its two centres; %(who)s is not of them."),
                          tlp=ticket.tlp.upper(), who=target.username)
        if ticket.watchers.filter(pk=target.pk).exists():
            return ticket
        now = timezone.now()
        with _keeping_quotes(ticket, fields=["username"]):
            ticket.watchers.add(target)
        _touch(ticket, now, [])
        event = _event(ticket, by, TicketEvent.Kind.WATCHER_ADDED, field="watchers", after=target.username, at=now)
        _broadcast(ticket, event)
    return ticket


def remove_watcher(ticket: Ticket, *, by: User, username: str | None = None) -> Ticket:
    with transaction.atomic():
        ticket = _lock_writable(ticket.pk, by)
        target = by
        if username and username != by.username:
            if not workflow.may_manage_watchers(by, ticket):
                raise HubError(FORBIDDEN, _("Only the requesting and target centres remove other watchers."))
            found = User.objects.filter(username=username).first()
            if found is None:
                raise invalid("username", NO_USER, username=username)
            target = found
        if not ticket.watchers.filter(pk=target.pk).exists():
            return ticket
        now = timezone.now()
        was = audience_of(ticket)
        event = _event(ticket, by, TicketEvent.Kind.WATCHER_REMOVED, field="watchers", before=target.username,
                       at=now)
        ticket.watchers.remove(target)
        _touch(ticket, now, [], watchers_removed=True)
        # The frame goes to the readers before the removal, so the leaving watcher hears about it too
        # (and then, with everyone else it leaves out, that the request is withdrawn from them).
        _broadcast(ticket, event, audience=was, was=was)
    return ticket


# --- merge and split -------------------------------------------------------------------------------------


def _lock_pair(first_id: int, second_id: int) -> tuple[Ticket, Ticket]:
    """Lock two tickets in id order, so two operations on the same pair (a merge each way, a link
    each way) queue instead of deadlocking; returned in the order asked."""
    locked = {pk: _lock(pk) for pk in sorted((first_id, second_id))}
    return locked[first_id], locked[second_id]


def _other_ticket_id(user: User, ident: Any, field: str) -> int:
    """The id of a request `user` may see, named by id or reference, or 400 on `field` (the same
    answer whether it does not exist or is not theirs to see)."""
    text = str(ident if ident is not None else "").strip()
    pk = id_or_none(text)
    lookup = {"pk": pk} if pk is not None else {"reference": text.upper()}
    other = Ticket.objects.select_related(*TICKET_RELATED).filter(**lookup).first() if text else None
    if other is None or not can_view_ticket(user, other):
        raise invalid(field, _("no such request."))
    return other.pk


def merge_ticket(ticket: Ticket, *, by: User, into: Any, expected_version: int | None = None) -> Ticket:
    """Merge the duplicate `ticket` into the request `into` (id or reference); returns the surviving one.

    In one transaction, both rows locked (in id order): the duplicate becomes `merged` — a final
    status — and points at the survivor (`merged_into`), refusing every later write (409); the
    survivor takes the duplicate's watchers (those its TLP lets read it: for AMBER+STRICT and RED only
    the people of its two centres; the others are named in the history) and the earliest SLA clock
    (each due time, and a first response already given: `sla.take_earliest`), the duplicate's clock
    stops; both histories record the merge and both audiences get a frame and notifications.

    Comments, attachments and history are not rewritten: they stay rows of the duplicate (the
    history is append-only in the database, and an item's readers are decided by the request it was
    written on). The survivor's page and API show them under `merged_from`, each to the viewers who
    may read it on the duplicate (requests.selectors.merged_sources): merging never widens who reads
    an item, internal notes stay with their centre, and a viewer of the survivor who may not read the
    duplicate sees none of it.
    """
    into_id = _other_ticket_id(by, into, "into")
    if into_id == ticket.pk:
        raise invalid("into", _("a request cannot be merged into itself."))
    with transaction.atomic():
        source, target = _lock_pair(ticket.pk, into_id)
        if not can_view_ticket(by, source):
            raise HubError(NOT_FOUND, NO_SUCH_TICKET)
        _refuse_merged(source)
        _check_version(source, expected_version)
        if target.merged_into_id is not None:
            raise HubError(CONFLICT, _("%(reference)s was itself merged into another request; merge into that one."),
                           extra={"merged_into": target.merged_into_id}, reference=target.reference)
        for one in (source, target):
            if one.status in FINAL_STATUSES:
                raise HubError(CONFLICT, _("%(reference)s is %(status)s; only open requests are merged."),
                               reference=one.reference, status=Status(one.status).label)
        if not workflow.may_merge(by, source, target):
            raise HubError(FORBIDDEN, _("Only the centre handling %(reference)s merges a duplicate of it into it "
                                        "(and only a duplicate it handles too)."), reference=target.reference)
        now = timezone.now()
        before, readers_were = source.status, audience_of(source)
        source.status = Status.MERGED
        source.merged_into = target
        _touch(source, now, ["status", "merged_into", *sla.pause(source, now)])  # its clock stops
        merged_event = _event(source, by, TicketEvent.Kind.MERGED, field="status", before=before,
                              after={"status": Status.MERGED, "ticket": target.pk, "reference": target.reference},
                              at=now)

        # The watchers the survivor may take: for a party-only TLP, the people of its two centres.
        already = set(target.watchers.values_list("pk", flat=True))
        candidates = [w for w in source.watchers.select_related("centre").order_by("username") if w.pk not in already]
        parties = party_codes(target)
        moved = [w for w in candidates
                 if target.tlp not in PARTY_ONLY or (w.centre is not None and w.centre.code in parties)]
        left_out = [w.username for w in candidates if w not in moved]
        with _keeping_quotes(target, fields=["into"]):
            target.watchers.add(*moved)
        # The earliest SLA clock is kept (requests.sla.take_earliest); the due times it moved are in
        # the history like any other change of them.
        clocks = ("first_response_due", "due_at", "first_response_at")
        before_clocks = {name: getattr(target, name) for name in clocks}
        moved_fields = sla.take_earliest(target, source)
        done = workflow.Consequences(fields=moved_fields)
        for name in clocks:
            if name in moved_fields:
                was, now_is = before_clocks[name], getattr(target, name)
                done.events.append((TicketEvent.Kind.FIELD, {"field": name, "before": was and timestamp(was),
                                                             "after": now_is and timestamp(now_is)}))
        _touch(target, now, done.fields)
        taken_event = _event(target, by, TicketEvent.Kind.MERGED_FROM, field="merged_from", after={
            "ticket": source.pk, "reference": source.reference, "watchers": [w.username for w in moved],
            "watchers_left_out": left_out,
        }, at=now)
        for kind, data in done.events:
            _event(target, by, kind, at=now, **data)
        _broadcast(source, merged_event, was=readers_were)
        _broadcast(target, taken_event)
    return target


def split_ticket(ticket: Ticket, *, by: User, comments: list[int], title: str, description: str = "",
                 category: str | None = None, priority: str | None = None) -> Ticket:
    """Start a new request from some comments of `ticket`; returns the new one.

    The new request has the same two centres and requester, the chosen comments (copied with their
    authors, times, markings and files: the originals stay where they were written, the history being
    append-only), a TLP as tight as the tightest of the request and those comments, and a `split_from`
    link back. Internal notes cannot be chosen: they belong to their centre and the new request would
    show them to its other side. Both histories record the split."""
    ids = list(dict.fromkeys(int(c) for c in comments or []))
    if not ids:
        raise invalid("comments", _("choose at least one comment."))
    with transaction.atomic():
        source = _lock_writable(ticket.pk, by)
        if not workflow.may_split(by, source):
            raise HubError(FORBIDDEN, _("Only the requesting and target centres split an open request."))
        chosen = list(Comment.objects.filter(ticket=source, pk__in=ids).select_related("author__centre"))
        readers = audience_of(source)
        readable = [c for c in chosen if may_read_item(by, source, c, readers)]
        if len(readable) != len(ids):
            raise invalid("comments", _("no such comment on this request."))
        if any(c.internal for c in readable):
            raise invalid("comments", _("an internal note stays with its centre; it cannot start a new request."))
        tlp = tightest(source.tlp, *(effective_tlp(source, c.tlp) for c in readable))
        new = _open_ticket(
            by=by, centre=source.requesting_centre, requested_by=source.requested_by, title=title,
            description=description or str(_("Split from %(reference)s.") % {"reference": source.reference}),
            category=category or source.category, priority=priority or source.priority,
            target=source.target_centre, tlp=tlp,
            created={"split_from": {"ticket": source.pk, "reference": source.reference, "comments": ids}})
        now = timezone.now()
        files = Attachment.objects.filter(comment__in=readable).order_by("id")
        by_comment: dict[int, list[Attachment]] = {}
        for attachment in files:
            by_comment.setdefault(attachment.comment_id or 0, []).append(attachment)
        for original in sorted(readable, key=lambda c: (c.created_at, c.pk)):
            copy = Comment.objects.create(ticket=new, author=original.author, body=original.body, html=original.html,
                                          tlp=original.tlp, shared_with=original.shared_with,
                                          created_at=original.created_at)
            _event(new, by, TicketEvent.Kind.COMMENT, after={"comment": copy.pk, "copied_from": original.pk}, at=now)
            for file in by_comment.get(original.pk, []):
                # The same stored file (attachments are never deleted), a row of its own on the new request.
                Attachment.objects.create(ticket=new, comment=copy, uploaded_by=file.uploaded_by, file=file.file.name,
                                          original_name=file.original_name, content_type=file.content_type,
                                          size=file.size, tlp=file.tlp, shared_with=file.shared_with,
                                          created_at=file.created_at)
        TicketLink.objects.create(ticket=new, kind=LinkKind.SPLIT_FROM, to_ticket=source, created_by=by, created_at=now)
        _touch(source, now, [])
        event = _event(source, by, TicketEvent.Kind.SPLIT, field="split", after={
            "ticket": new.pk, "reference": new.reference, "comments": ids}, at=now)
        _broadcast(source, event)
    return new


# --- links ---------------------------------------------------------------------------------------------------


def link_ticket(ticket: Ticket, *, by: User, kind: str, to_ticket: Any = None, to_alert: int | None = None
                ) -> TicketLink:
    """Link `ticket` to another request (id or reference) or to an alert, as `kind` ("caused_by",
    "related_to"). Either side of `ticket` may, naming only what they may read themselves; linking
    twice returns the link. The history of `ticket` (and of the other request) records it; each
    viewer sees the link only if they may read both ends (requests.selectors.links_of)."""
    from alerts.selectors import visible_alerts

    if kind not in (LinkKind.CAUSED_BY, LinkKind.RELATED_TO):
        raise invalid("kind", ONE_OF, values=f"{LinkKind.CAUSED_BY}, {LinkKind.RELATED_TO}")
    if (to_ticket is None) == (to_alert is None):
        raise HubError(INVALID, _("Name either a request (`ticket`) or an alert (`alert`) to link to."),
                       fields=["ticket", "alert"])
    with transaction.atomic():
        if to_ticket is not None:
            other_id = _other_ticket_id(by, to_ticket, "ticket")
            if other_id == ticket.pk:
                raise invalid("ticket", _("a request is not linked to itself."))
            source, other = _lock_pair(ticket.pk, other_id)
            if not can_view_ticket(by, source):
                raise HubError(NOT_FOUND, NO_SUCH_TICKET)
            _refuse_merged(source)
            if other.merged_into_id is not None:
                raise invalid("ticket", _("%(reference)s was merged into another request; link to that one."),
                              reference=other.reference)
            lookup: dict[str, Any] = {"to_ticket": other}
            about: dict[str, Any] = {"kind": kind, "ticket": other.pk, "reference": other.reference}
        else:
            source = _lock_writable(ticket.pk, by)
            alert = visible_alerts(by).filter(pk=int(to_alert or 0)).first()
            if alert is None:
                raise invalid("alert", _("no such alert."))
            other = None
            lookup = {"to_alert": alert}
            about = {"kind": kind, "alert": alert.pk}
        if not workflow.may_link(by, source):
            raise HubError(FORBIDDEN, _("Only the requesting and target centres link a request."))
        existing = TicketLink.objects.filter(ticket=source, kind=kind, **lookup).first()
        if existing is not None:
            return existing
        now = timezone.now()
        link = TicketLink.objects.create(ticket=source, kind=kind, created_by=by, created_at=now, **lookup)
        _touch(source, now, [])
        event = _event(source, by, TicketEvent.Kind.LINK_ADDED, field="links", after={**about, "link": link.pk}, at=now)
        _broadcast(source, event)
        if other is not None:  # shown on both: the other request's history says so too
            _touch(other, now, [])
            _broadcast(other, _event(other, by, TicketEvent.Kind.LINK_ADDED, field="links", after={
                "kind": kind, "ticket": source.pk, "reference": source.reference, "link": link.pk,
                "reverse": True}, at=now))
    return link


def unlink_ticket(ticket: Ticket, *, by: User, link_id: int) -> None:
    """Remove a link `ticket` has (either end). The link must be one the caller sees; split links
    are part of the record and stay."""
    from requests.selectors import link_visible

    with transaction.atomic():
        found = TicketLink.objects.filter(pk=link_id).filter(
            models.Q(ticket_id=ticket.pk) | models.Q(to_ticket_id=ticket.pk)).first()
        if found is None:
            raise HubError(NOT_FOUND, _("No such link."))
        if found.kind == LinkKind.SPLIT_FROM:
            raise HubError(CONFLICT, _("A split is part of both requests' record; its link stays."))
        ends = [found.ticket_id] + ([found.to_ticket_id] if found.to_ticket_id else [])
        locked = {pk: _lock(pk) for pk in sorted(ends)}
        source = locked[ticket.pk]
        if not can_view_ticket(by, source) or not link_visible(by, found):
            raise HubError(NOT_FOUND, _("No such link."))
        _refuse_merged(source)
        if not workflow.may_link(by, source):
            raise HubError(FORBIDDEN, _("Only the requesting and target centres link a request."))
        now = timezone.now()
        for pk, one in locked.items():
            about: dict[str, Any] = {"kind": found.kind, "link": found.pk}
            other_end = found.to_ticket_id if pk == found.ticket_id else found.ticket_id
            if other_end:
                about.update(ticket=other_end, reference=locked[other_end].reference)
            else:
                about.update(alert=found.to_alert_id)
            _touch(one, now, [])
            _broadcast(one, _event(one, by, TicketEvent.Kind.LINK_REMOVED, field="links", before=about, at=now))
        found.delete()


# --- request templates ---------------------------------------------------------------------------------------


def _clean_checklist(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 50:
        raise invalid("checklist", _("a list of at most 50 items."))
    return [_clean_text(item if isinstance(item, str) else None, "checklist", 300, single_line=True)
            for item in value]


TEMPLATE_FIELDS = ("name", "category", "priority", "target_centre", "title", "description", "checklist", "tlp",
                   "shared")


def _apply_template_fields(template: TicketTemplate, values: dict[str, Any]) -> None:
    unknown = set(values) - set(TEMPLATE_FIELDS)
    if unknown:
        raise HubError(INVALID, _("%(field)s: cannot be changed here."), fields=sorted(unknown),
                       field=sorted(unknown)[0])
    if "name" in values:
        template.name = _clean_text(values["name"], "name", 120, single_line=True)
    if "title" in values:
        template.title = _clean_text(values["title"], "title", 200, single_line=True)
    if "description" in values:
        template.description = _clean_text(values["description"], "description", 20000, required=False)
    if "category" in values:
        if values["category"] not in Category.values:
            raise invalid("category", ONE_OF, values=", ".join(Category.values))
        template.category = values["category"]
    if "priority" in values:
        if values["priority"] not in Priority.values:
            raise invalid("priority", ONE_OF, values=", ".join(Priority.values))
        template.priority = values["priority"]
    if "target_centre" in values:
        template.target_centre = _centre(values["target_centre"])
    if "checklist" in values:
        template.checklist = _clean_checklist(values["checklist"])
    if "tlp" in values:
        template.tlp = clean_tlp(values["tlp"], default=Tlp.AMBER)
    if "shared" in values:
        if not isinstance(values["shared"], bool):
            raise invalid("shared", _("true or false."))
        template.shared = values["shared"]
    # TLP:AMBER+STRICT and TLP:RED keep a text with the centre that wrote it (as they keep a request
    # with its two centres): such a template is not shared with every centre.
    if template.shared and template.tlp in PARTY_ONLY:
        raise HubError(INVALID, _("A TLP:%(tlp)s template stays with its centre: it cannot be shared with every "
                                  "centre."), fields=["shared", "tlp"], tlp=template.tlp.upper())


def _unique_name(template: TicketTemplate) -> None:
    if TicketTemplate.objects.filter(centre_id=template.centre_id, name=template.name).exclude(pk=template.pk).exists():
        raise invalid("name", _("your centre already has a template named “%(name)s”."), name=template.name)


def create_template(*, by: User, centre: str | None = None, **values: Any) -> TicketTemplate:
    """A new template of `by`'s centre (a hub admin names the centre), by its managers."""
    owner = _centre(centre) if centre else by.centre
    if owner is None:
        raise invalid("centre", _("name the centre whose template this is."))
    if not workflow.may_manage_templates(by, owner.pk):
        raise HubError(FORBIDDEN, _("A centre's request templates are kept by its managers."))
    template = TicketTemplate(centre=owner, created_by=by, category=Category.OTHER, title="", name="")
    _apply_template_fields(template, {"checklist": [], **values})
    for required in ("name", "title"):
        if not getattr(template, required):
            raise invalid(required, REQUIRED)
    if "category" not in values:
        raise invalid("category", ONE_OF, values=", ".join(Category.values))
    _unique_name(template)
    template.save()
    return template


def update_template(template: TicketTemplate, *, by: User, changes: dict[str, Any]) -> TicketTemplate:
    if not workflow.may_manage_templates(by, template.centre_id):
        raise HubError(FORBIDDEN, _("A centre's request templates are kept by its managers."))
    _apply_template_fields(template, changes)
    _unique_name(template)
    template.updated_at = timezone.now()
    template.save()
    return template


def delete_template(template: TicketTemplate, *, by: User) -> None:
    """Requests opened from it keep what it gave them (their `created` event names it)."""
    if not workflow.may_manage_templates(by, template.centre_id):
        raise HubError(FORBIDDEN, _("A centre's request templates are kept by its managers."))
    template.delete()


# --- the SLA watch (hub.jobs "requests.sla", requests/jobs.py) -------------------------------------------


def send_sla_reminders(*, now: datetime | None = None) -> list[str]:
    """Tell the target centre and the requester that a clock is due soon (80 % spent) or breached:
    a `ticket.sla` frame, a history entry by the hub itself and the people's notifications, once per
    clock and due time. Exactly once however many workers run this at the same moment: each notice
    is an `SlaReminder` row under a unique constraint, written under the ticket's row lock and
    re-checked there (the request may have been answered meanwhile)."""
    now = now or timezone.now()
    lines: list[str] = []
    for clock, kind, candidates in sla.reminders_due(now):
        for ticket_id in list(candidates.values_list("pk", flat=True)[:500]):
            line = _remind(ticket_id, clock, kind, now)
            if line:
                lines.append(line)
    return lines


def _remind(ticket_id: int, clock: str, kind: str, now: datetime) -> str | None:
    with transaction.atomic():
        ticket = _lock(ticket_id)
        due = sla.still_due(ticket, clock, kind, now)
        if due is None:
            return None
        try:
            with transaction.atomic():
                SlaReminder.objects.create(ticket=ticket, clock=clock, kind=kind, due=due, at=now)
        except IntegrityError:  # another worker sent it first
            return None
        breached = kind == SlaReminder.Kind.BREACHED
        event = _event(ticket, None, TicketEvent.Kind.SLA_BREACHED if breached else TicketEvent.Kind.SLA_DUE_SOON,
                       field=clock, after=timestamp(due), at=now)
        frame: TicketSlaFrame = {
            "type": "ticket.sla", "event": "breached" if breached else "due_soon",
            "clock": "first_response" if clock == sla.FIRST_RESPONSE else "resolution",
            "due": timestamp(due), "ticket": ticket_summary(ticket), "entry": event_out(event),
        }
        audience = Audience(centres=frozenset({ticket.target_centre.code}) if ticket.target_centre else None,
                            users=frozenset({ticket.requested_by_id}))
        broadcast_on_commit(groups_for(audience), frame, audience)
        notify.ticket_changed(ticket=ticket, event=event)
    return f"{ticket.reference}: {clock} {kind} (due {timestamp(due)})"


# --- a working calendar changed (worktime.signals.working_time_changed, after its commit) ------------


def reschedule_open_tickets(*, centres: frozenset[int | None]) -> int:
    """The working time of `centres` changed (their week, or a holiday exception; None is the shared
    calendar every centre's time includes): every open request whose clocks run in one of them gets
    its due times again from its creation time (`sla.schedule`), each under its row lock, so the
    lists, the "overdue" filter and the SLA watch use the new calendar at once. Returns how many
    requests' due times moved. Called on commit of the change (requests/apps.py)."""
    candidates = Ticket.objects.filter(status__in=OPEN_STATUSES)
    if None not in centres:
        candidates = candidates.filter(target_centre_id__in=[c for c in centres if c is not None])
    moved = 0
    for ticket_id in list(candidates.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=ticket_id, status__in=OPEN_STATUSES).first()
            if ticket is None:
                continue
            before = [getattr(ticket, name) for name in sla.SCHEDULED]
            sla.schedule(ticket)
            if [getattr(ticket, name) for name in sla.SCHEDULED] != before:
                Ticket.objects.filter(pk=ticket_id).update(**{name: getattr(ticket, name) for name in sla.SCHEDULED})
                moved += 1
    if moved:
        logger.info("working time of %s changed: due times of %s open requests recomputed",
                    sorted(c or 0 for c in centres), moved)
    return moved

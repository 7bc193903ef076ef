"""`/api/v1/tickets…`: cross-centre support requests (see docs/tickets.md).

Views are thin: parse, call a selector or service, serialise. `{ident}` in paths is the numeric id or
the reference (`HT-2026-0042`). Every ticket the caller may not see is a 404, exactly like one that
does not exist.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from chat.promotion import promoted_from
from hub.errors import NOT_FOUND, HubError, invalid
from hub.lib.api_support import ERRORS, ApiRequest, ErrorOut, InSchema, PersonOut, Timestamp, trusted_json
from hub.lib.inputs import parse_id
from hub.lib.jsonutil import timestamp
from hub.lib.uploads import check_length, multipart_body
from hub.models import User
from hub.selectors import centres_by_id
from requests import history, services, workflow
from requests.models import FINAL_STATUSES, Attachment, Comment, Ticket, TicketEvent, TicketTemplate
from requests.seen import record_view
from requests.selectors import (
    TicketFilters,
    audience_of,
    can_see_internal,
    get_template,
    get_visible_ticket,
    internal_visible_q,
    items_named,
    links_of,
    may_read_item,
    merged_sources,
    names_only_visible,
    possible_assignees,
    render_template,
    ticket_page,
    visible_templates,
)
from requests.serializers import attachment_out, comment_out, event_out, person, ticket_summary

router = Router(tags=["tickets"])

RESPONSES = {**ERRORS, 409: ErrorOut, 413: ErrorOut}


# --- schemas -----------------------------------------------------------------------------------------


class SlaOut(Schema):
    """The request's service level in its target centre's working time (docs/tickets.md, "Service levels")."""

    first_response_due: Timestamp | None
    resolution_due: Timestamp = Field(description="While paused: when it would be due if the clock resumed now.")
    paused: bool = Field(description="Waiting for the requester: the resolution clock stands still.")
    breached: bool = Field(description="Either clock is past its due time.")
    state: str = Field(description="The resolution clock: running, paused or stopped (resolved, closed, rejected).")
    paused_reason: str | None = Field(description="waiting_for_requester, or null.")
    paused_since: Timestamp | None
    due_soon: bool = Field(description="Open, not breached, and 80 % of a running clock's target spent.")
    first_response_at: Timestamp | None
    first_response_breached: bool
    resolution_breached: bool
    first_response_remaining_minutes: int | None = Field(
        description="Working minutes left (negative once past); null once answered.")
    resolution_remaining_minutes: int | None = Field(
        description="Working minutes left (negative once past; frozen while paused); null once stopped.")
    first_response_target_minutes: int
    resolution_target_minutes: int


class TicketSummaryOut(Schema):
    id: int
    reference: str
    title: str
    category: str
    priority: str
    status: str
    requesting_centre: str
    target_centre: str | None
    requested_by: PersonOut
    assignee: PersonOut | None
    due_at: Timestamp = Field(description="The resolution due time (working time of the target centre).")
    overdue: bool = Field(description="Open and an SLA clock breached.")
    sla: SlaOut
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    url: str
    thread: str | None
    tlp: str = Field(description="FIRST TLP 2.0; AMBER by default. AMBER+STRICT and RED keep the request to the "
                                 "people of its two centres.")
    merged_into: int | None = Field(None, description="Set when this request was merged into another (its id): it "
                                                      "is then a read-only pointer and every write answers 409.")


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    comment: int | None
    internal: bool
    tlp: str
    shared_with: list[str] | None
    uploaded_by: PersonOut
    created_at: Timestamp
    url: str


class CommentOut(Schema):
    id: int
    author: PersonOut
    body: str
    html: str
    internal: bool
    tlp: str = Field(description="The request's TLP or tighter.")
    shared_with: list[str] | None = Field(description="Some of the request's two centres, or null: all its readers.")
    created_at: Timestamp
    attachments: list[AttachmentOut]


class EventOut(Schema):
    id: int
    kind: str
    field: str | None
    before: Any = None
    after: Any = None
    note: str
    internal: bool
    actor: PersonOut | None = Field(description="Null when the hub itself acted (SLA reminders).")
    created_at: Timestamp
    text: str | None = Field(None, description="The event as a sentence in the caller's language, with names and "
                                               "labels (the ticket page's history; absent in frames).")


class PermissionsOut(Schema):
    edit: bool
    assign: bool
    comment_internally: bool
    manage_watchers: bool
    merge: bool = Field(description="Whether the caller's centre handles this request, so may merge a duplicate "
                                    "into it, or merge it into another request it handles.")
    split: bool
    link: bool


class LinkedTicketOut(Schema):
    id: int
    reference: str
    title: str
    status: str
    url: str


class LinkedAlertOut(Schema):
    id: int
    title: str
    severity: str
    tlp: str
    status: str
    url: str


class LinkOut(Schema):
    id: int
    kind: str = Field(description="caused_by, related_to or split_from (as stored, from the request that made it)")
    direction: str = Field(description="out: made on this request; in: made on the other request")
    label: str = Field(description="How it reads from this request, in the caller's language (e.g. “causes”)")
    ticket: LinkedTicketOut | None
    alert: LinkedAlertOut | None
    created_at: Timestamp


class MergedSourceOut(Schema):
    """A duplicate merged into this request, with what the caller may read of it there."""

    id: int
    reference: str
    title: str
    url: str
    requesting_centre: str
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[EventOut]


class TicketDetailOut(TicketSummaryOut):
    description: str
    description_html: str
    watchers: list[PersonOut]
    comments: list[CommentOut]
    attachments: list[AttachmentOut]
    history: list[EventOut]
    allowed_transitions: list[str]
    permissions: PermissionsOut
    thread_url: str | None
    promoted_from: dict[str, Any] | None = Field(
        None, description="The conversation the request was promoted from: who promoted it and the quoted messages, "
                          "each as the caller may read it now (a placeholder for one they may not read).")
    links: list[LinkOut] = Field(description="Links to requests and alerts the caller may read (both ends).")
    merged_from: list[MergedSourceOut] = Field(
        description="Duplicates merged into this request that the caller may read, with their comments, "
                    "attachments and history as the caller may read them on the duplicate.")


class TicketPageOut(Schema):
    results: list[TicketSummaryOut]
    next: str | None


class TicketIn(InSchema):
    title: str | None = Field(None, max_length=200, description="Required unless a template gives it.")
    description: str | None = None
    category: str | None = Field(None, description="Required unless a template gives it.")
    priority: str | None = Field(None, description="normal unless given (or given by the template)")
    template: int | None = Field(None, description="A request template's id: what is not given comes from it, "
                                                   "placeholders filled in for the caller.")
    target_centre: str | None = None
    tlp: str | None = Field(None, description="clear, green, amber (the default), amber+strict or red; the last two "
                                              "need a target centre.")


class TicketPatchIn(InSchema):
    title: str | None = None
    description: str | None = None
    category: str | None = None
    priority: str | None = None
    target_centre: str | None = None
    tlp: str | None = None
    version: int | None = None


class TransitionIn(InSchema):
    to: str
    note: str = ""
    version: int | None = None


class CommentIn(InSchema):
    body: str
    internal: bool = False
    tlp: str | None = Field(None, description="The request's TLP (the default) or tighter.")
    shared_with: list[str] | None = Field(None, description="Some of the request's two centres (the author's is "
                                                            "always included); null: everyone who may read it.")


class AssignIn(InSchema):
    username: str | None = Field(None, description="Who gets the ticket (its staff's username); null unassigns. "
                                                   "Required (or `assignee`).")
    assignee: str | None = Field(None, description="The former name of `username`, still accepted (not both).",
                                 json_schema_extra={"deprecated": True})
    version: int | None = None

    def person(self) -> str | None:
        """The username asked for: a person is named `username` in every request body."""
        given = self.model_fields_set & {"username", "assignee"}
        if len(given) != 1:
            raise invalid("username", _("required (null unassigns); `assignee`, its former name, not besides it."))
        return self.username if "username" in given else self.assignee


class WatcherIn(InSchema):
    username: str | None = Field(None, description="Whom to add; omitted: the caller watches.")


class ListQuery(Schema):
    status: str | None = None
    category: str | None = None
    priority: str | None = None
    centre: str | None = None
    assignee: str | None = None
    overdue: str | None = Field(None, description="true/false; empty means either")
    q: str | None = None
    sort: str | None = None
    limit: int | None = None
    cursor: str | None = None


# --- rendering ---------------------------------------------------------------------------------------


def _readable_items(ticket: Ticket, user: User, centres: dict[int, Any]
                    ) -> tuple[list[Comment], list[Attachment], list[TicketEvent]]:
    """The comments, attachments and history lines of `ticket` that `user` may read on it."""
    # Internal rows: their own centre's only, whoever the ticket targets now (internal_to; issue 20).
    readable = internal_visible_q(user)
    comment_rows = Comment.objects.filter(ticket=ticket).filter(readable).select_related("author__centre")
    attachment_rows = (Attachment.objects.filter(ticket=ticket).filter(readable)
                       .select_related("uploaded_by__centre"))
    event_rows = TicketEvent.objects.filter(ticket=ticket).filter(readable).select_related("actor__centre")
    # Each comment's and attachment's own TLP and scope (requests.selectors.item_audience), and the
    # history lines about those the viewer may not read.
    readers = audience_of(ticket)
    shown_comments = [c for c in comment_rows if may_read_item(user, ticket, c, readers, centres)]
    shown_attachments = [a for a in attachment_rows if may_read_item(user, ticket, a, readers, centres)]
    shown = {("comment", c.pk) for c in shown_comments} | {("attachment", a.pk) for a in shown_attachments}
    shown_events = names_only_visible(user, [e for e in event_rows if _about_shown(e, shown)])
    return shown_comments, shown_attachments, shown_events


def _comments_out(comments: list[Comment], attachments: list[Attachment]) -> list[Any]:
    by_comment: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        if attachment.comment_id:
            by_comment.setdefault(attachment.comment_id, []).append(attachment)
    return [comment_out(c, by_comment.get(c.pk)) for c in comments]


def _history_out(events: list[TicketEvent]) -> list[dict[str, Any]]:
    """History lines with their sentence in the caller's language (requests/history.py)."""
    texts = history.sentences(events)
    return [{**event_out(e), "text": texts[e.pk]} for e in events]


def ticket_detail(ticket: Ticket, user: User) -> dict[str, Any]:
    """Everything about one ticket that `user` may see (a constant number of queries, plus a few per
    merged duplicate)."""
    internal_ok = can_see_internal(user, ticket)
    # Internal items name their centre by id: the centres (a dozen rows) are read once per page, so
    # the page costs the same queries whatever its history.
    centres = centres_by_id()
    comments, attachments, events = _readable_items(ticket, user, centres)
    merged_from = []
    for source in merged_sources(user, ticket):
        s_comments, s_attachments, s_events = _readable_items(source, user, centres)
        merged_from.append({
            "id": source.pk, "reference": source.reference, "title": source.title, "url": source.get_absolute_url(),
            "requesting_centre": source.requesting_centre.code,
            "comments": _comments_out(s_comments, s_attachments),
            "attachments": [attachment_out(a) for a in s_attachments],
            "history": _history_out(s_events),
        })
    body: dict[str, Any] = dict(ticket_summary(ticket))
    body.update(
        description=ticket.description,
        description_html=ticket.description_html,
        watchers=[person(u) for u in ticket.watchers.select_related("centre").order_by("username")],
        comments=_comments_out(comments, attachments),
        attachments=[attachment_out(a) for a in attachments],
        history=_history_out(events),
        allowed_transitions=workflow.allowed_moves(ticket, user),
        permissions={
            "edit": workflow.may_edit(user, ticket),
            "assign": workflow.may_assign(user, ticket, user) or (
                ticket.target_centre_id is not None and workflow.may_assign(user, ticket, None)
            ),
            "comment_internally": internal_ok,
            "manage_watchers": workflow.may_manage_watchers(user, ticket),
            # Whether the caller's centre handles this request (or could, while it is open to any
            # centre): then it may merge it as a duplicate into a request it handles.
            "merge": ticket.status not in FINAL_STATUSES and (user.is_hub_admin or (
                user.centre_id is not None and (user.centre_id == ticket.target_centre_id or (
                    ticket.target_centre_id is None and user.centre_id != ticket.requesting_centre_id)))),
            "split": workflow.may_split(user, ticket),
            "link": workflow.may_link(user, ticket),
        },
        thread_url=f"/topics/{ticket.thread.slug}/" if ticket.thread is not None else None,
        # Each quote as the viewer may read it now (chat.promotion, "Never wider later").
        promoted_from=promoted_from(ticket.origin, user),
        links=links_of(user, ticket),
        merged_from=merged_from,
    )
    return body


def _about_shown(event: TicketEvent, shown: set[tuple[str, int]]) -> bool:
    """A history line about a comment or attachment is shown with the item, not without it."""
    return all(key in shown for key in items_named(event))


def _fresh(user: User, ticket: Ticket) -> dict[str, Any]:
    return ticket_detail(get_visible_ticket(user, ticket.pk), user)


# --- endpoints ---------------------------------------------------------------------------------------


class LabelOut(Schema):
    value: str
    label: str


class MoveOut(Schema):
    source: str
    to: str
    parties: list[str]
    note_required: bool


class SlaTargetsOut(Schema):
    first_response: int = Field(description="Working minutes from creation to the first response.")
    resolution: int = Field(description="Working minutes from creation to resolution, pauses left out.")


class VocabularyOut(Schema):
    statuses: list[LabelOut]
    categories: list[LabelOut]
    priorities: list[LabelOut]
    moves: list[MoveOut]
    sla_minutes: dict[str, SlaTargetsOut]


@router.get("/ticket-vocabulary", response={200: VocabularyOut, **RESPONSES},
            summary="Statuses, categories and priorities with labels in the caller's language, and the workflow")
def vocabulary(request: ApiRequest):
    """So pages and scripts render the same names and never re-state the state machine."""
    from django.conf import settings

    from requests.models import Category, Priority, Status

    def labels(choices) -> list[dict[str, str]]:
        return [{"value": value, "label": str(label)} for value, label in choices.choices]

    return {
        "statuses": labels(Status),
        "categories": labels(Category),
        "priorities": labels(Priority),
        "moves": [{"source": m.source, "to": m.to, "parties": sorted(p.value for p in m.parties),
                   "note_required": m.note_required} for m in workflow.MOVES],
        "sla_minutes": {priority: {"first_response": first, "resolution": resolution}
                        for priority, (first, resolution) in settings.REQUESTS_SLA_MINUTES.items()},
    }


@router.post("/tickets", response={201: TicketDetailOut, **RESPONSES}, summary="Request support from a centre")
def create(request: ApiRequest, payload: TicketIn):
    ticket = services.create_ticket(by=request.auth, **payload.dict())
    return Status(201, _fresh(request.auth, ticket))


@router.get("/tickets", response={200: TicketPageOut, **RESPONSES}, summary="Tickets the caller may see")
def list_tickets(request: ApiRequest, filters: Query[ListQuery]):
    data = filters.dict()
    limit, cursor = data.pop("limit"), data.pop("cursor")
    page = ticket_page(request.auth, TicketFilters(**data), cursor, limit)
    return trusted_json({"results": [ticket_summary(t) for t in page.results], "next": page.next})


@router.get("/tickets/{ident}", response={200: TicketDetailOut, **RESPONSES},
            summary="One ticket with comments, attachments, history and the caller's allowed moves")
def detail(request: ApiRequest, ident: str):
    ticket = get_visible_ticket(request.auth, ident)
    record_view(ticket, request.auth)  # a read by the API counts as much as the page (requests/seen.py)
    return ticket_detail(ticket, request.auth)


@router.patch("/tickets/{ident}", response={200: TicketDetailOut, **RESPONSES},
              summary="Change title, description, category, priority or (while new) the target centre")
def update(request: ApiRequest, ident: str, payload: TicketPatchIn):
    ticket = get_visible_ticket(request.auth, ident)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version", None)
    ticket = services.update_ticket(ticket, by=request.auth, changes=changes, expected_version=version)
    return _fresh(request.auth, ticket)


@router.post("/tickets/{ident}/transition", response={200: TicketDetailOut, **RESPONSES},
             summary="Move the ticket through the workflow (409 names the moves allowed to the caller)")
def transition(request: ApiRequest, ident: str, payload: TransitionIn):
    ticket = get_visible_ticket(request.auth, ident)
    ticket = services.transition_ticket(ticket, by=request.auth, to=payload.to, note=payload.note,
                                        expected_version=payload.version)
    return _fresh(request.auth, ticket)


@router.post("/tickets/{ident}/comments", response={201: CommentOut, **RESPONSES},
             summary="Comment publicly, or (target centre) add an internal note")
def comment(request: ApiRequest, ident: str, payload: CommentIn):
    ticket = get_visible_ticket(request.auth, ident)
    created = services.add_comment(ticket, by=request.auth, body=payload.body, internal=payload.internal,
                                   tlp=payload.tlp, shared_with=payload.shared_with)
    return Status(201, comment_out(created))


@router.get("/tickets/{ident}/assignees", response={200: list[PersonOut], **RESPONSES},
            summary="Who the caller may make the ticket's assignee: any colleague of the target centre for its "
                    "managers, themselves for its staff (extension)")
def assignees(request: ApiRequest, ident: str):
    ticket = get_visible_ticket(request.auth, ident)
    return [person(u) for u in possible_assignees(request.auth, ticket)]


@router.post("/tickets/{ident}/assign", response={200: TicketDetailOut, **RESPONSES},
             summary="Assign (managers of the target centre) or take (any of its staff) the ticket")
def assign(request: ApiRequest, ident: str, payload: AssignIn):
    ticket = get_visible_ticket(request.auth, ident)
    ticket = services.assign_ticket(ticket, by=request.auth, username=payload.person(),
                                    expected_version=payload.version)
    return _fresh(request.auth, ticket)


@router.post("/tickets/{ident}/watchers", response={200: TicketDetailOut, **RESPONSES},
             summary="Watch the ticket (no username) or add a watcher")
def add_watcher(request: ApiRequest, ident: str, payload: WatcherIn):
    ticket = get_visible_ticket(request.auth, ident)
    ticket = services.add_watcher(ticket, by=request.auth, username=payload.username)
    return _fresh(request.auth, ticket)


@router.delete("/tickets/{ident}/watchers/{username}", response={200: TicketDetailOut, 204: None, **RESPONSES},
               summary="Stop watching (`me`) or remove a watcher")
def remove_watcher(request: ApiRequest, ident: str, username: str):
    ticket = get_visible_ticket(request.auth, ident)
    user = request.auth
    ticket = services.remove_watcher(ticket, by=user, username=None if username == "me" else username)
    try:
        return _fresh(user, ticket)
    except HubError:  # the caller watched a ticket it can no longer see
        return Status(204, None)


UPLOAD_SCHEMA = multipart_body({
    "file": {"type": "string", "format": "binary"},
    "comment": {"type": "integer", "description": "id of your comment to attach it to"},
    "tlp": {"type": "string", "description": "its comment's (or the request's) TLP or tighter"},
}, required=["file"])


@router.post("/tickets/{ident}/attachments", response={201: AttachmentOut, **RESPONSES}, openapi_extra=UPLOAD_SCHEMA,
             summary="Attach a file to the ticket or to one of your comments (multipart `file`, `comment`)")
def upload(request: ApiRequest, ident: str):
    # Visibility and size are checked before the body is read, so neither a stranger nor an oversized
    # upload makes the server spool the file.
    ticket = get_visible_ticket(request.auth, ident)
    check_length(request)
    file = request.FILES.get("file")
    if file is None:
        raise invalid("file", _("a multipart field `file` is required."))
    raw_comment = request.POST.get("comment") or None
    comment_id = parse_id(raw_comment, field="comment", message=_("must be a comment id.")) if raw_comment else None
    attachment = services.add_attachment(ticket, by=request.auth, upload=file, comment_id=comment_id,
                                         tlp=request.POST.get("tlp") or None)
    return Status(201, attachment_out(attachment))


@router.get("/tickets/{ident}/attachments/{attachment_id}", response={200: None, **RESPONSES},
            summary="Download an attachment (only for those who may see it and its comment)")
def download(request: ApiRequest, ident: str, attachment_id: int):
    user = request.auth
    ticket = get_visible_ticket(user, ident)
    attachment = Attachment.objects.filter(pk=attachment_id, ticket=ticket).first()
    if attachment is None or not may_read_item(user, ticket, attachment):
        raise HubError(NOT_FOUND, _("No such attachment."))
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# --- merge, split, links ---------------------------------------------------------------------------------


class MergeIn(InSchema):
    into: int | str = Field(description="The surviving request: its id or reference (`DN-2026-0042`).")
    version: int | None = Field(None, description="This request's version as the caller saw it (409 if stale).")


class SplitIn(InSchema):
    comments: list[int] = Field(description="Ids of the comments (not internal notes) that start the new request.")
    title: str = Field(max_length=200)
    description: str = ""
    category: str | None = None
    priority: str | None = None


class LinkIn(InSchema):
    kind: str = Field(description="caused_by or related_to")
    ticket: int | str | None = Field(None, description="The other request's id or reference")
    alert: int | None = Field(None, description="An alert's id (instead of `ticket`)")


@router.post("/tickets/{ident}/merge", response={200: TicketDetailOut, **RESPONSES},
             summary="Merge this duplicate into another request (its target centre's people); 200 the survivor")
def merge(request: ApiRequest, ident: str, payload: MergeIn):
    ticket = get_visible_ticket(request.auth, ident)
    survivor = services.merge_ticket(ticket, by=request.auth, into=payload.into, expected_version=payload.version)
    return _fresh(request.auth, survivor)


@router.post("/tickets/{ident}/split", response={201: TicketDetailOut, **RESPONSES},
             summary="Start a new linked request from chosen comments of this one")
def split(request: ApiRequest, ident: str, payload: SplitIn):
    ticket = get_visible_ticket(request.auth, ident)
    new = services.split_ticket(ticket, by=request.auth, **payload.dict())
    return Status(201, _fresh(request.auth, new))


@router.post("/tickets/{ident}/links", response={200: TicketDetailOut, **RESPONSES},
             summary="Link the request to another request or to an alert (caused by, related to)")
def add_link(request: ApiRequest, ident: str, payload: LinkIn):
    ticket = get_visible_ticket(request.auth, ident)
    services.link_ticket(ticket, by=request.auth, kind=payload.kind, to_ticket=payload.ticket, to_alert=payload.alert)
    return _fresh(request.auth, ticket)


@router.delete("/tickets/{ident}/links/{link_id}", response={200: TicketDetailOut, **RESPONSES},
               summary="Remove a link of the request")
def remove_link(request: ApiRequest, ident: str, link_id: int):
    ticket = get_visible_ticket(request.auth, ident)
    services.unlink_ticket(ticket, by=request.auth, link_id=link_id)
    return _fresh(request.auth, ticket)


# --- request templates -----------------------------------------------------------------------------------


class TemplateOut(Schema):
    id: int
    centre: str
    name: str
    category: str
    priority: str
    target_centre: str | None
    title: str
    description: str
    checklist: list[str]
    tlp: str = Field(description="The template's TLP: the default, and the floor, of a request opened from it.")
    shared: bool = Field(description="Shared with every centre (else its own centre's people only).")
    updated_at: Timestamp
    filled: dict[str, str] = Field(description="`title` and `description` as a request opened from it by the "
                                               "caller starts: placeholders filled in, the checklist as tasks.")
    can_edit: bool


class TemplateIn(InSchema):
    name: str = Field(max_length=120)
    category: str
    priority: str = "normal"
    target_centre: str | None = None
    title: str = Field(max_length=200)
    description: str = ""
    checklist: list[str] = []
    tlp: str = Field("amber", description="clear|green|amber|amber+strict|red (AMBER unless given).")
    shared: bool = Field(False, description="Share with every centre (not for AMBER+STRICT or RED); default: "
                                            "the centre's own people only.")
    centre: str | None = Field(None, description="Hub admins: whose template; others: always their centre's.")


class TemplatePatchIn(InSchema):
    name: str | None = None
    category: str | None = None
    priority: str | None = None
    target_centre: str | None = None
    title: str | None = None
    description: str | None = None
    checklist: list[str] | None = None
    tlp: str | None = None
    shared: bool | None = None


def template_out(template: TicketTemplate, user: User) -> dict[str, Any]:
    return {
        "id": template.pk, "centre": template.centre.code, "name": template.name, "category": template.category,
        "priority": template.priority,
        "target_centre": template.target_centre.code if template.target_centre is not None else None,
        "title": template.title, "description": template.description, "checklist": list(template.checklist or []),
        "tlp": template.tlp, "shared": template.shared,
        "updated_at": timestamp(template.updated_at), "filled": render_template(template, for_user=user),
        "can_edit": workflow.may_manage_templates(user, template.centre_id),
    }


@router.get("/ticket-templates", response={200: list[TemplateOut], **RESPONSES},
            summary="Request templates the caller may use: their centre's and those shared with every centre "
                    "(or one centre's)")
def list_templates(request: ApiRequest, centre: str | None = None):
    return [template_out(t, request.auth) for t in visible_templates(request.auth, centre)]


@router.post("/ticket-templates", response={201: TemplateOut, **RESPONSES},
             summary="Add a request template to your centre (its managers)")
def create_template(request: ApiRequest, payload: TemplateIn):
    template = services.create_template(by=request.auth, **payload.dict())
    return Status(201, template_out(get_template(request.auth, template.pk), request.auth))


@router.get("/ticket-templates/{template_id}", response={200: TemplateOut, **RESPONSES}, summary="One template")
def get_one_template(request: ApiRequest, template_id: int):
    return template_out(get_template(request.auth, template_id), request.auth)


@router.patch("/ticket-templates/{template_id}", response={200: TemplateOut, **RESPONSES},
              summary="Change a template (its centre's managers)")
def update_template(request: ApiRequest, template_id: int, payload: TemplatePatchIn):
    template = get_template(request.auth, template_id)
    services.update_template(template, by=request.auth, changes=payload.dict(exclude_unset=True))
    return template_out(get_template(request.auth, template_id), request.auth)


@router.delete("/ticket-templates/{template_id}", response={204: None, **RESPONSES},
               summary="Delete a template (its centre's managers); requests opened from it keep their text")
def delete_template(request: ApiRequest, template_id: int):
    services.delete_template(get_template(request.auth, template_id), by=request.auth)
    return Status(204, None)

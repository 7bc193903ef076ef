"""Reading tickets: who may see what, and the filtered, sorted lists.

`audience_of(ticket)` is THE visibility rule (an `Audience`: what every socket checks before a
`ticket` frame leaves, and what `can_view_ticket` asks); `visible_tickets(user)` is the same rule as
a database filter, written out for the ticket list's query plan and held to `audience_of` for every
combination of status, target, TLP, watcher and viewer by tests/requests/test_visibility.py. Both
are used by the API, the pages, search, attachments, exports and the chat thread check. A ticket is
seen by: the requesting centre, the target centre (or every centre while the target is "any" and the
ticket is new), its watchers — unless its TLP is AMBER+STRICT or RED, which keep it to the people of
its two centres — and hub admins; nobody else. Internal comments (and their attachments and events)
are written by the target centre (`can_see_internal`) and belong to it for ever: they are read by the
centre they were written for (`internal_to`) and hub admins only, whoever the ticket targets later
(issue 20, class 3); a comment's or attachment's own TLP and sharing scope narrow it further
(`item_audience`, `internal_visible_q`, `may_read_internal`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chat.selectors import topics_by_id
from hub.errors import NOT_FOUND, HubError, invalid
from hub.lib.api_support import Page, keyset_page
from hub.lib.compiled_queries import CompiledQuery
from hub.lib.inputs import id_or_none
from hub.lib.jsonutil import timestamp
from hub.lib.text import clean_query
from hub.models import Centre, Role
from hub.realtime.audience import EVERYONE, Audience
from hub.selectors import centres_by_id, people_by_id
from hub.sharing import Tlp, tightest
from requests.models import Category, LinkKind, Priority, Status, Ticket, TicketLink, TicketTemplate
from requests.workflow import may_assign, may_comment_internally

# The long texts a list never shows: left in the database when a page of summaries is read.
LIST_DEFERRED = ("description", "description_html", "search_text", "accepted_at", "resolved_at", "closed_at")
# What `requests.serializers.ticket_summary` reads, fetched in the same query as the ticket.
TICKET_RELATED = ("requesting_centre", "target_centre", "assignee__centre", "requested_by__centre", "thread")

# The small look-ups every list request makes (with hub.selectors' centres and people), their SQL
# built once per process (hub.lib.compiled_queries): building it was most of what each cost (docs/benchmarks.md).
_WATCHED = CompiledQuery(lambda pk: Ticket.watchers.through.objects.filter(user_id=pk).values_list("ticket_id"))


def fold(text: str) -> str:
    """Lower-case, accent-free text: what search compares, so "an toan" matches "An toàn"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# TLP markings that keep a ticket (or a comment, an attachment) to the people of its two centres:
# AMBER+STRICT's "only within their own organisation", RED's "named recipients only".
PARTY_ONLY = frozenset({Tlp.AMBER_STRICT, Tlp.RED})


def party_codes(ticket: Ticket) -> frozenset[str]:
    codes = {ticket.requesting_centre.code}
    if ticket.target_centre is not None:
        codes.add(ticket.target_centre.code)
    return frozenset(codes)


# The ticket's own columns `audience_of` reads (besides its watchers): a change of one of them may
# leave someone who saw the ticket unable to (requests.services._touch tells its thread's sockets).
READERS_FIELDS = frozenset({"status", "tlp", "requesting_centre", "target_centre"})


def audience_of(ticket: Ticket) -> Audience:
    """THE rule: who may see `ticket` (hub admins always, through `Audience.allows`). What it reads
    of the ticket's row is `READERS_FIELDS`."""
    watchers = (frozenset() if ticket.tlp in PARTY_ONLY
                else frozenset(ticket.watchers.values_list("pk", flat=True)))
    return ticket_audience(ticket.tlp, status=ticket.status, parties=party_codes(ticket),
                           any_centre=ticket.target_centre_id is None, watchers=watchers)


def ticket_audience(tlp: str, *, status: str, parties: frozenset[str], any_centre: bool,
                    watchers: frozenset[int]) -> Audience:
    """`audience_of` from a ticket's parts (also for a request about to be opened, chat.promotion):
    every centre while addressed to "any" and new; else its two centres, and its watchers unless the
    TLP keeps it to the two centres."""
    if any_centre and status == Status.NEW:
        return EVERYONE
    if tlp in PARTY_ONLY:
        return Audience(centres=parties)
    return Audience(centres=parties, users=watchers or None)


def visible_tickets(user: Any) -> QuerySet[Ticket]:
    """The tickets `user` may see. The watched ones are read first and inlined as a list of ids (no
    list when there are none): as a subquery, PostgreSQL could not estimate how many rows the rule
    keeps, guessed far too many, and walked the whole `updated_at` index for a page that a centre
    filter left nearly empty (docs/tickets.md)."""
    qs = Ticket.objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_hub_admin:
        return qs
    rule = Q(target_centre__isnull=True, status=Status.NEW)
    watched = [ticket_id for (ticket_id,) in _WATCHED.rows(user.pk)]
    if watched:
        rule |= Q(pk__in=watched) & ~Q(tlp__in=PARTY_ONLY)
    if user.centre_id is not None:
        rule |= Q(requesting_centre_id=user.centre_id) | Q(target_centre_id=user.centre_id)
    return qs.filter(rule)


def can_view_ticket(user: Any, ticket: Ticket) -> bool:
    return audience_of(ticket).allows(user)


_TARGET_NOW = object()


def item_audience(ticket: Ticket, *, tlp: str, shared_with: list[str] | None, internal: bool,
                  ticket_audience: Audience | None = None, internal_to: Any = _TARGET_NOW,
                  centres: dict[int, Centre] | None = None) -> Audience:
    """Who may read a comment or an attachment of `ticket`: the ticket's readers, narrowed by the
    item's own marking — internal (the centre it belongs to: `internal_to`, a centre id, for an item
    already written; the target centre now for one being written), a sharing scope (those of the
    ticket's two centres it names), a party-only TLP (the two centres, not outside watchers). `tlp`
    is the item's effective marking (`effective_tlp`); `ticket_audience` saves computing the
    ticket's again; `centres` (`hub.selectors.centres_by_id`) saves reading the centres per item."""
    if internal:
        centre_id = ticket.target_centre_id if internal_to is _TARGET_NOW else internal_to
        if centre_id is None:
            return Audience(roles=frozenset({Role.HUB_ADMIN}))
        return Audience(centres=frozenset({(centres or centres_by_id())[centre_id].code}))
    if shared_with is not None:
        return Audience(centres=frozenset(shared_with) & party_codes(ticket))
    if tlp in PARTY_ONLY:
        return Audience(centres=party_codes(ticket))
    return ticket_audience if ticket_audience is not None else audience_of(ticket)


def effective_tlp(ticket: Ticket, item_tlp: str) -> str:
    """A comment or attachment is never wider than its ticket, even after the ticket was tightened."""
    return tightest(ticket.tlp, item_tlp)


def audience_of_item(ticket: Ticket, item: Any, ticket_audience: Audience | None = None,
                     centres: dict[int, Centre] | None = None) -> Audience:
    """`item_audience` of a comment or attachment already written, from its own marking."""
    return item_audience(ticket, tlp=effective_tlp(ticket, item.tlp), shared_with=item.shared_with,
                         internal_to=item.internal_to_id, internal=item.internal,
                         ticket_audience=ticket_audience, centres=centres)


def may_read_item(user: Any, ticket: Ticket, item: Any, ticket_audience: Audience | None = None,
                  centres: dict[int, Centre] | None = None) -> bool:
    """Whether `user` (who may see `ticket`) may read this comment or attachment."""
    return audience_of_item(ticket, item, ticket_audience, centres).allows(user)


# A history line about one comment or attachment names it in its `after` under these keys.
ITEM_KINDS = ("comment", "attachment")


def items_named(event: Any) -> list[tuple[str, int]]:
    """The comments and attachments a history line is about (`("comment", 12)`), usually none or one."""
    about = event.after if isinstance(event.after, dict) else {}
    return [(kind, about[kind]) for kind in ITEM_KINDS if kind in about]


def narrower_events_q(prefix: str = "") -> Q:
    """The history lines that may be narrower than their request — internal ones, and those about a
    comment or a file (`items_named`'s keys) — as a filter (`prefix`: the path to the event, e.g.
    "ticket_event__"); `may_read_event` decides each of them, any other line is read with its request."""
    return Q(**{f"{prefix}internal": True}) | Q(**{f"{prefix}after__has_any_keys": list(ITEM_KINDS)})


# What `may_read_item` reads of a comment or an attachment.
ITEM_MARKING = ("id", "ticket", "tlp", "shared_with", "internal", "internal_to")


def items_of(events: Any, *, marking_only: bool = False) -> dict[tuple[str, int], Any]:
    """The comments and attachments `events` name, by `items_named`'s key (at most two queries);
    with `marking_only`, only what deciding who reads them needs (`ITEM_MARKING`)."""
    from requests.models import Attachment, Comment

    wanted: dict[str, set[int]] = {kind: set() for kind in ITEM_KINDS}
    for event in events:
        for kind, pk in items_named(event):
            if isinstance(pk, int):
                wanted[kind].add(pk)
    found: dict[tuple[str, int], Any] = {}
    for kind, model in (("comment", Comment), ("attachment", Attachment)):
        if wanted[kind]:
            rows = model.objects.filter(pk__in=wanted[kind])
            found.update({(kind, item.pk): item for item in (rows.only(*ITEM_MARKING) if marking_only else rows)})
    return found


def may_read_event(user: Any, ticket: Ticket, event: Any, items: dict[tuple[str, int], Any] | None = None,
                   ticket_audience: Audience | None = None, centres: dict[int, Centre] | None = None) -> bool:
    """Whether `user` (who may see `ticket`) may read this history line — and so be told of it, in
    the hub, by email or by a webhook: an internal one only its own centre (`may_read_internal`);
    one about a comment or an attachment only with the item itself (`may_read_item`: the item's
    TLP and sharing scope), and nobody once the item is gone. `items` (`items_of`) saves reading
    the items per line."""
    if not may_read_internal(user, event):
        return False
    named = items_named(event)
    if not named:
        return True
    if items is None:
        items = items_of([event])
    for key in named:
        item = items.get(key)
        if item is None or not may_read_item(user, ticket, item, ticket_audience, centres):
            return False
    return True


def can_see_internal(user: Any, ticket: Ticket) -> bool:
    """Whether `user` writes internal notes on `ticket` now (the target centre, hub admins)."""
    return may_comment_internally(user, ticket)


def internal_visible_q(user: Any) -> Q:
    """Of a ticket's comments, attachments or history events, those `user` may read: every public
    one, and the internal ones of their own centre. Used by every read path of those rows."""
    if user.is_hub_admin:
        return Q()
    if user.centre_id is None:
        return Q(internal=False)
    return Q(internal=False) | Q(internal_to_id=user.centre_id)


def may_read_internal(user: Any, item: Any) -> bool:
    """`internal_visible_q` for one comment, attachment or event already loaded."""
    return not item.internal or user.is_hub_admin or (
        user.centre_id is not None and item.internal_to_id == user.centre_id)


def possible_assignees(user: Any, ticket: Ticket) -> list[Any]:
    """The people of the target centre `user` may make the ticket's assignee (workflow.may_assign):
    any colleague for a manager, only themselves for the others, nobody once the ticket is final."""
    from hub.models import User

    if ticket.target_centre_id is None:
        return []
    staff = User.objects.filter(centre_id=ticket.target_centre_id, is_active=True).select_related("centre")
    return [person for person in staff.order_by("display_name", "username")
            if may_assign(user, ticket, person)]


def get_visible_ticket(user: Any, ident: str | int) -> Ticket:
    """The ticket by numeric id or reference (`HT-2026-0042`), or 404 — the same 404 whether it
    does not exist or the caller may not see it, so ids cannot be probed."""
    pk = id_or_none(ident)
    lookup = {"pk": pk} if pk is not None else {"reference": str(ident).strip().upper()}
    ticket = Ticket.objects.filter(**lookup).first()
    if ticket is None or not can_view_ticket(user, ticket):
        raise HubError(NOT_FOUND, _("No such ticket."))
    with_summary_relations([ticket])
    return ticket


# --- lists ---------------------------------------------------------------------------------------

SORTS: dict[str, list[str]] = {
    "-updated_at": ["-updated_at", "-id"],
    "updated_at": ["updated_at", "id"],
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "due_at": ["due_at", "id"],
    "-due_at": ["-due_at", "-id"],
    "-priority": ["-priority_rank", "-id"],
    "priority": ["priority_rank", "id"],
}
DEFAULT_SORT = "-updated_at"


@dataclass
class TicketFilters:
    status: str | None = None  # one status or a comma-separated list
    category: str | None = None
    priority: str | None = None
    centre: str | None = None  # requesting OR target centre code
    assignee: str | None = None  # username, "me", or "none"
    overdue: bool | str | None = None  # true/false/1/0/yes/no; "" or None: either
    q: str | None = None
    sort: str | None = None


def _choice_list(raw: str | None, choices: type[models.TextChoices], name: str) -> list[str] | None:
    if not raw:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in choices.values]
    if bad:
        raise invalid(name, _("unknown value “%(value)s”; one of %(values)s."), value=bad[0][:40],
                      values=", ".join(choices.values))
    return values


def _flag(raw: bool | str | None, name: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    text = raw.strip().lower()
    if text == "":
        return None
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise invalid(name, _("true or false, not “%(value)s”."), value=raw[:20])


def _centre_id(code: str, centres: dict[int, Centre]) -> int:
    """The centre filter's id, so the list query compares ticket columns instead of joining the
    centre table twice (which also hid the filter from the planner's statistics)."""
    code = code.strip().upper()
    centre_id = next((pk for pk, centre in centres.items() if centre.code == code), None)
    if centre_id is None:
        raise invalid("centre", _("no centre with code “%(centre)s”."), centre=code[:20])
    return centre_id


def filter_tickets(user: Any, filters: TicketFilters, centres: dict[int, Centre] | None = None
                   ) -> tuple[QuerySet[Ticket], list[str]]:
    """The caller's visible tickets narrowed by `filters`, with the keyset order to page them by.
    Invalid filter values are a 400 naming the parameter, never an empty list. `centres`
    (`centres_by_id()`) saves reading them again when the caller has them."""
    qs = visible_tickets(user)
    statuses = _choice_list(filters.status, Status, "status")
    if statuses:
        qs = qs.filter(status__in=statuses)
    categories = _choice_list(filters.category, Category, "category")
    if categories:
        qs = qs.filter(category__in=categories)
    priorities = _choice_list(filters.priority, Priority, "priority")
    if priorities:
        qs = qs.filter(priority__in=priorities)
    if filters.centre:
        centre_id = _centre_id(filters.centre, centres if centres is not None else centres_by_id())
        qs = qs.filter(Q(requesting_centre_id=centre_id) | Q(target_centre_id=centre_id))
    if filters.assignee:
        if filters.assignee == "me":
            qs = qs.filter(assignee_id=user.pk)
        elif filters.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        else:
            qs = qs.filter(assignee__username=filters.assignee)
    overdue = _flag(filters.overdue, "overdue")
    if overdue is not None:
        from requests.sla import overdue_q

        late = overdue_q(timezone.now())  # open and an SLA clock breached (a paused one is not)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    query = clean_query(filters.q)  # at most HUB_MAX_QUERY_CHARS and a few dozen words (hub/lib/text.py)
    if query.strip():
        for word in dict.fromkeys(fold(query).split()):
            qs = qs.filter(search_text__contains=word)
    sort = filters.sort or DEFAULT_SORT
    if sort not in SORTS:
        raise invalid("sort", _("must be one of %(values)s."), values=", ".join(SORTS))
    return qs, SORTS[sort]


def ticket_page(user: Any, filters: TicketFilters, cursor: str | None, limit: int | None) -> Page[Ticket]:
    """One keyset page of the caller's ticket list, with what `ticket_summary` reads attached."""
    centres = centres_by_id()  # read once: for the centre filter and for the summaries
    qs, order = filter_tickets(user, filters, centres)
    page = keyset_page(qs.defer(*LIST_DEFERRED), order, cursor, limit)
    with_summary_relations(page.results, centres)
    return page


def with_summary_relations(tickets: list[Ticket], centres: dict[int, Centre] | None = None) -> list[Ticket]:
    """Attach the centres, people (with their centres) and threads `ticket_summary` reads, in three
    small queries, instead of joining seven tables in the page query: with 100,000 tickets
    PostgreSQL spent 4.7 ms planning that join for 0.4 ms of executing it (docs/benchmarks.md)."""
    if not tickets:
        return tickets
    if centres is None:
        centres = centres_by_id()
    people = people_by_id([t.requested_by_id for t in tickets] + [t.assignee_id for t in tickets if t.assignee_id],
                          centres)
    threads = topics_by_id(t.thread_id for t in tickets if t.thread_id)
    for ticket in tickets:
        ticket.requesting_centre = centres[ticket.requesting_centre_id]
        if ticket.target_centre_id is not None:
            ticket.target_centre = centres[ticket.target_centre_id]
        ticket.requested_by = people[ticket.requested_by_id]
        if ticket.assignee_id is not None:
            ticket.assignee = people[ticket.assignee_id]
        if ticket.thread_id is not None:
            ticket.thread = threads[ticket.thread_id]
    return tickets


# --- the discussion thread (a chat topic of kind "ticket") -----------------------------------------


def thread_visible_q(user: Any) -> Q:
    """Who may see a `ticket` topic (a request's discussion thread): the ticket's viewers, nobody
    else (no ticket → nobody); a filter over chat topics, from which chat derives its per-topic
    check (chat.access)."""
    return Q(ticket__in=visible_tickets(user).values("pk"))


# --- request templates -----------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def placeholders_for(user: Any) -> dict[str, str]:
    """What a template's placeholders become for `user` (docs/tickets.md lists them)."""
    today = timezone.localdate()
    centre = getattr(user, "centre", None)
    return {
        "centre": centre.code if centre is not None else "",
        "centre_name": str(centre.name) if centre is not None else "",
        "requester": user.get_display_name(),
        "date": today.strftime("%d/%m/%Y"),
        "year": str(today.year),
    }


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """`{name}` → its value; an unknown name is left as written, so a brace in a text is harmless."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def render_template(template: TicketTemplate, *, for_user: Any) -> dict[str, str]:
    """The title and description a request opened from `template` by `for_user` starts with: the
    placeholders filled in and the checklist appended as Markdown tasks (`- [ ] …`)."""
    values = placeholders_for(for_user)
    description = fill_placeholders(template.description, values).rstrip()
    items = [fill_placeholders(str(item), values) for item in template.checklist or []]
    if items:
        description = (description + "\n\n" if description else "") + "\n".join(f"- [ ] {item}" for item in items)
    return {"title": fill_placeholders(template.title, values)[:200], "description": description}


def template_q(user: Any) -> Q:
    """The one rule of who may read and use a request template: its own centre's people, every
    centre's when its managers shared it (never a TLP:AMBER+STRICT or RED one: requests.services
    refuses sharing those), and hub admins all of them."""
    if user.is_hub_admin:
        return Q()
    return Q(shared=True) | Q(centre_id=user.centre_id) if user.centre_id is not None else Q(shared=True)


def visible_templates(user: Any, centre: str | None = None) -> QuerySet[TicketTemplate]:
    """The templates the person may use (`template_q`); optionally one centre's."""
    qs = TicketTemplate.objects.select_related("centre", "target_centre", "created_by__centre")
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    qs = qs.filter(template_q(user))
    if centre:
        qs = qs.filter(centre__code=centre.strip().upper())
    return qs


def get_template(user: Any, template_id: int) -> TicketTemplate:
    template = visible_templates(user).filter(pk=template_id).first()
    if template is None:
        raise HubError(NOT_FOUND, _("No such template."))
    return template


# --- links and merged duplicates ---------------------------------------------------------------------


def _visible_alert_ids(user: Any, ids: set[int]) -> set[int]:
    from alerts.selectors import visible_alerts

    if not ids:
        return set()
    return set(visible_alerts(user).filter(pk__in=ids).values_list("pk", flat=True))


def _visible_ticket_ids(user: Any, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(visible_tickets(user).filter(pk__in=ids).values_list("pk", flat=True))


def link_visible(user: Any, link: TicketLink) -> bool:
    """A link is shown to whoever may read both its ends, and to nobody else."""
    tickets = {link.ticket_id} | ({link.to_ticket_id} if link.to_ticket_id else set())
    if _visible_ticket_ids(user, tickets) != tickets:
        return False
    return link.to_alert_id is None or bool(_visible_alert_ids(user, {link.to_alert_id}))


# How a link reads from its other end: "A caused by B" is "B causes A" on B.
REVERSE_LABELS = {LinkKind.CAUSED_BY: _("causes"), LinkKind.RELATED_TO: _("related to"),
                  LinkKind.SPLIT_FROM: _("split into")}


def links_of(user: Any, ticket: Ticket) -> list[dict[str, Any]]:
    """The links of `ticket` that `user` may see (both ends readable), each from this request's side:
    `direction` "out" for a link made here, "in" for one made on the other request."""
    links = list(TicketLink.objects.filter(Q(ticket=ticket) | Q(to_ticket=ticket))
                 .select_related("ticket", "to_ticket", "to_alert", "created_by__centre"))
    others = {link.to_ticket_id if link.ticket_id == ticket.pk else link.ticket_id for link in links} - {None}
    tickets_ok = _visible_ticket_ids(user, {t for t in others if t is not None})
    alerts_ok = _visible_alert_ids(user, {link.to_alert_id for link in links if link.to_alert_id})
    out: list[dict[str, Any]] = []
    for link in links:
        outgoing = link.ticket_id == ticket.pk
        kind = LinkKind(link.kind)
        item: dict[str, Any] = {"id": link.pk, "kind": link.kind, "direction": "out" if outgoing else "in",
                                "label": str(kind.label if outgoing else REVERSE_LABELS[kind]),
                                "ticket": None, "alert": None, "created_at": timestamp(link.created_at)}
        if link.to_alert_id is not None:
            if link.to_alert_id not in alerts_ok:
                continue
            alert = link.to_alert
            assert alert is not None
            item["alert"] = {"id": alert.pk, "title": alert.title, "severity": alert.severity, "tlp": alert.tlp,
                             "status": alert.status, "url": f"/alerts/{alert.pk}/"}
        else:
            other = link.to_ticket if outgoing else link.ticket
            if other is None or other.pk not in tickets_ok:
                continue
            item["ticket"] = {"id": other.pk, "reference": other.reference, "title": other.title,
                              "status": other.status, "url": other.get_absolute_url()}
        out.append(item)
    return out


def tickets_linked_to_alert(user: Any, alert_id: int) -> list[dict[str, Any]]:
    """The requests linked to an alert that `user` may see (the alert's page lists them)."""
    links = list(TicketLink.objects.filter(to_alert_id=alert_id).select_related("ticket"))
    ok = _visible_ticket_ids(user, {link.ticket_id for link in links})
    return [{"id": link.pk, "kind": link.kind, "label": str(REVERSE_LABELS[LinkKind(link.kind)]),
             "ticket": {"id": link.ticket.pk, "reference": link.ticket.reference, "title": link.ticket.title,
                        "status": link.ticket.status, "url": link.ticket.get_absolute_url()}}
            for link in links if link.ticket_id in ok]


def merged_sources(user: Any, ticket: Ticket) -> list[Ticket]:
    """The duplicates merged into `ticket` that `user` may see, oldest first: their comments,
    attachments and history are shown with `ticket`, item by item as on the duplicate itself."""
    return with_summary_relations(
        [t for t in Ticket.objects.filter(merged_into=ticket).order_by("created_at", "id") if can_view_ticket(user, t)])


def referenced(events: list[Any]) -> tuple[set[int], set[int]]:
    """The other requests and the alerts that history lines name (links, merges, splits)."""
    tickets: set[int] = set()
    alerts: set[int] = set()
    for event in events:
        for data in (event.before, event.after):
            if not isinstance(data, dict):
                continue
            nested = data.get("split_from")
            if isinstance(nested, dict) and isinstance(nested.get("ticket"), int):
                tickets.add(nested["ticket"])
            if isinstance(data.get("ticket"), int) and event.kind != "merged":
                tickets.add(data["ticket"])
            if isinstance(data.get("alert"), int):
                alerts.add(data["alert"])
    return tickets, alerts


def names_only_visible(user: Any, events: list[Any]) -> list[Any]:
    """History lines that name another request or an alert are shown to those who may read it (a
    merge's own pointer excepted: `merged_into` is on the request anyway)."""
    tickets, alerts = referenced(events)
    tickets_ok = _visible_ticket_ids(user, tickets)
    alerts_ok = _visible_alert_ids(user, alerts)
    shown = []
    for event in events:
        named_t, named_a = referenced([event])
        if named_t <= tickets_ok and named_a <= alerts_ok:
            shown.append(event)
    return shown

"""Reading tickets: who may see what, and the filtered, sorted lists.

`visible_tickets(user)` and `can_view_ticket(user, ticket)` are THE visibility rule, used by the API,
the pages, search, attachments, exports and the chat thread check. A ticket is seen by:
the requesting centre, the target centre (or every centre while the target is "any" and the ticket is
new), its watchers, and hub admins; nobody else. Internal comments (and their attachments and events)
are seen only by the target centre and hub admins (`can_see_internal`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chat.selectors import topics_by_id
from hub.errors import NOT_FOUND, HubError, invalid
from hub.lib.api_support import Page, keyset_page
from hub.lib.compiled_queries import CompiledQuery
from hub.models import Centre
from hub.selectors import centres_by_id, people_by_id
from requests.models import OPEN_STATUSES, Category, Priority, Status, Ticket
from requests.workflow import may_comment_internally

if TYPE_CHECKING:
    from chat.models import Topic

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
        rule |= Q(pk__in=watched)
    if user.centre_id is not None:
        rule |= Q(requesting_centre_id=user.centre_id) | Q(target_centre_id=user.centre_id)
    return qs.filter(rule)


def can_view_ticket(user: Any, ticket: Ticket) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_hub_admin:
        return True
    if ticket.target_centre_id is None and ticket.status == Status.NEW:
        return True
    if user.centre_id is not None and user.centre_id in {ticket.requesting_centre_id, ticket.target_centre_id}:
        return True
    return ticket.watchers.filter(pk=user.pk).exists()


def can_see_internal(user: Any, ticket: Ticket) -> bool:
    return may_comment_internally(user, ticket)


def get_visible_ticket(user: Any, ident: str | int) -> Ticket:
    """The ticket by numeric id or reference (`HT-2026-0042`), or 404 — the same 404 whether it
    does not exist or the caller may not see it, so ids cannot be probed."""
    text = str(ident)
    lookup = {"pk": int(text)} if text.isdigit() else {"reference": text.upper()}
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
        late = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if filters.q and filters.q.strip():
        for word in fold(filters.q).split():
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


def user_may_see_thread(user: Any, topic: Topic) -> bool:
    """chat's access check for `ticket` topics: the ticket's viewers, nobody else (no ticket → nobody)."""
    ticket = Ticket.objects.filter(thread_id=topic.pk).first()
    return ticket is not None and can_view_ticket(user, ticket)


def thread_visible_q(user: Any) -> Q:
    """The same rule as a filter over chat topics, for chat's lists and search."""
    return Q(ticket__in=visible_tickets(user).values("pk"))

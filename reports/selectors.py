"""The managers' figures, computed in the database: every function here returns a handful of grouped
rows (one per centre, status, topic …), never one per ticket, alert or message.

Visibility (see docs/reports.md):
- ticket figures are *network aggregates*: counts and durations over every ticket of the network,
  never a title, comment or other content of a ticket. Lists of tickets (drill-down, export) go through
  `requests.selectors.filter_tickets`, i.e. only the tickets the viewer may see;
- alert figures count only the alerts the viewer may see (`alerts.selectors.visible_alerts`): a
  TLP:RED alert's very existence is restricted, so it is not even counted for other centres;
- message figures count only messages of channel topics the viewer may see, whose own audience
  admits the viewer (`chat.selectors.visible_topics`, `audience_q`); deleted messages are not counted.

Definitions of the durations (all measured from the ticket's creation):
- time to accept: until the ticket's FIRST transition to `accepted` in its history;
- time to resolve: until its LAST transition to `resolved`, for tickets whose current status is
  `resolved` or `closed` (a reopened ticket counts again only once it is resolved again, and then
  from creation to that last resolution).
A ticket counts in the period in which the event (first acceptance, last resolution) happened.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, connections
from django.db.models import Count, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Acknowledgement, Alert, Tlp
from alerts.selectors import visible_alerts
from chat.models import Message, Topic
from chat.selectors import visible_topics
from hub.errors import invalid
from hub.lib.inputs import YEARS, check_year
from hub.lib.jsonutil import timestamp
from hub.models import Centre
from hub.realtime.audience import audience_q
from reports.aggregates import (
    Percentile,
    PeriodIndex,
    SecondsBetween,
    distinct_years,
    percentiles_by_group,
    percentiles_with_total,
)
from reports.models import MessageDay, TicketMonth
from reports.rollups import whole_days, whole_months
from requests.models import OPEN_STATUSES, Category, Status, Ticket
from requests.selectors import PARTY_ONLY
from requests.sla import breached_q

# Open statuses in workflow order (the columns of the status × centre table).
OPEN_ORDER = [Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER, Status.REOPENED]
RESOLVED_STATUSES = (Status.RESOLVED, Status.CLOSED)
NO_CENTRE = "—"  # the row of tickets addressed to "any centre" that nobody accepted yet
DEFAULT_PERIOD_DAYS = 90


# A values() query's rows, and one group's figures from `percentiles_by_group` ({"count", 0.5, 0.9}).
Rows = QuerySet[Any, Any]
Figures = dict[Any, Any]


# --- filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardFilters:
    """What the dashboard is narrowed to; all of it lives in the URL so a view can be shared."""

    start: date
    end: date  # inclusive
    centre: str | None = None
    category: str | None = None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: local midnights (the hub's time zone, Asia/Ho_Chi_Minh)."""
        tz = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def as_query(self) -> dict[str, str]:
        query = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.centre:
            query["centre"] = self.centre
        if self.category:
            query["category"] = self.category
        return query

    def querystring(self) -> str:
        return urlencode(self.as_query())


def _parse_date(raw: str, name: str) -> date:
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise invalid(name, gettext_lazy("must be a date as YYYY-MM-DD.")) from exc
    check_year(value, field=name)  # also keeps date arithmetic away from year 1 / 9999
    return value


def parse_filters(params: Mapping[str, str], today: date | None = None) -> DashboardFilters:
    """The filters from query parameters `from`, `to` (YYYY-MM-DD), `centre` (code) and `category`.
    Any invalid value is a 400 naming the parameter — never a silently different view."""
    today = today or timezone.localdate()
    end = _parse_date(params["to"], "to") if params.get("to") else today
    start = _parse_date(params["from"], "from") if params.get("from") else end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise invalid("from", gettext_lazy("the period starts after it ends."))
    centre = (params.get("centre") or "").strip().upper() or None
    if centre and not Centre.objects.filter(code=centre).exists():
        raise invalid("centre", gettext_lazy("no centre with code “%(centre)s”."), centre=centre[:20])
    category = (params.get("category") or "").strip() or None
    if category and category not in Category.values:
        raise invalid("category", gettext_lazy("must be one of %(values)s."), values=", ".join(Category.values))
    return DashboardFilters(start=start, end=end, centre=centre, category=category)


# --- tables: what every view (page, JSON, CSV, XLSX, PDF) renders -----------------------------------


@dataclass
class Table:
    """One table of figures, with optional drill-down links (same shape as rows) and a chart spec."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[list[str | None]] | None = None
    chart: dict[str, Any] | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "columns": self.columns, "rows": self.rows,
                "links": self.links, "chart": self.chart, "note": self.note}

    def cells(self) -> list[list[tuple[Any, str | None]]]:
        """Rows as (value, link) pairs, for templates."""
        links = self.links or [[None] * len(row) for row in self.rows]
        return [list(zip(row, link_row, strict=True)) for row, link_row in zip(self.rows, links, strict=True)]


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def tickets_link(**params: str) -> str:
    """The frontend's ticket list with filters: the drill-down of a figure (it lists only what the
    viewer may see)."""
    return "/tickets/?" + urlencode({k: v for k, v in params.items() if v})


# --- ticket figures ------------------------------------------------------------------------------


def ticket_base(centre: str | None = None, category: str | None = None, user: Any = None) -> QuerySet[Ticket]:
    """Every ticket of the network (aggregates only!), narrowed like the ticket list: `centre` is the
    requesting OR the target centre, as `/tickets/?centre=` means. Counted for `user`: a request
    marked AMBER+STRICT or RED is not even counted for anyone outside its two centres (its existence
    is as restricted as its content, like a TLP:RED alert's); None is the hub's own, complete view."""
    return Ticket.objects.filter(_ticket_q(centre, category, user=user))


def _ticket_q(centre: str | None, category: str | None, prefix: str = "", user: Any = None) -> Q:
    q = Q()
    if user is not None and not user.is_hub_admin:
        # requests.selectors.PARTY_ONLY: such a ticket is seen by the people of its two centres only.
        mine = (Q(**{f"{prefix}requesting_centre_id": user.centre_id})
                | Q(**{f"{prefix}target_centre_id": user.centre_id}))
        q &= ~Q(**{f"{prefix}tlp__in": PARTY_ONLY}) | (mine if user.centre_id else Q(pk__in=[]))
    if centre:
        # By id (an InitPlan finds it once): the ticket's own columns, which the covering indexes hold.
        centre_id = Subquery(Centre.objects.filter(code=centre).values("id")[:1])
        q &= Q(**{f"{prefix}requesting_centre_id": centre_id}) | Q(**{f"{prefix}target_centre_id": centre_id})
    if category:
        q &= Q(**{f"{prefix}category": category})
    return q


def _moment(field_name: str, start: datetime, end: datetime, ticket_q: Q) -> Rows:
    """One row per ticket whose `field_name` moment fell in [start, end): its target centre and
    `seconds` since its creation. Read from the ticket's own columns through their indexes (migration
    support_requests 0009): grouping the whole history by ticket to find each one's first or last
    move took seconds per figure at a million requests (issue 27, docs/benchmarks.md)."""
    return (
        Ticket.objects.filter(ticket_q, **{f"{field_name}__gte": start, f"{field_name}__lt": end})
        .annotate(seconds=SecondsBetween("created_at", field_name))
        .values("target_centre_id", "seconds")
        .order_by()
    )


def accepted_in(start: datetime, end: datetime, ticket_q: Q = Q()) -> Rows:  # noqa: B008
    """Tickets FIRST accepted in [start, end); `seconds` = time to accept. `accepted_at` is that
    moment: the workflow stamps it on the one move out of `new` into `accepted` (requests.workflow,
    MOVES), which a ticket makes at most once — the same instant as its history's first acceptance
    (tests/requests/test_report_moments.py holds the two together)."""
    return _moment("accepted_at", start, end, ticket_q)


def resolved_in(start: datetime, end: datetime, ticket_q: Q = Q()) -> Rows:  # noqa: B008
    """Tickets now resolved or closed whose LAST resolution fell in [start, end); `seconds` = time to
    resolve (a reopened ticket is measured to its last resolution, and not at all while reopened).
    `resolved_at` is that moment: stamped by each move to `resolved`, cleared by a reopening."""
    return _moment("resolved_at", start, end, ticket_q & Q(status__in=RESOLVED_STATUSES))


def response_times(start: datetime, end: datetime, centre: str | None = None,
                   category: str | None = None, user: Any = None, *, accept: bool = True,
                   resolve: bool = True, per_centre: bool = True,
                   codes: dict[int, str] | None = None) -> dict[str, dict[str | None, Figures | None]]:
    """{"accept"|"resolve": {target centre code (None = network): {"count", 0.5, 0.9}}} in seconds,
    over the tickets counted for `user` (`ticket_base`): one query per figure, per centre and the
    network's together.

    What a caller does not show is not computed: `accept=False` leaves out the time to accept (the
    yearly report shows how many were accepted, never how long it took: `accepted_counts`), and
    `per_centre=False` keeps the network's figures alone (the report's previous year) — each
    percentile orders every value of its period, ~330,000 for a year at the network's size.
    `codes`: the centres' {id: code}, when the caller has them (`centre_codes`)."""
    ticket_q = _ticket_q(centre, category, user=user)
    out: dict[str, dict[str | None, Figures | None]] = {}
    figures = ((("accept", accepted_in(start, end, ticket_q)),) if accept else ()) + (
        (("resolve", resolved_in(start, end, ticket_q)),) if resolve else ())
    for name, rows in figures:
        # Grouped by the centre's id (an integer sort, no join), named after: what the index holds.
        by_id: dict[Any, Figures]
        network: Figures | None
        if per_centre:
            by_id, network = percentiles_with_total(rows, "target_centre_id", "seconds")
        else:
            by_id, network = {}, percentiles_by_group(rows, None, "seconds").get(None)
        by_id.pop(None, None)  # cannot happen (acceptance sets the target), but never mix it with the total
        if by_id and codes is None:
            codes = centre_codes()
        out[name] = {**{(codes or {})[pk]: figures for pk, figures in by_id.items()}, None: network}
    return out


def centre_codes() -> dict[int, str]:
    """{centre id: code}: what the figures grouped by centre id are named after."""
    return dict(Centre.objects.values_list("id", "code"))


def _ticket_months(user: Any, start: datetime, end: datetime) -> QuerySet[TicketMonth] | None:
    """The monthly request counts (reports.models.TicketMonth) of [start, end) counted for `user` —
    AMBER+STRICT and RED requests only for the people of their two centres, as `ticket_base` —
    or None when the period is not whole local months (then the rows are counted)."""
    months = whole_months(start, end, timezone.get_current_timezone_name())
    if months is None:
        return None
    rolled = TicketMonth.objects.filter(month__gte=months[0], month__lt=months[1])
    if user is not None and not user.is_hub_admin:
        mine = Q(requesting=user.centre_id) | Q(target=user.centre_id) if user.centre_id else Q(pk__in=[])
        rolled = rolled.filter(Q(restricted=False) | mine)
    return rolled


def made_counts(user: Any, start: datetime, end: datetime) -> list[tuple[int, int | None, int]]:
    """(requesting centre id, target centre id or None, requests made in [start, end)) — from the
    monthly rollup for whole months, otherwise from what ticket_created_figures holds (ids,
    COUNT(created_at))."""
    rolled = _ticket_months(user, start, end)
    if rolled is not None:
        return [(requesting, target or None, n) for requesting, target, n in
                rolled.filter(kind=TicketMonth.Kind.MADE).values("requesting", "target").annotate(n=Sum("n"))
                .order_by().values_list("requesting", "target", "n") if n]
    created = ticket_base(user=user).filter(created_at__gte=start, created_at__lt=end)
    return list(created.values("requesting_centre_id", "target_centre_id").annotate(n=Count("created_at"))
                .order_by().values_list("requesting_centre_id", "target_centre_id", "n"))


def accepted_counts(user: Any, start: datetime, end: datetime) -> dict[int | None, int]:
    """{target centre id: requests first accepted in [start, end)} — from the monthly rollup for whole
    months, otherwise counted from what ticket_accepted_figures holds."""
    rolled = _ticket_months(user, start, end)
    if rolled is not None:
        return {target or None: n for target, n in rolled.filter(kind=TicketMonth.Kind.ACCEPTED).values("target")
                .annotate(n=Sum("n")).order_by().values_list("target", "n") if n}
    return dict(accepted_in(start, end, _ticket_q(None, None, user=user)).values("target_centre_id")
                .annotate(n=Count("accepted_at")).order_by().values_list("target_centre_id", "n"))


def open_counts(qs: QuerySet[Ticket], now: datetime) -> list[dict[str, Any]]:
    """Open tickets grouped by (target centre, status, category) with how many are overdue: one query,
    a few dozen rows at most."""
    rows: Rows = (
        qs.filter(status__in=OPEN_STATUSES)
        .values("target_centre__code", "status", "category")
        # COUNT(status), never null: the index ticket_open_figures holds it (and no id), so the open
        # requests are read from that index alone.
        .annotate(n=Count("status"), overdue=Count("status", filter=breached_q(now)))
        .order_by()
    )
    return list(rows)


# --- service levels (requests.sla) ------------------------------------------------------------------


def sla_attainment(start: datetime, end: datetime, centre: str | None = None, category: str | None = None,
                   user: Any = None, now: datetime | None = None,
                   codes: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """SLA attainment of the requests made in [start, end), per target centre and month of creation
    (local time), for both clocks: met, breached, and the median working minutes taken — on PostgreSQL
    one grouped query (the medians as `Percentile` aggregates beside the counts), elsewhere one more per
    clock's medians; whatever the number of requests.

    First response: met when answered by its due time; breached when answered late, or still
    unanswered past it. Resolution (rejected requests left out): met when resolved by its due time
    (pauses while waiting for the requester push it on); breached when resolved late, or still open
    with its clock past due. Requests whose clocks are still running in time are in neither column."""
    from django.db.models import ExpressionWrapper
    from django.db.models.functions import ExtractMonth

    from requests.models import Status as TicketStatus

    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    slot = ExpressionWrapper(F("target_centre_id") * 1000000 + ExtractYear("created_at", tzinfo=tz) * 100
                             + ExtractMonth("created_at", tzinfo=tz), output_field=IntegerField())
    made = (ticket_base(centre, category, user=user)
            .filter(created_at__gte=start, created_at__lt=end, target_centre__isnull=False))
    qs = made.annotate(slot=slot)
    done = Q(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
    running = Q(status__in=OPEN_STATUSES) & ~Q(status=TicketStatus.RESOLVED)
    # PostgreSQL: the medians in the same grouped query (percentile_cont … FILTER), one read of the
    # period's requests for the whole table; elsewhere one query per clock's medians.
    # There, grouped by (target centre id, local month: which of the period's local month starts the
    # request follows, `PeriodIndex`) — no join, no EXTRACT (numeric arithmetic per row) and no time zone
    # conversion per row, which were most of this query at a year of requests (issue 27).
    medians: dict[str, Any] = {}
    grouped: Rows = qs.values("slot")
    if connection.vendor == "postgresql":
        medians = {"first_median": Percentile("sla_response_minutes", 0.5),
                   "resolution_median": Percentile("sla_resolution_minutes", 0.5, filter=done)}
        months = local_months(start, end, tz)
        grouped = made.annotate(month=PeriodIndex("created_at", months[1:])).values("target_centre_id", "month")
    # COUNT(created_at), never null, not COUNT(id): every column read is one the covering index
    # ticket_created_figures holds.
    rows: list[dict[str, Any]] = [dict(row) for row in grouped.annotate(
        **medians,
        first_met=Count("created_at", filter=Q(first_response_at__isnull=False,
                                       first_response_at__lte=F("first_response_due"))),
        first_breached=Count("created_at", filter=Q(first_response_at__gt=F("first_response_due"))
                             | Q(first_response_at__isnull=True, first_response_due__lt=now)),
        resolution_met=Count("created_at", filter=done & Q(sla_paused_at__lte=F("due_at"))),
        resolution_breached=Count("created_at", filter=(done & Q(sla_paused_at__gt=F("due_at")))
                                  | (running & (Q(sla_paused_at__isnull=True, due_at__lt=now)
                                                | Q(sla_paused_at__gt=F("due_at"))))),
    ).order_by()]
    for row in rows:
        if "month" in row:
            local = months[row.pop("month")]
            row["slot"] = row.pop("target_centre_id") * 1000000 + local.year * 100 + local.month
    if not medians:
        first = percentiles_by_group(qs, "slot", "sla_response_minutes", (0.5,))
        resolution = percentiles_by_group(qs.filter(done), "slot", "sla_resolution_minutes", (0.5,))
        for row in rows:
            row["first_median"] = (first.get(row["slot"]) or {}).get(0.5)
            row["resolution_median"] = (resolution.get(row["slot"]) or {}).get(0.5)
    if codes is None:
        codes = centre_codes() if rows else {}
    out = []
    for row in sorted(rows, key=lambda row: (codes[row["slot"] // 1000000], row["slot"])):
        key = row["slot"]
        out.append({
            "centre": codes[key // 1000000], "year": key % 1000000 // 100, "month": key % 100,
            "first_met": row["first_met"], "first_breached": row["first_breached"],
            "first_median": row["first_median"],
            "resolution_met": row["resolution_met"], "resolution_breached": row["resolution_breached"],
            "resolution_median": row["resolution_median"],
        })
    return out


def local_months(start: datetime, end: datetime, tz: Any) -> list[datetime]:
    """The starts (local midnights in `tz`) of the local months that [start, end) touches, the first
    being the month holding `start` (which may begin before it)."""
    first = start.astimezone(tz)
    year, month = first.year, first.month
    out: list[datetime] = []
    while True:
        moment = datetime(year, month, 1, tzinfo=tz)
        if out and moment >= end:
            return out
        out.append(moment)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _share(met: int, breached: int) -> float | None:
    return round(100 * met / (met + breached), 1) if met + breached else None


def _minutes(value: float | None) -> int | None:
    return None if value is None else round(value)


def sla_table(rows: list[dict[str, Any]]) -> Table:
    """SLA attainment per centre and month (dashboard and yearly report)."""
    table = Table(
        key="sla", title=_("Service levels (SLA) per centre and month"),
        columns=[_("Centre"), _("Month"), _("First response met"), _("First response breached"),
                 _("Median first response (working min)"), _("Resolution met"), _("Resolution breached"),
                 _("Median resolution (working min)"), _("Attainment (%)")],
        note=_("Requests made in the month, by target centre, timed in its working hours (public holidays and "
               "make-up days included; pauses while waiting for the requester left out). Met: answered / "
               "resolved by the due time; breached: late, or still open past it. Attainment: both clocks."),
    )
    for r in rows:
        met, breached = r["first_met"] + r["resolution_met"], r["first_breached"] + r["resolution_breached"]
        table.rows.append([r["centre"], f"{r['month']:02d}/{r['year']}", r["first_met"], r["first_breached"],
                           _minutes(r["first_median"]), r["resolution_met"], r["resolution_breached"],
                           _minutes(r["resolution_median"]), _share(met, breached)])
    return table


# --- alert and message figures ----------------------------------------------------------------------


def _count_subquery(qs: QuerySet[Any, Any]) -> Subquery:
    return Subquery(
        qs.order_by().annotate(n=Func("pk", function="COUNT")).values("n")[:1], output_field=IntegerField()
    )


def _alerts_for(user: Any) -> QuerySet[Alert]:
    """The alerts counted for `user`; None is the hub's own view (the management command): all."""
    return Alert.objects.all() if user is None else visible_alerts(user)


def alert_figures(user: Any, start: datetime, end: datetime, centre: str | None = None) -> dict[str, Any]:
    """Per centre: alerts raised, acknowledgements expected / given, and acknowledgement times
    (from the alert being raised to the centre's acknowledgement), over alerts the viewer may see
    that were raised in [start, end)."""
    alerts = _alerts_for(user).filter(created_at__gte=start, created_at__lt=end)
    alert_ids = alerts.values("pk")
    raised = dict(
        alerts.filter(centre__isnull=False).values("centre__code").annotate(n=Count("pk")).order_by()
        .values_list("centre__code", "n")
    )
    # Expected acknowledgements: every recipient centre of each alert (alerts.selectors.recipient_centres):
    # all centres but the raising one, or for an alert limited to named centres (TLP:RED always,
    # AMBER and AMBER+STRICT when shared with some) the centres it is shared with.
    not_raised_here = ~Q(centre_id=OuterRef("pk")) | Q(centre_id__isnull=True)
    limited = Q(tlp=Tlp.RED) | (Q(tlp__in=[Tlp.AMBER, Tlp.AMBER_STRICT])
                                & Q(pk__in=Alert.shared_with.through.objects.values("alert_id")))
    broad = Alert.objects.filter(pk__in=alert_ids).exclude(limited).filter(not_raised_here)
    red = Alert.objects.filter(limited, pk__in=alert_ids, shared_with=OuterRef("pk")).filter(not_raised_here)
    centres = Centre.objects.order_by("code")
    if centre:
        centres = centres.filter(code=centre)
    counted = centres.annotate(broad=_count_subquery(broad), red=_count_subquery(red))
    expected = {row["code"]: (row["broad"] or 0) + (row["red"] or 0) for row in counted.values("code", "broad", "red")}
    acks = Acknowledgement.objects.filter(alert_id__in=alert_ids).annotate(
        seconds=SecondsBetween("alert__created_at", "at")
    )
    if centre:
        acks = acks.filter(centre__code=centre)
    by_centre, network = percentiles_with_total(acks, "centre__code", "seconds")
    ack_times: dict[str | None, Figures | None] = {**by_centre, None: network}
    total_raised = alerts.count() if not centre else raised.get(centre, 0)
    if centre:
        raised = {centre: raised.get(centre, 0)}
    return {"raised": raised, "expected": expected, "ack_times": ack_times, "total_raised": total_raised}


def message_counts(user: Any, start: datetime, end: datetime, centre: str | None = None,
                   ) -> tuple[list[Topic], dict[tuple[int, str | None], int]]:
    """(visible channel topics, {(topic id, author centre code): messages}) for [start, end)."""
    if user is None:  # the hub's own view (the management command): every channel and message
        topics = list(Topic.objects.filter(kind=Topic.Kind.CHANNEL).order_by("slug"))
    else:
        topics = visible_topics(user)
    topic_ids = [t.pk for t in topics]
    qs = Message.objects.filter(topic_id__in=topic_ids, created_at__gte=start, created_at__lt=end,
                                deleted_at__isnull=True)
    if centre:
        qs = qs.filter(author__centre__code=centre)
    # Two counts in one query: the messages for every reader of their topic (no audience: nearly all)
    # from the daily rollup reports.models.MessageDay (kept by triggers in each write's transaction:
    # at 5M messages a year's count read ~1.7M index entries, the rollup a few thousand rows), or,
    # when the period is not whole local days, from the covering index chat_msg_public_created alone;
    # and the few with an audience of their own from their rows, filtered by it.
    restricted = qs.filter(audience__isnull=False)
    if user is not None:
        restricted = restricted.filter(audience_q(user))
    by = ("topic_id", "author__centre__code")
    days = whole_days(start, end, timezone.get_current_timezone_name())
    public_rows: Rows
    if days is not None:
        public_rows = MessageDay.objects.filter(topic_id__in=topic_ids, day__gte=days[0], day__lt=days[1])
        if centre:
            public_rows = public_rows.filter(author__centre__code=centre)
        public_rows = public_rows.values(*by).annotate(n=Sum("n")).order_by()
    else:  # COUNT(*), not COUNT(id): the index has no id
        public_rows = qs.filter(audience__isnull=True).values(*by).annotate(n=Count("*")).order_by()
    counts: dict[tuple[int, str | None], int] = defaultdict(int)
    for row in public_rows.union(restricted.values(*by).annotate(n=Count("*")).order_by(), all=True):
        counts[(row["topic_id"], row["author__centre__code"])] += row["n"] or 0
    return topics, dict(counts)


# --- the dashboard -----------------------------------------------------------------------------------


@dataclass
class Dashboard:
    filters: DashboardFilters
    totals: dict[str, Any]
    tables: list[Table]

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters.as_query(),
            "totals": self.totals,
            "tables": [t.as_dict() for t in self.tables],
            "generated_at": timestamp(timezone.now()),
        }

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


# Connections beyond the caller's own that dashboards may use at once, per process (`concurrently`):
# several managers opening the dashboard together share these rather than each taking
# HUB_REPORT_CONNECTIONS - 1 more from the pool (whose size, HUB_DB_POOL_MAX, every request shares).
_EXTRA_CONNECTIONS: dict[int, threading.BoundedSemaphore] = {}
_EXTRA_LOCK = threading.Lock()


def _extra_connections() -> threading.BoundedSemaphore:
    size = max(settings.HUB_REPORT_CONNECTIONS - 1, 0)
    with _EXTRA_LOCK:
        return _EXTRA_CONNECTIONS.setdefault(size, threading.BoundedSemaphore(size))


def concurrently(tasks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """{name: task()} for independent reads, the slowest first. On PostgreSQL, outside a transaction,
    they run on up to `HUB_REPORT_CONNECTIONS` connections at once: the caller's thread and as many
    helper threads as the process has connections to spare (`_EXTRA_CONNECTIONS`; none spare: one
    after another, as on SQLite), each helper in the caller's time zone and language, on a
    connection of its own from the pool, given back when it is done. Inside a transaction the other
    connections would not see what it wrote, so there the tasks run in the caller's thread alone."""
    slots = _extra_connections()
    extra = 0
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        while extra < len(tasks) - 1 and slots.acquire(blocking=False):
            extra += 1
    if not extra:
        return {name: task() for name, task in tasks.items()}
    pending = deque(tasks.items())
    results: dict[str, Any] = {}
    failures: list[BaseException] = []

    def drain() -> None:
        while not failures:
            try:
                name, task = pending.popleft()
            except IndexError:
                return
            try:
                results[name] = task()
            except BaseException as error:  # re-raised in the caller's thread below
                failures.append(error)

    # The caller's time zone (the SLA table's local months) and language: Django keeps them per
    # thread (asgiref's Local ignores a context copied into another thread), so each helper sets them.
    zone, language = timezone.get_current_timezone(), translation.get_language()

    def helper() -> None:
        try:
            with timezone.override(zone), translation.override(language):
                drain()
        finally:
            connections.close_all()  # this thread's connection, back to the pool

    try:
        with ThreadPoolExecutor(max_workers=extra, thread_name_prefix="hub-report") as pool:
            for _ in range(extra):
                pool.submit(helper)
            drain()
    finally:
        for _ in range(extra):
            slots.release()
    if failures:
        raise failures[0]
    return {name: results[name] for name in tasks}


def _centre_label(code: str | None) -> str:
    return code or NO_CENTRE


def dashboard(user: Any, filters: DashboardFilters, now: datetime | None = None) -> Dashboard:
    """Every figure of the managers' dashboard (a bounded number of queries whatever the data size):
    one table per question, each built by its own function below from one grouped query."""
    now = now or timezone.now()
    start, end = filters.bounds
    centre, category = filters.centre, filters.category
    codes = centre_codes()  # once, for the three tasks that name centres by id
    found = concurrently({
        # The heaviest first: each of these orders every value of its period (docs/benchmarks.md).
        "sla": lambda: sla_attainment(start, end, centre, category, user=user, now=now, codes=codes),
        "accept": lambda: response_times(start, end, centre, category, user=user, resolve=False, codes=codes),
        "resolve": lambda: response_times(start, end, centre, category, user=user, accept=False, codes=codes),
        "open": lambda: open_counts(ticket_base(centre, category, user=user), now),
        "alerts": lambda: alert_figures(user, start, end, centre),
        "messages": lambda: message_counts(user, start, end, centre),
    })
    open_rows, alerts, sla_rows = found["open"], found["alerts"], found["sla"]
    times = {**found["accept"], **found["resolve"]}
    topics, counts = found["messages"]
    totals = {
        "open": sum(r["n"] for r in open_rows),
        "overdue": sum(r["overdue"] for r in open_rows),
        "accepted": (times["accept"].get(None) or {}).get("count", 0),
        "resolved": (times["resolve"].get(None) or {}).get("count", 0),
        "alerts_raised": alerts["total_raised"],
        "messages": sum(counts.values()),
    }
    tables = [
        _open_by_status_table(open_rows, filters),
        _open_by_category_table(open_rows, filters),
        _response_time_table(times),
        sla_table(sla_rows),
        _alert_table(alerts),
        _message_table(topics, counts),
    ]
    return Dashboard(filters=filters, totals=totals, tables=tables)


def _bar_datasets(table: Table, columns: list[int], rows: list[list[Any]] | None = None) -> list[dict[str, Any]]:
    """Chart datasets of `table`'s `columns` (their headers as labels) over `rows` (all by default)."""
    rows = table.rows if rows is None else rows
    return [{"label": table.columns[i], "data": [r[i] for r in rows]} for i in columns]


def _open_by_status_table(open_rows: list[dict[str, Any]], filters: DashboardFilters) -> Table:
    """Open requests by target centre × status (+ overdue), each cell a link to that list."""
    by_centre: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in open_rows:
        cell = by_centre[row["target_centre__code"]]
        cell[row["status"]] += row["n"]
        cell["total"] += row["n"]
        cell["overdue"] += row["overdue"]
    open_csv = ",".join(OPEN_ORDER)
    cat_param = filters.category or ""
    table = Table(
        key="open_by_status_centre",
        title=_("Open requests by status and target centre"),
        columns=[_("Target centre"), *[str(Status(s).label) for s in OPEN_ORDER], _("Total"), _("Overdue")],
        note=_("“—”: addressed to any centre and not accepted yet. Current state, not limited to the period."),
        links=(links := []),
    )
    for code in sorted(by_centre, key=lambda c: (c is None, c or "")):
        cell = by_centre[code]
        table.rows.append([_centre_label(code), *[cell[s] for s in OPEN_ORDER], cell["total"], cell["overdue"]])
        centre_param = code or ""
        links.append([
            None,
            *[tickets_link(status=s, centre=centre_param, category=cat_param) for s in OPEN_ORDER],
            tickets_link(status=open_csv, centre=centre_param, category=cat_param),
            tickets_link(overdue="true", centre=centre_param, category=cat_param),
        ])
    table.chart = {"type": "bar", "stacked": True, "integer": True, "labels": [row[0] for row in table.rows],
                   "datasets": _bar_datasets(table, [1 + i for i in range(len(OPEN_ORDER))])}
    return table


def _open_by_category_table(open_rows: list[dict[str, Any]], filters: DashboardFilters) -> Table:
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in open_rows:
        cat = by_category[row["category"]]
        cat["open"] += row["n"]
        cat["overdue"] += row["overdue"]
    open_csv = ",".join(OPEN_ORDER)
    table = Table(
        key="open_by_category", title=_("Open requests by category"),
        columns=[_("Category"), _("Open"), _("Overdue")], links=(links := []),
    )
    for value, label in Category.choices:
        if value not in by_category:
            continue
        cat = by_category[value]
        table.rows.append([str(label), cat["open"], cat["overdue"]])
        links.append([
            None,
            tickets_link(status=open_csv, category=value, centre=filters.centre or ""),
            tickets_link(overdue="true", category=value, centre=filters.centre or ""),
        ])
    table.chart = {"type": "bar", "integer": True, "labels": [r[0] for r in table.rows],
                   "datasets": _bar_datasets(table, [1, 2])}
    return table


def _response_time_table(times: dict[str, dict[str | None, Figures | None]]) -> Table:
    """Response and resolution times per target centre over the period, then the network's."""
    table = Table(
        key="response_times",
        title=_("Time to accept and to resolve (hours)"),
        columns=[_("Centre"), _("Accepted"), _("Median to accept"), _("90th percentile to accept"),
                 _("Resolved"), _("Median to resolve"), _("90th percentile to resolve")],
        note=_("From creation to the first acceptance / to the last resolution, for tickets accepted / "
               "resolved in the period."),
    )
    codes = sorted({c for part in times.values() for c in part if c is not None})
    for code in [*codes, None]:
        acc = times["accept"].get(code) or {}
        res = times["resolve"].get(code) or {}
        table.rows.append([
            code or _("Network"),
            acc.get("count", 0), hours(acc.get(0.5)), hours(acc.get(0.9)),
            res.get("count", 0), hours(res.get(0.5)), hours(res.get(0.9)),
        ])
    table.chart = {"type": "bar", "integer": False, "labels": [r[0] for r in table.rows],
                   "datasets": _bar_datasets(table, [2, 5])}
    return table


def _alert_table(alerts: dict[str, Any]) -> Table:
    """Alerts raised and acknowledged per centre, then the network's (the chart leaves it out)."""
    table = Table(
        key="alerts_by_centre",
        title=_("Alerts raised and acknowledged"),
        columns=[_("Centre"), _("Raised"), _("Acknowledgements expected"), _("Acknowledged"),
                 _("Not acknowledged"), _("Median time to acknowledge"), _("90th percentile to acknowledge")],
        note=_("Alerts raised in the period that you may see; times in hours from the alert being raised."),
    )
    for code in sorted(alerts["expected"]):
        ack = alerts["ack_times"].get(code) or {}
        expected = alerts["expected"][code]
        raised_n = alerts["raised"].get(code, 0)
        if not (expected or raised_n or ack):
            continue
        acked = ack.get("count", 0)
        table.rows.append([code, raised_n, expected, acked, max(expected - acked, 0),
                           hours(ack.get(0.5)), hours(ack.get(0.9))])
    network_ack = alerts["ack_times"].get(None) or {}
    expected_total = sum(alerts["expected"].values())
    table.rows.append([
        _("Network"), alerts["total_raised"], expected_total, network_ack.get("count", 0),
        max(expected_total - network_ack.get("count", 0), 0), hours(network_ack.get(0.5)), hours(network_ack.get(0.9)),
    ])
    centres = table.rows[:-1]
    table.chart = {"type": "bar", "integer": True, "labels": [r[0] for r in centres],
                   "datasets": _bar_datasets(table, [1, 3, 4], centres)}
    return table


def _message_table(topics: list[Topic], counts: dict[tuple[int, str | None], int]) -> Table:
    """Message activity per topic and author's centre."""
    centre_codes = sorted({code for (_topic, code) in counts if code}) + (
        [NO_CENTRE] if any(code is None for (_topic, code) in counts) else []
    )
    table = Table(
        key="messages_by_topic_centre",
        title=_("Messages per topic and centre"),
        columns=[_("Topic"), *centre_codes, _("Total")],
    )
    for topic in topics:
        row = [counts.get((topic.pk, None if code == NO_CENTRE else code), 0) for code in centre_codes]
        table.rows.append([topic.name, *row, sum(row)])
    table.chart = {"type": "bar", "stacked": True, "integer": True, "labels": [r[0] for r in table.rows],
                   "datasets": _bar_datasets(table, [1 + i for i in range(len(centre_codes))])}
    return table


# --- the yearly cooperation report -----------------------------------------------------------------


def year_bounds(year: int) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


@dataclass
class CooperationReport:
    """What the MOU's standing office presents at the yearly review: per centre and for the network."""

    year: int
    centres: list[dict[str, Any]]  # one row per centre: code, name and every figure
    network: dict[str, Any]
    previous: dict[str, Any]  # the network figures of year - 1
    topics: list[Any]
    participation: dict[tuple[int, str | None], int]  # (topic id, centre code) → messages
    sla: list[dict[str, Any]] = field(default_factory=list)  # per target centre and month (sla_attainment)
    generated_at: datetime = field(default_factory=timezone.now)

    def tables(self) -> list[Table]:
        requests_table = Table(
            key="requests", title=_("Support requests"),
            columns=[_("Centre"), _("Made"), _("Received"), _("Accepted"), _("Resolved"),
                     _("Median resolution (h)"), _("90th percentile resolution (h)")],
            note=_("Received: addressed to the centre (or accepted by it when addressed to any centre). Accepted "
                   "and resolved: first acceptance / last resolution during the year; resolution times from "
                   "creation to the last resolution."),
        )
        for row in self.centres:
            requests_table.rows.append([f"{row['code']} — {row['name']}", row["made"], row["received"],
                                        row["accepted"], row["resolved"], hours(row["resolve_median"]),
                                        hours(row["resolve_p90"])])
        requests_table.rows.append([_("No target centre (not accepted)"), None, self.network["unaddressed"],
                                    None, None, None, None])
        n = self.network
        requests_table.rows.append([_("Network"), n["made"], n["received"] + n["unaddressed"], n["accepted"],
                                    n["resolved"], hours(n["resolve_median"]), hours(n["resolve_p90"])])

        alerts_table = Table(
            key="alerts", title=_("Security alerts"),
            columns=[_("Centre"), _("Raised"), _("Acknowledgements expected"), _("Acknowledged"),
                     _("Median time to acknowledge (h)")],
        )
        for row in self.centres:
            alerts_table.rows.append([f"{row['code']} — {row['name']}", row["alerts_raised"],
                                      row["acks_expected"], row["acks"], hours(row["ack_median"])])
        alerts_table.rows.append([_("Network"), n["alerts_raised"], n["acks_expected"], n["acks"],
                                  hours(n["ack_median"])])

        codes = sorted({code for (_topic, code) in self.participation if code})
        topics_table = Table(key="participation", title=_("Participation per topic (messages)"),
                             columns=[_("Topic"), *codes, _("Total")])
        for topic in self.topics:
            counts = [self.participation.get((topic.pk, code), 0) for code in codes]
            topics_table.rows.append([topic.name, *counts, sum(counts)])
        topics_table.chart = {"type": "bar", "stacked": True, "integer": True,
                              "labels": [r[0] for r in topics_table.rows],
                              "datasets": _bar_datasets(topics_table, [1 + i for i in range(len(codes))])}
        centre_rows = [[row["code"], row["made"], row["received"], row["accepted"], row["resolved"]]
                       for row in self.centres]
        requests_table.chart = {"type": "bar", "integer": True, "labels": [r[0] for r in centre_rows],
                                "datasets": _bar_datasets(requests_table, [1, 2, 3, 4], centre_rows)}
        alert_rows = [[row["code"], row["alerts_raised"], row["acks_expected"], row["acks"]] for row in self.centres]
        alerts_table.chart = {"type": "bar", "integer": True, "labels": [r[0] for r in alert_rows],
                              "datasets": _bar_datasets(alerts_table, [1, 3], alert_rows)}

        p = self.previous
        comparison = Table(
            key="comparison", title=_("Comparison with the previous year"),
            columns=[_("Figure"), str(self.year - 1), str(self.year), _("Change")],
        )
        for label, key, as_hours in (
            (_("Requests made"), "made", False),
            (_("Requests accepted"), "accepted", False),
            (_("Requests resolved"), "resolved", False),
            (_("Median resolution (h)"), "resolve_median", True),
            (_("Alerts raised"), "alerts_raised", False),
            (_("Acknowledgements"), "acks", False),
            (_("Messages"), "messages", False),
            (_("Joint events held"), "events", False),
        ):
            before, now = p[key], n[key]
            if as_hours:
                before, now = hours(before), hours(now)
            change = None if before is None or now is None else round(now - before, 1)
            comparison.rows.append([label, before, now, change])
        return [requests_table, sla_table(self.sla), alerts_table, topics_table, comparison]


def _network_figures(user: Any, year: int, by_centre: bool = True) -> tuple[
        dict[str, Any], dict[str, dict[str, Any]], list[Topic], dict[tuple[int, str | None], int]]:
    start, end = year_bounds(year)
    codes = centre_codes()
    made: dict[str, int] = defaultdict(int)
    received: dict[str | None, int] = defaultdict(int)
    for requesting, target, count in made_counts(user, start, end):
        made[codes[requesting]] += count
        received[codes[target] if target is not None else None] += count
    # The report shows how many requests were accepted, never how long it took (no percentile of
    # acceptance); of the previous year only the network's figures (the comparison, `previous`).
    times = response_times(start, end, user=user, accept=False, per_centre=by_centre)
    accepted = accepted_counts(user, start, end)
    alerts = alert_figures(user, start, end)
    topics, participation = message_counts(user, start, end)
    per_centre: dict[str, dict[str, Any]] = defaultdict(dict)
    code: str | None
    for code, count in made.items():
        per_centre[code]["made"] = count
    for code, count in received.items():
        if code is not None:
            per_centre[code]["received"] = count
    for target, count in accepted.items():
        if target is not None:
            per_centre[codes[target]]["accepted"] = count
    for code, figures in times["resolve"].items():
        if code is not None and figures is not None:
            per_centre[code].update(resolved=figures["count"], resolve_median=figures[0.5], resolve_p90=figures[0.9])
    for code, count in alerts["raised"].items():
        per_centre[code]["alerts_raised"] = count
    for code, count in alerts["expected"].items():
        per_centre[code]["acks_expected"] = count
    for code, figures in alerts["ack_times"].items():
        if code is not None and figures:
            per_centre[code].update(acks=figures["count"], ack_median=figures[0.5])
    resolve = times["resolve"].get(None) or {}
    ack = alerts["ack_times"].get(None) or {}
    network = {
        "made": sum(made.values()),
        "received": sum(n for code, n in received.items() if code is not None),
        "unaddressed": received.get(None, 0),
        "accepted": sum(accepted.values()),
        "resolved": resolve.get("count", 0),
        "resolve_median": resolve.get(0.5),
        "resolve_p90": resolve.get(0.9),
        "alerts_raised": alerts["total_raised"],
        "acks_expected": sum(alerts["expected"].values()),
        "acks": ack.get("count", 0),
        "ack_median": ack.get(0.5),
        "messages": sum(participation.values()),
        "events": event_count(start, end),
    }
    return network, per_centre, topics, participation


def event_count(start: datetime, end: datetime) -> int:
    """The MOU's joint events (workshops, courses, conferences) held in [start, end): those that
    started in the period and were not cancelled (events/)."""
    from events.models import Event

    return Event.objects.filter(starts_at__gte=start, starts_at__lt=end, cancelled_at__isnull=True).count()


CENTRE_FIGURES = ("made", "received", "accepted", "resolved", "alerts_raised", "acks_expected", "acks")


def cooperation_report(year: int, user: Any = None) -> CooperationReport:
    """The report for `year` as `user` may see it (None: the hub's own, complete view — what the
    management command prints for the standing office)."""
    if year not in YEARS:
        raise invalid("year", gettext_lazy("between 2000 and 2999."))
    network, per_centre, topics, participation = _network_figures(user, year)
    previous, _centres, _topics, _participation = _network_figures(user, year - 1, by_centre=False)
    rows = []
    for centre in Centre.objects.order_by("code"):
        figures = per_centre.get(centre.code, {})
        row: dict[str, Any] = {"code": centre.code, "name": centre.name}
        for key in CENTRE_FIGURES:
            row[key] = figures.get(key, 0)
        for key in ("resolve_median", "resolve_p90", "ack_median"):
            row[key] = figures.get(key)
        row["messages"] = sum(n for (_topic, code), n in participation.items() if code == centre.code)
        rows.append(row)
    start, end = year_bounds(year)
    return CooperationReport(year=year, centres=rows, network=network, previous=previous, topics=topics,
                             participation=participation, sla=sla_attainment(start, end, user=user))


def years_with_data(user: Any = None) -> list[int]:
    """The years (local time, newest first) in which anything the reports count happened — what the
    dashboard and the report link to, so no link leads to an empty year. Counted for `user` like the
    figures themselves (tickets, alerts and messages they may see; events are counted network-wide)."""
    from events.models import Event

    messages = Message.objects.filter(deleted_at__isnull=True)
    if user is not None:  # the messages message_counts() would count for them
        messages = messages.filter(topic_id__in=[t.pk for t in visible_topics(user)]).filter(audience_q(user))
    found = distinct_years([
        (ticket_base(user=user), "created_at"),
        (_alerts_for(user), "created_at"),
        (messages, "created_at"),
        (Event.objects.filter(cancelled_at__isnull=True), "starts_at"),
    ], str(timezone.get_current_timezone()))
    return sorted(found, reverse=True)

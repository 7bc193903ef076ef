"""Reading notifications, digests and webhooks — always through the apps' own visibility rules
(alerts.selectors.visible_alerts, requests.selectors.audience_of / may_read_event,
chat.selectors.may_read_messages), decided with the person's rights *now*."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from hub.lib.jsonutil import optional_timestamp, timestamp
from hub.models import Role
from notify.models import Notification, Webhook, WebhookDelivery

if TYPE_CHECKING:
    from alerts.models import Alert
    from chat.models import Message
    from requests.models import Ticket

DUE_SOON = timedelta(hours=48)


def item_url(notification: Notification) -> str:
    """Where a notification leads in the hub (a path; emails prefix the public URL)."""
    if notification.alert_id:
        return f"/alerts/{notification.alert_id}/"
    if notification.ticket_id:
        return f"/tickets/{notification.ticket_id}/"
    if notification.message_id:
        message = notification.message
        assert message is not None  # message_id is set
        return message_url(message)
    return "/"


def message_url(message: Message) -> str:
    topic = message.topic
    ticket = getattr(topic, "ticket", None) if topic.kind == "ticket" else None
    if ticket is not None:
        return f"/tickets/{ticket.pk}/"
    return f"/topics/{topic.slug}/#m-{message.pk}"


# What deciding whether a notification is still readable reads with it (`readable`).
READABLE_RELATED = ("ticket__requesting_centre", "ticket__target_centre", "ticket_event", "message__topic")


class _RequestChanges:
    """Whether `user` may read request changes, many at once: `requests.selectors.may_read_event`,
    each request's readers (`audience_of`) decided once, the comments and files the changes name
    read together (only their markings when `marking_only`), the centres only if a change is internal."""

    def __init__(self, user: Any, events: list[Any], *, marking_only: bool = False) -> None:
        from hub.selectors import centres_by_id
        from requests.selectors import items_of

        self.user = user
        self.items = items_of(events, marking_only=marking_only)
        self.centres = centres_by_id() if any(e.internal for e in events) else None
        self.readers: dict[int, Any] = {}

    def may_read(self, ticket: Ticket, event: Any) -> bool:
        from requests.selectors import audience_of, may_read_event

        if ticket.pk not in self.readers:
            self.readers[ticket.pk] = audience_of(ticket)
        readers = self.readers[ticket.pk]
        return readers.allows(self.user) and (
            event is None or may_read_event(self.user, ticket, event, self.items, readers, self.centres))


def readable(user: Any, notifications: list[Notification]) -> list[Notification]:
    """Those of `notifications` the person may still read, decided now (rights change after a
    notification is written), with each app's own rule: an alert through `visible_alerts`; a
    request's change through `requests.selectors.may_read_event` (the ticket, an internal line's
    centre, a comment's or a file's own TLP and scope); a message through the topic, the message's
    audience and the conversation's history (`chat.selectors.may_read_messages`). Every read of
    notifications — the list, the unseen badge, the emails, the digest — goes through here (or, for
    the badge, its filter forms). An alert's rule is one query for the lot; a ticket's readers are
    decided once per ticket; a message's topic once per topic, and the reader's history cutoffs in
    the conversations once for all the messages."""
    if not notifications:
        return []
    from alerts.selectors import visible_alerts
    from chat.selectors import may_read_messages

    alert_ids = {n.alert_id for n in notifications if n.alert_id}
    alerts_ok = set(visible_alerts(user).filter(pk__in=alert_ids).values_list("pk", flat=True)) if alert_ids else set()
    changes = _RequestChanges(user, [n.ticket_event for n in notifications if n.ticket_id and n.ticket_event])
    messages = [n.message for n in notifications if not n.alert_id and n.ticket is None and n.message is not None]
    messages_ok = {m.pk for m, ok in zip(messages, may_read_messages(user, messages), strict=True) if ok}
    kept = []
    for n in notifications:
        if n.alert_id:
            ok = n.alert_id in alerts_ok
        elif (ticket := n.ticket) is not None:
            ok = changes.may_read(ticket, n.ticket_event)
        elif (message := n.message) is not None:
            ok = message.pk in messages_ok
        else:
            ok = False
        if ok:
            kept.append(n)
    return kept


def inbox(user: Any, *, limit: int = 50, before: int | None = None) -> list[Notification]:
    """The person's latest notifications that they may still read, newest first."""
    qs = (Notification.objects.filter(user=user)
          .select_related("actor__centre", "alert", "message__author", *READABLE_RELATED)
          .order_by("-id"))
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return readable(user, list(qs[:limit]))


def unseen_count(user: Any) -> int:
    """The bell's badge: the person's unseen notifications that they may still read — the list's
    rule (`readable`): one they may no longer read is neither shown nor counted. What the apps'
    rules decide as filters is counted in the database (an alert: `visible_alerts`; a request's
    change no narrower than its request: `visible_tickets`, both held to their `audience_of` by
    exhaustive tests). A request's internal lines and those about a comment or a file have their own
    readers: decided per change (`may_read_event`) from the changes, their requests and the items'
    markings, not from whole notification rows; mentions through `readable`. A person with
    thousands of unseen notifications is not read thousands of rows per page (docs/notifications.md)."""
    from alerts.selectors import visible_alerts
    from requests.models import Ticket, TicketEvent
    from requests.selectors import LIST_DEFERRED, narrower_events_q, visible_tickets

    unseen = Notification.objects.filter(user=user, seen_at__isnull=True)
    narrower = narrower_events_q("ticket_event__")
    of_requests = unseen.filter(ticket__in=visible_tickets(user).values("pk"))
    counted = (unseen.filter(alert__in=visible_alerts(user).values("pk")).count()
               + of_requests.exclude(narrower).count())
    per_change = Counter(of_requests.filter(narrower).values_list("ticket_event_id", flat=True))
    events = list(TicketEvent.objects.filter(pk__in=list(per_change)).only("id", "ticket", "internal", "internal_to",
                                                                           "after"))
    tickets = Ticket.objects.select_related("requesting_centre", "target_centre").defer(*LIST_DEFERRED).in_bulk(
        {e.ticket_id for e in events})
    changes = _RequestChanges(user, events, marking_only=True)
    counted += sum(per_change[e.pk] for e in events if changes.may_read(tickets[e.ticket_id], e))
    mentions = unseen.filter(message__isnull=False).select_related(*READABLE_RELATED)
    return counted + len(readable(user, list(mentions)))


# --- digests ---------------------------------------------------------------------------------------


@dataclass
class DigestContent:
    open_requests: list[Ticket] = field(default_factory=list)
    due_soon: list[Ticket] = field(default_factory=list)
    breached: list[Ticket] = field(default_factory=list)
    unacknowledged: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.open_requests or self.unacknowledged or self.notifications)


def digest_for(user: Any, *, since: datetime, now: datetime) -> DigestContent:
    """A manager's digest: their centre's open, due-soon and breached requests, the alerts their centre
    has not acknowledged, and what they chose to hear of by digest since the last one."""
    from alerts.models import Acknowledgement
    from alerts.models import Status as AlertStatus
    from alerts.selectors import recipient_centres, visible_alerts
    from requests.models import OPEN_STATUSES
    from requests.selectors import visible_tickets, with_summary_relations

    content = DigestContent()
    if user.centre_id is not None:
        mine = Q(requesting_centre_id=user.centre_id) | Q(target_centre_id=user.centre_id)
        tickets = list(visible_tickets(user).filter(mine, status__in=OPEN_STATUSES).order_by("due_at", "id")[:200])
        with_summary_relations(tickets)
        content.open_requests = tickets
        # The SLA clocks in the target centre's working time (requests.sla); a paused one is neither.
        from requests.sla import is_breached, next_due

        content.breached = [t for t in tickets if is_breached(t, now)]
        content.due_soon = [t for t in tickets if t not in content.breached
                            and (due := next_due(t)) is not None and due < now + DUE_SOON]
        acknowledged = Acknowledgement.objects.filter(centre_id=user.centre_id).values("alert_id")
        candidates = (visible_alerts(user).exclude(status=AlertStatus.CLOSED).exclude(pk__in=acknowledged)
                      .exclude(centre_id=user.centre_id).order_by("-created_at")[:100])
        content.unacknowledged = [a for a in candidates
                                  if recipient_centres(a).filter(pk=user.centre_id).exists()]
    pending = (Notification.objects.filter(user=user, channel="digest", created_at__gte=since,
                                           created_at__lt=now, seen_at__isnull=True)
               .select_related("actor__centre", "alert", "message__author", *READABLE_RELATED)
               .order_by("created_at", "id"))
    content.notifications = readable(user, list(pending[:200]))
    return content


# --- webhooks --------------------------------------------------------------------------------------


def may_manage_webhooks(user: Any) -> bool:
    return bool(user.is_active and (user.is_hub_admin or (user.role == Role.MANAGER and user.centre_id)))


def webhooks_of(user: Any) -> QuerySet[Webhook]:
    """The webhooks a person manages: their centre's (a manager), every centre's (a hub admin)."""
    qs = Webhook.objects.select_related("centre", "created_by").prefetch_related("topics").order_by("centre", "id")
    if not may_manage_webhooks(user):
        return qs.none()
    if user.is_hub_admin:
        return qs
    return qs.filter(centre_id=user.centre_id)


def deliveries_of(webhook: Webhook, *, limit: int = 50) -> list[WebhookDelivery]:
    return list(webhook.deliveries.order_by("-id")[:limit])


def webhook_out(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.pk,
        "name": webhook.name,
        "centre": webhook.centre.code,
        "url": webhook.url,
        "events": list(webhook.events),
        "topics": sorted(t.slug for t in webhook.topics.all()),
        "max_tlp": webhook.max_tlp,
        "active": webhook.active,
        "created_by": webhook.created_by.username,
        "created_at": timestamp(webhook.created_at),
    }


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "duration_ms": delivery.duration_ms,
        "error": delivery.last_error or None,
        "created_at": timestamp(delivery.created_at),
        "delivered_at": optional_timestamp(delivery.delivered_at),
        "next_attempt_at": timestamp(delivery.not_before) if delivery.status == "pending" else None,
    }

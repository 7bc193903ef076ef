"""Reading notifications, digests and webhooks — always through the apps' own visibility rules
(alerts.selectors.visible_alerts, requests.selectors.can_view_ticket / may_read_internal,
chat.selectors.can_view_topic / message_visible), decided with the person's rights *now*."""

from __future__ import annotations

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


def still_readable(user: Any, notification: Notification) -> bool:
    """May the person still read what this notification points at (at delivery: rights change)?"""
    if notification.alert_id:
        from alerts.selectors import visible_alerts

        return visible_alerts(user).filter(pk=notification.alert_id).exists()
    if notification.ticket_id:
        from requests.selectors import can_view_ticket, may_read_internal

        ticket = notification.ticket
        assert ticket is not None  # ticket_id is set
        if not can_view_ticket(user, ticket):
            return False
        event = notification.ticket_event
        return event is None or may_read_internal(user, event)  # an internal one: its own centre's only
    if notification.message_id:
        from chat.selectors import can_view_topic, message_visible

        message = notification.message
        assert message is not None  # message_id is set
        return (message.deleted_at is None and can_view_topic(user, message.topic)
                and message_visible(user, message))
    return False


def readable(user: Any, notifications: list[Notification]) -> list[Notification]:
    return [n for n in notifications if still_readable(user, n)]


def inbox(user: Any, *, limit: int = 50, before: int | None = None) -> list[Notification]:
    """The person's latest notifications that they may still read, newest first."""
    qs = (Notification.objects.filter(user=user)
          .select_related("actor__centre", "alert", "ticket", "ticket_event", "message__topic",
                          "message__author")
          .order_by("-id"))
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return readable(user, list(qs[:limit]))


def unseen_count(user: Any) -> int:
    return Notification.objects.filter(user=user, seen_at__isnull=True).count()


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
               .select_related("actor__centre", "alert", "ticket", "ticket_event", "message__topic",
                               "message__author").order_by("created_at", "id"))
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

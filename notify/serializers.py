"""Notifications, preferences and webhooks as JSON (the API and the pages' scripts share them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from hub.lib.jsonutil import timestamp
from notify import preferences as prefs
from notify.models import Kind, Notification
from notify.selectors import item_url
from requests.serializers import person

if TYPE_CHECKING:
    from hub.models import User


def notification_text(n: Notification) -> str:
    """One line in the reader's language (they may read the item: `readable` was applied)."""
    from notify.emails import describe_ticket_event

    if n.type == Notification.Type.ALERT and (alert := n.alert) is not None:
        return f"[{alert.get_severity_display()}] TLP:{alert.tlp.upper()} — {alert.title}"
    if n.type == Notification.Type.ESCALATION and (alert := n.alert) is not None:
        step = n.verb.partition(":")[2] or "1"
        return _("Alert #%(id)s is still unacknowledged by your centre (step %(step)s): %(title)s") % {
            "id": n.alert_id, "step": step, "title": alert.title}
    if n.type == Notification.Type.MENTION and (message := n.message) is not None:
        who = message.author.get_display_name()
        where = message.topic.name
        if n.verb == "reply":
            return _("%(who)s replied in a thread you took part in, in %(topic)s") % {"who": who, "topic": where}
        return _("%(who)s mentioned you in %(topic)s") % {"who": who, "topic": where}
    if n.type == Notification.Type.TICKET and (ticket := n.ticket) is not None:
        return f"{ticket.reference}: {describe_ticket_event(n.ticket_event, ticket)}"
    return n.get_type_display()


def notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "type": n.type,
        "verb": n.verb,
        "channel": n.channel,
        "text": notification_text(n),
        "url": item_url(n),
        "actor": person(n.actor) if n.actor is not None else None,
        "alert": n.alert_id,
        "ticket": n.ticket_id,
        "ticket_event": n.ticket_event_id,
        "message": n.message_id,
        "created_at": timestamp(n.created_at),
        "seen": n.seen_at is not None,
        "emailed": n.email_id is not None,
    }


def preferences_out(user: User) -> dict[str, Any]:
    from notify.models import TopicSetting

    current = prefs.settings_of(user)
    return {
        "email": user.email,
        "language": prefs.email_language(user),
        "quiet_hours": current.quiet_hours,
        "own_hours": current.own_hours,
        "work_start": current.work_start.strftime("%H:%M"),
        "work_end": current.work_end.strftime("%H:%M"),
        "work_days": list(current.work_days),
        "digest": current.digest,
        "channels": prefs.all_channels(user),
        "defaults": {kind: prefs.role_default(user, kind) for kind in Kind.values},
        "offered": {kind: list(prefs.OFFERED[kind]) for kind in Kind.values},
        "topics": {s.topic.slug: s.level for s in TopicSetting.objects.filter(user=user).select_related("topic")},
    }

"""Events as JSON: one shape for the API, the page's script and the reminder frames."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from events.frames import EventBrief
from events.models import Event
from events.selectors import may_change, topic_visible
from hub.lib.jsonutil import optional_timestamp, timestamp


def brief_out(event: Event) -> EventBrief:
    return {"id": event.pk, "title": event.title, "organiser": event.organiser.code,
            "starts_at": timestamp(event.starts_at), "ends_at": timestamp(event.ends_at),
            "place": event.place, "online_url": event.online_url}


def event_url(event: Event) -> str:
    return f"{settings.HUB_PUBLIC_URL}/events/?event={event.pk}"


def event_out(event: Event, viewer: Any) -> dict[str, Any]:
    """The event with who attends, grouped by centre (`registrations`), and what the viewer may do."""
    groups: dict[str, dict[str, Any]] = {}
    registered = False
    for reg in event.registrations.all():  # prefetched by events.selectors.events_between
        code = reg.centre.code if reg.centre is not None else ""
        group = groups.setdefault(code, {"centre": code or None, "count": 0, "people": []})
        group["count"] += 1
        group["people"].append({"username": reg.user.username, "display_name": reg.user.get_display_name()})
        registered = registered or reg.user_id == getattr(viewer, "pk", None)
    show_topic = topic_visible(viewer, event)
    return {
        **brief_out(event),
        "kind": event.kind,
        "organiser_name": event.organiser.name,
        "description": event.description,
        "topic": event.topic.slug if show_topic and event.topic is not None else None,
        "topic_name": (event.topic.name or event.topic.slug) if show_topic and event.topic is not None else None,
        "cancelled_at": optional_timestamp(event.cancelled_at),
        "registrations": sorted(groups.values(), key=lambda g: g["centre"] or ""),
        "registered_count": sum(g["count"] for g in groups.values()),
        "registered": registered,
        "can_edit": may_change(viewer, event),
        "uid": event.uid,
    }

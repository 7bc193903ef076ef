"""The events calendar as iCalendar (RFC 5545): one VEVENT per event, its UID the event's own, a
cancelled event as STATUS:CANCELLED (so subscribed calendars drop it rather than keep a stale one).
Served by `GET /api/v1/events.ics` and a person's private feed `/calendar/<token>.ics`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import icalendar
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from duty.ical import calendar
from events.models import Event
from events.selectors import events_between
from events.serializers import event_url
from hub.models import User


def events_calendar(events: Iterable[Event], language: str | None = None) -> bytes:
    with translation.override(language or settings.LANGUAGE_CODE):
        cal = calendar(gettext("MOU events"))
        stamp = timezone.now()
        for item in events:
            event = icalendar.Event()
            event.add("uid", item.uid)
            event.add("dtstamp", stamp)
            event.add("dtstart", item.starts_at)
            event.add("dtend", item.ends_at)
            event.add("summary", f"{item.title} ({item.organiser.code})")
            lines = [gettext("Organised by %(centre)s") % {"centre": item.organiser.name}]
            if item.online_url:
                lines.append(gettext("Online: %(url)s") % {"url": item.online_url})
            if item.description:
                lines.append(item.description)
            event.add("description", "\n".join(lines))
            if item.place:
                event.add("location", item.place)
            event.add("url", item.online_url or event_url(item))
            event.add("status", "CANCELLED" if item.cancelled_at else "CONFIRMED")
            event.add("categories", [item.kind])
            cal.add_component(event)
    return cal.to_ical()


def feed_events() -> Iterable[Event]:
    now = timezone.now()
    return events_between(now - timedelta(days=90), now + timedelta(days=400))


def events_calendar_for(user: User) -> bytes:
    """A person's subscription: the MOU's calendar, in their language."""
    return events_calendar(feed_events(), user.language or None)

"""Changing the events calendar: organising, changing and cancelling an event, registering, and
the day-before reminders (docs/duty.md, "Events").

Validation happens here (one set of translated errors for the API and the page). Registrations are
unique per (event, person) in the database, so a double click registers once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.frames import EventChangedFrame, EventFrame
from events.models import Event, Registration
from events.selectors import may_change, may_organise, registrants
from events.serializers import brief_out, event_url
from hub.errors import CONFLICT, FORBIDDEN, INVALID, HubError
from hub.lib.inputs import check_year
from hub.lib.text import clean_model_text
from hub.models import Centre, User
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.groups import ALL, user_group
from hub.realtime.publisher import broadcast_on_commit
from notify import services as notify

MAX_DURATION = timedelta(days=31)
FIELDS = ("title", "kind", "starts_at", "ends_at", "place", "online_url", "description", "topic", "organiser")


def _clean(values: dict[str, Any], by: User) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["title"] = clean_model_text(Event, "title", values.get("title"), single_line=True)
    kind = values.get("kind") or Event.Kind.WORKSHOP
    if kind not in Event.Kind.values:
        raise HubError(INVALID, _("kind: one of %(choices)s."), fields=["kind"], choices=", ".join(Event.Kind.values))
    out["kind"] = kind
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise HubError(INVALID, _("starts_at, ends_at: give both times."), fields=["starts_at"])
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise HubError(INVALID, _("starts_at, ends_at: give times with their offset."), fields=["starts_at"])
    check_year(starts_at, field="starts_at")
    check_year(ends_at, field="ends_at")
    if ends_at <= starts_at:
        raise HubError(INVALID, _("ends_at: an event ends after it starts."), fields=["ends_at"])
    if ends_at - starts_at > MAX_DURATION:
        raise HubError(INVALID, _("ends_at: an event lasts at most 31 days."), fields=["ends_at"])
    out["starts_at"], out["ends_at"] = starts_at, ends_at
    out["place"] = clean_model_text(Event, "place", values.get("place"), required=False, single_line=True)
    url = clean_model_text(Event, "online_url", values.get("online_url"), required=False, single_line=True)
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise HubError(INVALID, _("online_url: an http(s) address."), fields=["online_url"])
    out["online_url"] = url
    if not out["place"] and not out["online_url"]:
        raise HubError(INVALID, _("place: give a place or an online link."), fields=["place"])
    out["description"] = clean_model_text(Event, "description", values.get("description"), required=False,
                                          max_length=10000)
    out["topic"] = _topic(values.get("topic"), by)
    out["organiser"] = _organiser(values.get("organiser"), by)
    return out


def _topic(slug: Any, by: User) -> Any:
    if not slug:
        return None
    from chat.models import Topic
    from chat.selectors import can_view_topic

    topic = Topic.objects.filter(slug=str(slug)[:100]).first()
    # Only a channel the organiser sees (never a direct conversation: its name is its members').
    if topic is None or topic.kind != Topic.Kind.CHANNEL or not can_view_topic(by, topic):
        raise HubError(INVALID, _("topic: no topic %(slug)s that you can link."), fields=["topic"],
                       slug=str(slug)[:100])
    return topic


def _organiser(code: Any, by: User) -> Centre:
    if code and by.is_hub_admin:
        centre = Centre.objects.filter(code=str(code).upper()[:20]).first()
        if centre is None:
            raise HubError(INVALID, _("organiser: no centre with the code %(centre)s."), fields=["organiser"],
                           centre=str(code)[:20])
        return centre
    if by.centre is None:
        raise HubError(INVALID, _("organiser: choose the organising centre."), fields=["organiser"])
    if code and str(code).upper() != by.centre.code:
        raise HubError(FORBIDDEN, _("You organise events for your own centre only."))
    return by.centre


def _changed(event: Event, what: Literal["created", "changed", "cancelled", "registrations"]) -> None:
    """After commit, every signed-in socket hears that the calendar changed (`event.changed`)."""
    frame: EventChangedFrame = {"type": "event.changed", "event": what, "item": brief_out(event)}
    broadcast_on_commit([ALL], frame, EVERYONE)


def create_event(*, by: User, **values: Any) -> Event:
    if not may_organise(by):
        raise HubError(FORBIDDEN, _("Only managers put events on the calendar."))
    clean = _clean(values, by)
    with transaction.atomic():
        event = Event.objects.create(created_by=by, **clean)
        _changed(event, "created")
    return event


def update_event(event: Event, *, by: User, **changes: Any) -> Event:
    if not may_change(by, event):
        raise HubError(FORBIDDEN, _("Only the organising centre's managers change this event."))
    current = {name: getattr(event, name) for name in FIELDS}
    current["topic"] = event.topic.slug if event.topic is not None else None
    current["organiser"] = event.organiser.code
    current.update({k: v for k, v in changes.items() if k in FIELDS})
    clean = _clean(current, by)
    with transaction.atomic():
        for name, value in clean.items():
            setattr(event, name, value)
        if "starts_at" in changes and changes["starts_at"] != event.starts_at:
            event.reminded_at = None  # moved: remind again the day before the new date
        event.updated_at = timezone.now()
        event.save()
        _changed(event, "changed")
    return event


def cancel_event(event: Event, *, by: User) -> Event:
    """Cancelled events stay on the calendar, marked, so nobody travels to them."""
    if not may_change(by, event):
        raise HubError(FORBIDDEN, _("Only the organising centre's managers change this event."))
    if event.cancelled_at is None:
        with transaction.atomic():
            event.cancelled_at = timezone.now()
            event.updated_at = event.cancelled_at
            event.save(update_fields=["cancelled_at", "updated_at"])
            _changed(event, "cancelled")
    return event


def register(event: Event, *, by: User) -> bool:
    """Register `by` for the event (their centre at this moment); False when they already were."""
    if event.cancelled_at is not None:
        raise HubError(CONFLICT, _("This event is cancelled."))
    if event.ends_at <= timezone.now():
        raise HubError(CONFLICT, _("This event is over."))
    try:
        with transaction.atomic():
            Registration.objects.create(event=event, user=by, centre=by.centre)
            _changed(event, "registrations")
    except IntegrityError:
        return False
    return True


def unregister(event: Event, *, by: User) -> bool:
    with transaction.atomic():
        deleted, _rows = Registration.objects.filter(event=event, user=by).delete()
        if deleted:
            _changed(event, "registrations")
    return bool(deleted)


# --- the day-before reminder (events/jobs.py) ------------------------------------------------------


@dataclass
class ReminderReport:
    events: list[Event] = field(default_factory=list)
    people: int = 0

    def lines(self) -> list[str]:
        return [f"events: reminded the registrants of event {e.pk} ({e.title})" for e in self.events]


def send_reminders(*, now: datetime) -> ReminderReport:
    """Every event starting within HUB_EVENT_REMIND_HOURS that has not been reminded: one `event`
    frame to each registrant's stream and, for those who chose email for event reminders (the
    default), an email through notify's outbox (quiet hours, retries: notify.services.event_reminder).
    Claimed with a conditional UPDATE, so two workers never remind twice."""
    report = ReminderReport()
    window = timedelta(hours=settings.HUB_EVENT_REMIND_HOURS)
    due = Event.objects.select_related("organiser").filter(
        reminded_at__isnull=True, cancelled_at__isnull=True, starts_at__gt=now, starts_at__lte=now + window)
    for event in due:
        with transaction.atomic():
            if not Event.objects.filter(pk=event.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            people = registrants(event)
            told = notify.event_reminder(event_id=event.pk, people=people, now=now)
            ids = frozenset(p.pk for p in told)
            if ids:
                frame: EventFrame = {"type": "event", "event": "reminder", "item": brief_out(event),
                                     "url": event_url(event)}
                broadcast_on_commit([user_group(i) for i in sorted(ids)], frame, Audience(users=ids))
            report.events.append(event)
            report.people += len(people)
    return report


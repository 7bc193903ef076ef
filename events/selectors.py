"""Reading the events calendar: which events fall in a period, who may change one, who attends.

Every signed-in person reads every event (the MOU's calendar is shared by its centres); a topic
linked to an event is shown only to those who may see that topic (chat.selectors.can_view_topic).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from events.models import Event, Registration
from hub.models import Role, User


def events_between(start: datetime | None, end: datetime | None, *, include_cancelled: bool = True) -> QuerySet[Event]:
    """Events overlapping [start, end), with their organiser, topic and registrations loaded."""
    qs = Event.objects.select_related("organiser", "topic").prefetch_related(
        Prefetch("registrations", queryset=Registration.objects.select_related("user", "centre")
                 .order_by("centre__code", "created_at")))
    if start is not None:
        qs = qs.filter(ends_at__gt=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    if not include_cancelled:
        qs = qs.filter(cancelled_at__isnull=True)
    return qs


def get_event(ident: int) -> Event | None:
    return events_between(None, None).filter(pk=ident).first()


def may_organise(user: Any) -> bool:
    """Managers (for their centre) and hub admins put events on the calendar."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_hub_admin or (user.centre_id and user.has_role(Role.MANAGER)))


def may_change(user: Any, event: Event) -> bool:
    """Hub admins, and those who may organise now (`may_organise`) of the organising centre. Whoever
    created the event has no right of their own: they keep it exactly while they are a manager of the
    organising centre, not after a move or a demotion."""
    return may_organise(user) and bool(user.is_hub_admin or user.centre_id == event.organiser_id)


def registrants(event: Event) -> list[User]:
    return [r.user for r in Registration.objects.filter(event=event, user__is_active=True).select_related("user")]


def topic_visible(user: Any, event: Event) -> bool:
    if event.topic is None:
        return False
    from chat.selectors import can_view_topic

    return bool(can_view_topic(user, event.topic))

"""The events calendar's frames of the notifications stream (`/ws/notifications/`), as types.

`event`: sent by the `events.remind` job (events.services.send_reminders) to each registrant the day
before an event: the bell and a browser notification show it. `event.changed`: an event was put on
the calendar, changed or cancelled, or someone registered or withdrew — to everyone signed in (the
calendar is the MOU's), so an open calendar page redraws from the API. Listed in docs/frames.md.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class EventBrief(TypedDict):
    id: int
    title: str
    organiser: str  # the organising centre's code
    starts_at: str
    ends_at: str
    place: str
    online_url: str


class EventFrame(TypedDict):
    """An event the person registered for starts within a day (`reminder`), with the page's `url`."""

    type: Literal["event"]
    event: Literal["reminder"]
    item: EventBrief
    url: str


class EventChangedFrame(TypedDict):
    """The calendar changed: an event `created`, `changed` or `cancelled`, or its `registrations`
    (someone registered or withdrew). The page reads the event again (`GET /api/v1/events/{id}`)."""

    type: Literal["event.changed"]
    event: Literal["created", "changed", "cancelled", "registrations"]
    item: EventBrief


NOTIFICATION_FRAMES = (EventFrame, EventChangedFrame)

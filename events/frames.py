"""The `event` frame of the notifications stream (`/ws/notifications/`), as types.

Sent by the `events.remind` job (events.services.send_reminders) to each registrant the day before
an event: the bell and a browser notification show it. Listed in docs/frames.md.
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


NOTIFICATION_FRAMES = (EventFrame,)

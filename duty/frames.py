"""The `duty` frame of the notifications stream (`/ws/notifications/`), as types.

Its `duty` object is what `GET /api/v1/centres/{code}/duty` answers (duty.serializers.duty_out), so a
page updates its duty board from a frame without a reload. Built by duty.services, held to these
types by tests/hub/test_frames.py, listed in docs/frames.md.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class DutyPerson(TypedDict):
    username: str
    display_name: str


class DutyWire(TypedDict):
    """A centre's duty state now."""

    centre: str
    on_duty: DutyPerson | None
    confirmed: bool
    since: str | None  # the shift's start
    until: str | None  # the shift's end
    confirmed_at: str | None
    last_seen_at: str | None  # the officer's last heartbeat (a repeated confirm)
    deputy: DutyPerson | None
    state: str  # confirmed | unconfirmed | nobody
    shift: int | None


class ShiftWire(TypedDict):
    id: int
    centre: str
    starts_at: str
    ends_at: str
    officer: DutyPerson | None
    deputy: DutyPerson | None
    note: str
    confirmed_at: str | None
    uid: str  # the iCalendar UID


class DeletedShift(TypedDict):
    id: int


DutyEvent = Literal["confirmed", "started", "ended", "roster_changed", "reminder", "unconfirmed"]


class DutyFrame(TypedDict):
    """A centre's duty changed (to everyone signed in: confirmed, started, ended, roster_changed), or a
    message for named people: the officer's `reminder` to confirm, the deputy's and managers' news
    that a shift is `unconfirmed` (with the page's `url`)."""

    type: Literal["duty"]
    event: DutyEvent
    duty: DutyWire
    shift: NotRequired[ShiftWire]  # roster_changed: the shift added or changed
    deleted: NotRequired[DeletedShift]  # roster_changed: the shift removed
    url: NotRequired[str]  # reminder, unconfirmed


NOTIFICATION_FRAMES = (DutyFrame,)

"""The `alert` and `alert.withdrawn` frames of the notifications stream (`/ws/notifications/`), as types.

The `alert` frame has an `event`; the alert inside is the same object `GET /api/v1/alerts` lists
(alerts.serializers.alert_out), so a client merges a frame into what it fetched. Built by
alerts.services, held to these types by tests/hub/test_frames.py, listed in docs/frames.md.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from hub.realtime.frames import Person


class IndicatorWire(TypedDict):
    type: str  # ipv4 | ipv6 | domain | url | hash | cve | email
    value: str
    algorithm: str | None  # md5 | sha1 | sha256 for a hash


class AlertWire(TypedDict):
    """What every recipient may see of an alert (no per-viewer or per-centre detail)."""

    id: int
    title: str
    severity: str  # low | medium | high | critical
    tlp: str  # clear | green | amber | red
    status: str  # open | mitigated | closed
    description: str
    html: str
    affected_systems: list[str]
    indicators: list[IndicatorWire]
    recommended_actions: str
    recommended_actions_html: str
    centre: str | None  # the raising centre
    raised_by: Person
    shared_with: list[str]
    created_at: str
    updated_at: str
    url: str
    promoted_from: dict[str, Any] | None  # the conversation it was promoted from (chat.promotion)


class AcknowledgementWire(TypedDict):
    centre: str
    status: Literal["acknowledged"]
    by: Person
    at: str


# A status change: "from" is a Python keyword, hence the functional form.
StatusChangeWire = TypedDict("StatusChangeWire", {"from": str, "to": str, "note": str, "by": str})


class EscalationWire(TypedDict):
    centre: str
    step: int
    at: str
    notified: list[str]  # the usernames of the people told (the deputy on duty, or the managers)


AlertEventName = Literal["raised", "acknowledged", "status_changed", "escalated", "entry", "updated"]


class AlertEntryWire(TypedDict):
    """One entry of an alert's timeline (never changed once written; a correction is a new entry)."""

    id: int
    kind: str
    text: str
    html: str
    corrects: int | None  # the entry this one corrects
    corrected_by: list[int]
    by: Person | None
    centre: str | None
    before: str | None
    after: str | None
    data: Any
    at: str


class AlertFrame(TypedDict):
    """An alert was raised, acknowledged by a centre, changed status, got a timeline entry (a note or a
    correction), was updated (severity, TLP, sharing, indicators: one entry per change), or escalated
    (the last only to the people it reached at the centre that has not acknowledged — its deputy on
    duty or its managers — and, as every alert frame, only if the alert's audience admits them when
    it arrives)."""

    type: Literal["alert"]
    event: AlertEventName
    alert: AlertWire
    acknowledgement: NotRequired[AcknowledgementWire]  # event "acknowledged"
    change: NotRequired[StatusChangeWire]  # event "status_changed"
    escalation: NotRequired[EscalationWire]  # event "escalated"
    entry: NotRequired[AlertEntryWire]  # event "entry"
    entries: NotRequired[list[AlertEntryWire]]  # event "updated"


class AlertWithdrawnFrame(TypedDict):
    """The alert's marking tightened (TLP raised, sharing narrowed) and the recipient may no longer
    see it: take it off every open page. Nothing of the alert but its id. Only to the people its old
    audience admitted and its new one refuses (`hub.realtime.audience.Lost`), never a hub admin;
    the people who still may see it get the `alert` frame ("updated") instead."""

    type: Literal["alert.withdrawn"]
    id: int


NOTIFICATION_FRAMES = (AlertFrame, AlertWithdrawnFrame)

"""`/api/v1/events…`: the MOU's events calendar (docs/duty.md, "Events"): list, create, change,
cancel, register and unregister, the iCalendar export and the caller's private feed address."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status

from events import ical, services
from events.models import Event
from events.selectors import events_between, get_event
from events.serializers import event_out
from hub.errors import INVALID, NOT_FOUND, HubError
from hub.lib.api_support import ERRORS, ApiRequest, ErrorOut, InSchema, keyset_page
from hub.lib.inputs import check_year
from hub.models import CalendarFeed

router = Router(tags=["events"])
RESPONSES = {**ERRORS, 409: ErrorOut}


class AttendeeOut(Schema):
    username: str
    display_name: str


class CentreRegistrations(Schema):
    centre: str | None
    count: int
    people: list[AttendeeOut]


class CalendarEventOut(Schema):
    id: int
    title: str
    kind: str
    organiser: str
    organiser_name: str
    starts_at: datetime
    ends_at: datetime
    place: str
    online_url: str
    description: str
    topic: str | None
    topic_name: str | None
    cancelled_at: datetime | None
    registrations: list[CentreRegistrations]
    registered_count: int
    registered: bool
    can_edit: bool
    uid: str


class EventPage(Schema):
    results: list[CalendarEventOut]
    next: str | None


class EventIn(InSchema):
    title: str
    kind: str = "workshop"
    starts_at: datetime
    ends_at: datetime
    place: str = ""
    online_url: str = ""
    description: str = ""
    topic: str | None = None
    organiser: str | None = None


class EventPatch(InSchema):
    title: str | None = None
    kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str | None = None
    online_url: str | None = None
    description: str | None = None
    topic: str | None = None


class EventListQuery(Schema):
    start: date | None = None
    end: date | None = None
    limit: int | None = None
    cursor: str | None = None


class EventFeedOut(Schema):
    url: str


def _bounds(query: EventListQuery) -> tuple[datetime | None, datetime | None]:
    """[start, end) as local midnights, either open. Dates given are within the hub's years
    (`check_year`): a local midnight at the calendar's edge cannot be compared in UTC."""
    if query.start is not None:
        check_year(query.start, field="start")
    if query.end is not None:
        check_year(query.end, field="end")
    tz = timezone.get_current_timezone()
    start = datetime.combine(query.start, datetime.min.time(), tzinfo=tz) if query.start else None
    end = datetime.combine(query.end, datetime.min.time(), tzinfo=tz) if query.end else None
    if start and end and (end <= start or (end - start) > timedelta(days=800)):
        raise HubError(INVALID, _("end: after start, at most 800 days later."), fields=["end"])
    return start, end


def _event(ident: int) -> Event:
    event = get_event(ident) if 0 < ident < 2**63 else None  # a path id beyond the column is simply absent
    if event is None:
        raise HubError(NOT_FOUND, _("No such event."))
    return event


@router.get("/events", response={200: EventPage, **RESPONSES},
            summary="Events overlapping [start, end) (dates, local), in time order")
def list_events(request: ApiRequest, query: Query[EventListQuery]):
    start, end = _bounds(query)
    page = keyset_page(events_between(start, end), ["starts_at", "id"], query.cursor, query.limit)
    return {"results": [event_out(e, request.auth) for e in page.results], "next": page.next}


@router.post("/events", response={201: CalendarEventOut, **RESPONSES},
             summary="Put an event on the calendar (managers, for their centre)")
def create(request: ApiRequest, payload: EventIn):
    event = services.create_event(by=request.auth, **payload.dict())
    return Status(201, event_out(_event(event.pk), request.auth))


@router.get("/events.ics", response={200: None, **RESPONSES}, summary="The calendar as iCalendar (text/calendar)")
def export(request: ApiRequest):
    response = HttpResponse(ical.events_calendar(ical.feed_events()), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="events.ics"'
    return response


@router.get("/events/feed", response={200: EventFeedOut, **RESPONSES},
            summary="The caller's private calendar subscription address")
def feed(request: ApiRequest):
    found = CalendarFeed.current(CalendarFeed.Kind.EVENTS, user=request.auth)
    assert found is not None  # made on first use
    return {"url": request.build_absolute_uri(found.path)}


@router.post("/events/feed/reset", response={200: EventFeedOut, **RESPONSES},
             summary="A new subscription address; the old one stops working")
def reset_feed(request: ApiRequest):
    found = CalendarFeed.reset(CalendarFeed.Kind.EVENTS, user=request.auth)
    return {"url": request.build_absolute_uri(found.path)}


@router.get("/events/{event_id}", response={200: CalendarEventOut, **RESPONSES}, summary="One event, with who attends")
def detail(request: ApiRequest, event_id: int):
    return event_out(_event(event_id), request.auth)


@router.patch("/events/{event_id}", response={200: CalendarEventOut, **RESPONSES},
              summary="Change an event (organisers)")
def change(request: ApiRequest, event_id: int, payload: EventPatch):
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None or k == "topic"}
    event = services.update_event(_event(event_id), by=request.auth, **changes)
    return event_out(_event(event.pk), request.auth)


@router.post("/events/{event_id}/cancel", response={200: CalendarEventOut, **RESPONSES},
              summary="Cancel an event (organisers)")
def cancel(request: ApiRequest, event_id: int):
    services.cancel_event(_event(event_id), by=request.auth)
    return event_out(_event(event_id), request.auth)


@router.post("/events/{event_id}/register", response={200: CalendarEventOut, **RESPONSES},
             summary="Register the caller (for their centre); registering twice changes nothing")
def register(request: ApiRequest, event_id: int):
    services.register(_event(event_id), by=request.auth)
    return event_out(_event(event_id), request.auth)


@router.post("/events/{event_id}/unregister", response={200: CalendarEventOut, **RESPONSES},
             summary="Withdraw the caller's registration")
def unregister(request: ApiRequest, event_id: int):
    services.unregister(_event(event_id), by=request.auth)
    return event_out(_event(event_id), request.auth)

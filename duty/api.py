"""`/api/v1/…duty…`: who is on duty at each centre, confirming duty, and the rosters (docs/duty.md).

`GET /centres/{code}/duty` and `POST /duty/confirm` are fixed by ../shared/CONTRACT.md; the roster
endpoints, the overview and the iCalendar import/export are the hub's extensions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status

from duty import ical, services
from duty.models import Shift
from duty.selectors import duty_state, duty_states, eligible_staff, my_duty, shifts_between
from duty.serializers import duty_out, person_out, shift_out
from hub.errors import INVALID, NOT_FOUND, HubError
from hub.lib.api_support import ERRORS, ApiRequest, ErrorOut, InSchema
from hub.lib.inputs import check_year

router = Router(tags=["duty"])
RESPONSES = {**ERRORS, 409: ErrorOut}


class DutyPersonOut(Schema):
    username: str
    display_name: str


class DutyOut(Schema):
    centre: str
    on_duty: DutyPersonOut | None
    confirmed: bool
    since: datetime | None
    until: datetime | None
    confirmed_at: datetime | None
    last_seen_at: datetime | None
    deputy: DutyPersonOut | None
    state: str
    shift: int | None


class ShiftOut(Schema):
    id: int
    centre: str
    starts_at: datetime
    ends_at: datetime
    officer: DutyPersonOut
    deputy: DutyPersonOut | None
    note: str
    confirmed_at: datetime | None
    uid: str


class ShiftIn(InSchema):
    starts_at: datetime
    ends_at: datetime
    officer: str
    deputy: str | None = None
    note: str = ""


class ShiftPatch(InSchema):
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    officer: str | None = None
    deputy: str | None = None
    note: str | None = None


class MyDutyOut(Schema):
    shift: ShiftOut | None
    duty: DutyOut | None
    next_change: datetime | None
    now: datetime


class RangeQuery(Schema):
    start: date | None = None
    end: date | None = None


class FeedOut(Schema):
    url: str


class ImportOut(Schema):
    created: int
    updated: int


def _range(query: RangeQuery) -> tuple[datetime, datetime]:
    """[start, end) as local midnights; default: this week (Monday to Monday). Dates given are within
    the hub's years (`check_year`): at the calendar's edge the week added or the move to UTC overflows."""
    if query.start is not None:
        check_year(query.start, field="start")
    if query.end is not None:
        check_year(query.end, field="end")
    today = timezone.localdate()
    start = query.start or (today - timedelta(days=today.weekday()))
    end = query.end or (start + timedelta(days=7))
    if end <= start or (end - start).days > 400:
        raise HubError(INVALID, _("end: after start, at most 400 days later."), fields=["end"])
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, datetime.min.time(), tzinfo=tz),
            datetime.combine(end, datetime.min.time(), tzinfo=tz))


def _shift(ident: int) -> Shift:
    shift = (Shift.objects.select_related("centre", "officer", "deputy").filter(pk=ident).first()
             if 0 < ident < 2**63 else None)  # a path id beyond the column is simply absent
    if shift is None:
        raise HubError(NOT_FOUND, _("No such shift."))
    return shift


@router.get("/centres/{code}/duty", response={200: DutyOut, **RESPONSES},
            summary="Who is on duty at a centre now, and whether they confirmed")
def centre_duty(request: ApiRequest, code: str):
    return duty_out(duty_state(services.centre_by_code(code)))


@router.get("/duty", response={200: list[DutyOut], **RESPONSES}, summary="Every centre's duty state now")
def all_duty(request: ApiRequest):
    return [duty_out(state) for state in duty_states()]


@router.get("/duty/mine", response={200: MyDutyOut, **RESPONSES},
            summary="The caller's shift to confirm now (if any), their centre's state, and when this next changes")
def mine(request: ApiRequest):
    found = my_duty(request.auth, early_minutes=settings.HUB_DUTY_CONFIRM_EARLY_MINUTES)
    return {"shift": shift_out(found.shift) if found.shift else None,
            "duty": duty_out(duty_state(found.shift.centre, found.at)) if found.shift else None,
            "next_change": found.next_change, "now": found.at}


@router.post("/duty/confirm", response={200: DutyOut, **RESPONSES},
             summary="The officer on duty confirms their shift (later calls are heartbeats)")
def confirm(request: ApiRequest):
    shift = services.confirm_duty(by=request.auth)
    return duty_out(duty_state(shift.centre, max(timezone.now(), shift.starts_at)))


@router.get("/centres/{code}/roster", response={200: list[ShiftOut], **RESPONSES},
            summary="A centre's shifts between two dates (default: this week)")
def roster(request: ApiRequest, code: str, query: Query[RangeQuery]):
    start, end = _range(query)
    return [shift_out(s) for s in shifts_between(services.centre_by_code(code), start, end)]


@router.get("/centres/{code}/roster/staff", response={200: list[DutyPersonOut], **RESPONSES},
            summary="Who may stand a shift at the centre (its security officers and managers)")
def roster_staff(request: ApiRequest, code: str):
    return [person_out(p) for p in eligible_staff(services.centre_by_code(code))]


@router.post("/centres/{code}/roster", response={201: ShiftOut, **RESPONSES},
             summary="Add a shift (the centre's managers)")
def add_shift(request: ApiRequest, code: str, payload: ShiftIn):
    shift = services.create_shift(services.centre_by_code(code), by=request.auth, **payload.dict())
    return Status(201, shift_out(shift))


@router.patch("/roster/{shift_id}", response={200: ShiftOut, **RESPONSES}, summary="Change a shift")
def change_shift(request: ApiRequest, shift_id: int, payload: ShiftPatch):
    shift = services.update_shift(_shift(shift_id), by=request.auth, **payload.dict(exclude_unset=True))
    return shift_out(shift)


@router.delete("/roster/{shift_id}", response={204: None, **RESPONSES}, summary="Remove a shift")
def remove_shift(request: ApiRequest, shift_id: int):
    services.delete_shift(_shift(shift_id), by=request.auth)
    return Status(204, None)


@router.get("/centres/{code}/roster.ics", response={200: None, **RESPONSES},
            summary="The roster as iCalendar (text/calendar), default from a month ago to a year ahead")
def export_roster(request: ApiRequest, code: str, query: Query[RangeQuery]):
    centre = services.centre_by_code(code)
    if query.start is None and query.end is None:
        today = timezone.localdate()
        query = RangeQuery(start=today - timedelta(days=31), end=today + timedelta(days=366))
    start, end = _range(query)
    response = HttpResponse(ical.roster_calendar(centre, shifts_between(centre, start, end), reader=request.auth),
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="duty-{centre.code.lower()}.ics"'
    return response


@router.post("/centres/{code}/roster/import", response={200: ImportOut, **RESPONSES},
             openapi_extra={"requestBody": {"content": {"text/calendar": {"schema": {"type": "string"}}},
                                            "required": True}},
             summary="Import shifts from iCalendar (text/calendar body, or multipart `file`): all or nothing")
def import_roster(request: ApiRequest, code: str):
    centre = services.centre_by_code(code)
    services.require_roster_manager(request.auth, centre)  # before the body is read, let alone parsed
    upload = request.FILES.get("file")
    data = upload.read() if upload is not None else request.body
    result = ical.import_roster(centre, by=request.auth, data=data)
    return {"created": result.created, "updated": result.updated}


@router.get("/centres/{code}/roster/feed", response={200: FeedOut, **RESPONSES},
            summary="The centre's private calendar subscription address (its managers)")
def roster_feed(request: ApiRequest, code: str):
    feed = services.issue_roster_feed(services.centre_by_code(code), by=request.auth)
    return {"url": request.build_absolute_uri(feed.path)}


@router.post("/centres/{code}/roster/feed/reset", response={200: FeedOut, **RESPONSES},
             summary="A new subscription address; the old one stops working")
def reset_roster_feed(request: ApiRequest, code: str):
    feed = services.issue_roster_feed(services.centre_by_code(code), by=request.auth, reset=True)
    return {"url": request.build_absolute_uri(feed.path)}

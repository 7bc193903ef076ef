"""Duty rosters as iCalendar (RFC 5545, the `icalendar` package): export, subscription feed, import.

One shift is one VEVENT. Its UID is the shift's own, so a roster exported, edited in a calendar
app and imported again updates those shifts instead of duplicating them. Who stands the shift is
carried twice: as ATTENDEEs with their name (what calendar apps show; the officer is
REQ-PARTICIPANT, the deputy OPT-PARTICIPANT) and as `X-HUB-OFFICER` / `X-HUB-DEPUTY` usernames
(exact, what the import reads first). An ATTENDEE's address is the person's email only for a reader
who sees their contact details (`hub.selectors.sees_contact_details`: their centre, hub admins);
anyone else gets `mailto:<username>@invalid`, an address that names no mailbox (RFC 6761 §6.4).

The import decodes each event's times through `icalendar`'s own `Event.start` / `Event.end` and
turns the library's refusals (`InvalidCalendar`, `IncompleteComponent`) and dates beyond Python's
range into the translated 400 naming the event; it runs only for someone who may keep the roster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import icalendar
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from icalendar.error import IncompleteComponent, InvalidCalendar

from duty.models import Shift
from hub.errors import INVALID, HubError
from hub.models import Centre, User
from hub.selectors import sees_contact_details

PRODID = "-//Inter-Centre Hub//Duty roster//VI"
MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_EVENTS = 1000


def _attendee(user: User, role: str, reader: User | Centre) -> icalendar.vCalAddress:
    email = user.email if user.email and sees_contact_details(reader, user) else f"{user.username}@invalid"
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["CN"] = icalendar.vText(user.get_display_name())
    address.params["ROLE"] = icalendar.vText(role)
    return address


def calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    return cal


def roster_calendar(centre: Centre, shifts: Iterable[Shift], *, reader: User | Centre) -> bytes:
    """The shifts as a calendar for `reader` (a person, or the centre itself for its private feed), in
    the hub's working language (it is shared by the whole centre)."""
    with translation.override(settings.LANGUAGE_CODE):
        cal = calendar(gettext("Duty roster %(centre)s") % {"centre": centre.code})
        stamp = timezone.now()
        for shift in shifts:
            event = icalendar.Event()
            event.add("uid", shift.uid)
            event.add("dtstamp", stamp)
            event.add("dtstart", shift.starts_at)
            event.add("dtend", shift.ends_at)
            event.add("summary", gettext("On duty: %(name)s (%(centre)s)") % {
                "name": shift.officer.get_display_name(), "centre": centre.code})
            lines = [gettext("Officer: %(name)s") % {"name": shift.officer.get_display_name()}]
            if shift.deputy is not None:
                lines.append(gettext("Deputy: %(name)s") % {"name": shift.deputy.get_display_name()})
            if shift.note:
                lines.append(shift.note)
            event.add("description", "\n".join(lines))
            event.add("attendee", _attendee(shift.officer, "REQ-PARTICIPANT", reader))
            if shift.deputy is not None:
                event.add("attendee", _attendee(shift.deputy, "OPT-PARTICIPANT", reader))
            event.add("x-hub-officer", shift.officer.username)
            if shift.deputy is not None:
                event.add("x-hub-deputy", shift.deputy.username)
            event.add("url", f"{settings.HUB_PUBLIC_URL}/duty/{centre.code}/")
            cal.add_component(event)
    return cal.to_ical()


# --- import ---------------------------------------------------------------------------------------


@dataclass
class ParsedShift:
    uid: str | None
    starts_at: datetime
    ends_at: datetime
    officer: str
    deputy: str | None
    note: str


@dataclass
class ImportResult:
    created: int
    updated: int


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime.combine(value, datetime.min.time(), tzinfo=tz)  # an all-day event: local midnight


def _times(event: icalendar.Event, tz: tzinfo) -> tuple[datetime, datetime]:
    """The event's start and end, decoded and checked by `icalendar` (`Event.start`, `Event.end`: one
    DTSTART that is a date or a date-time, DTEND of the same kind or a DURATION, not both), made aware
    in `tz`. Without DTEND and DURATION a shift lasts the day (a date) or HUB_DUTY_DEFAULT_HOURS.
    Raises the library's InvalidCalendar / IncompleteComponent, or OverflowError beyond year 9999."""
    start = event.start
    duration = event.DURATION
    if duration is not None and not isinstance(duration, timedelta):  # DURATION;VALUE=DATE-TIME:…
        raise InvalidCalendar(f"DURATION must be a duration, not {duration}.")
    starts_at = _aware(start, tz)
    if event.get("dtend") is None and duration is None:
        default = timedelta(hours=settings.HUB_DUTY_DEFAULT_HOURS) if isinstance(start, datetime) else timedelta(days=1)
        return starts_at, starts_at + default
    return starts_at, _aware(event.end, tz)


def _who(event: icalendar.cal.Component, centre: Centre, own: str, role: str, required: bool, label: str) -> str | None:
    username = str(event.get(own) or "").strip()
    if username:
        return username
    attendees = event.get("attendee") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        if str(getattr(attendee, "params", {}).get("ROLE", "REQ-PARTICIPANT")).upper() != role:
            continue
        email = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip()
        found = User.objects.filter(centre=centre, email__iexact=email, is_active=True).values_list(
            "username", flat=True).first()
        if found:
            return found
    if required:
        raise HubError(INVALID, _("Event %(uid)s: no %(what)s (X-HUB-OFFICER, or an ATTENDEE whose email belongs "
                                  "to %(centre)s)."), fields=["file"], uid=str(event.get("uid") or "?")[:80],
                       what=label, centre=centre.code)
    return None


def parse(data: bytes, centre: Centre) -> list[ParsedShift]:
    if not data or not data.strip():
        raise HubError(INVALID, _("file: send an iCalendar file (text/calendar)."), fields=["file"])
    if len(data) > MAX_IMPORT_BYTES:
        raise HubError(INVALID, _("file: at most 1 MB."), fields=["file"])
    try:
        cal = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise HubError(INVALID, _("file: not an iCalendar file (%(why)s)."), fields=["file"],
                       why=str(exc)[:120]) from None
    tz = timezone.get_current_timezone()
    parsed = []
    for event in cal.walk("VEVENT"):
        uid = str(event.get("uid") or "").strip() or None
        label = uid or "?"
        if event.get("dtstart") is None:
            raise HubError(INVALID, _("Event %(uid)s: no DTSTART."), fields=["file"], uid=label[:80])
        assert isinstance(event, icalendar.Event)  # what the parser makes of a VEVENT
        try:
            starts_at, ends_at = _times(event, tz)
        except (InvalidCalendar, IncompleteComponent) as exc:
            raise HubError(INVALID, _("Event %(uid)s: its start, end or duration is not a date or a time the "
                                      "roster can use (%(why)s)."), fields=["file"], uid=label[:80],
                           why=str(exc)[:160]) from None
        except OverflowError:
            raise HubError(INVALID, _("Event %(uid)s: its end falls after the last day a calendar can hold."),
                           fields=["file"], uid=label[:80]) from None
        officer = _who(event, centre, "x-hub-officer", "REQ-PARTICIPANT", True, "officer")
        deputy = _who(event, centre, "x-hub-deputy", "OPT-PARTICIPANT", False, "deputy")
        parsed.append(ParsedShift(uid=uid, starts_at=starts_at, ends_at=ends_at, officer=officer or "",
                                  deputy=deputy, note=str(event.get("x-hub-note") or "")[:200]))
        if len(parsed) > MAX_IMPORT_EVENTS:
            raise HubError(INVALID, _("file: at most %(n)s events."), fields=["file"], n=MAX_IMPORT_EVENTS)
    if not parsed:
        raise HubError(INVALID, _("file: the calendar has no events."), fields=["file"])
    return parsed


def import_roster(centre: Centre, *, by: User, data: bytes) -> ImportResult:
    """Create or update (by UID) every shift of the file, in time order; any error — a stranger as
    officer, an overlap, a UID of another centre's shift — changes nothing and names the event."""
    from duty import services

    services.require_roster_manager(by, centre)  # before the file is parsed
    shifts = sorted(parse(data, centre), key=lambda s: s.starts_at)
    created = updated = 0
    with transaction.atomic():
        for item in shifts:
            existing = Shift.objects.select_related("centre", "officer", "deputy").filter(uid=item.uid).first() \
                if item.uid else None
            try:
                if existing is not None:
                    if existing.centre_id != centre.pk:
                        raise HubError(INVALID, _("This UID belongs to a shift of another centre."), fields=["file"])
                    services.update_shift(existing, by=by, starts_at=item.starts_at, ends_at=item.ends_at,
                                          officer=item.officer, deputy=item.deputy)
                    updated += 1
                else:
                    services.create_shift(centre, by=by, starts_at=item.starts_at, ends_at=item.ends_at,
                                          officer=item.officer, deputy=item.deputy, note=item.note, uid=item.uid)
                    created += 1
            except HubError as exc:
                raise HubError(exc.code, _("Event %(uid)s: %(problem)s"), fields=["file"],
                               uid=(item.uid or "?")[:80], problem=exc.render()) from None
    return ImportResult(created=created, updated=updated)

"""Changing a duty roster, confirming duty, and telling everyone the state changed.

Every change runs in one transaction that first locks the centre's row, so two managers adding
shifts at once cannot both pass the "no overlap" check; the `duty` frame goes out after commit
(`broadcast_on_commit`) to everyone signed in — who is on duty where is shared across the MOU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duty.frames import DeletedShift, DutyEvent, DutyFrame, ShiftWire
from duty.models import Shift
from duty.selectors import (
    DutyState,
    current_shift_of,
    duty_state,
    eligible_staff,
    managers_of,
    may_manage_roster,
)
from duty.serializers import duty_out, shift_out
from hub.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, HubError
from hub.lib.inputs import check_year
from hub.models import CalendarFeed, Centre, User
from hub.realtime.audience import EVERYONE, Audience
from hub.realtime.groups import ALL, user_group
from hub.realtime.publisher import broadcast_on_commit

MAX_SHIFT = timedelta(days=7)
MAX_NOTE = 200


def broadcast_state(centre: Centre, *, event: DutyEvent, at: datetime | None = None, shift: ShiftWire | None = None,
                    deleted: DeletedShift | None = None) -> DutyState:
    """After commit, tell every signed-in socket the centre's duty state now (`duty` frame)."""
    state = duty_state(centre, at)
    frame: DutyFrame = {"type": "duty", "event": event, "duty": duty_out(state)}
    if shift is not None:
        frame["shift"] = shift
    if deleted is not None:
        frame["deleted"] = deleted
    broadcast_on_commit([ALL], frame, EVERYONE)
    return state


def notify_people(users: list[User | None], *, frame: DutyFrame) -> None:
    """A frame for a few named people only (their notification streams), after commit."""
    ids = sorted({u.pk for u in users if u is not None})
    if ids:
        broadcast_on_commit([user_group(i) for i in ids], frame, Audience(users=frozenset(ids)))


def centre_by_code(code: str) -> Centre:
    centre = Centre.objects.filter(code=str(code).strip().upper()).first()
    if centre is None:
        raise HubError(NOT_FOUND, _("No centre with the code %(centre)s."), centre=str(code)[:20])
    return centre


def _staff(centre: Centre, username: str | None, name: str, required: bool) -> User | None:
    if not username:
        if required:
            raise HubError(INVALID, _("%(field)s: choose someone."), fields=[name], field=name)
        return None
    person = eligible_staff(centre).filter(username=username).first()
    if person is None:
        raise HubError(INVALID, _("%(field)s: %(username)s is not a security officer or manager of %(centre)s."),
                       fields=[name], field=name, username=str(username)[:150], centre=centre.code)
    return person


def _validate(centre: Centre, starts_at: datetime, ends_at: datetime, officer: User, deputy: User | None,
              note: str, exclude: int | None = None) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise HubError(INVALID, _("starts_at, ends_at: give times with their offset."), fields=["starts_at"])
    check_year(starts_at, field="starts_at")
    check_year(ends_at, field="ends_at")
    if ends_at <= starts_at:
        raise HubError(INVALID, _("ends_at: a shift ends after it starts."), fields=["ends_at"])
    if ends_at - starts_at > MAX_SHIFT:
        raise HubError(INVALID, _("ends_at: a shift lasts at most 7 days."), fields=["ends_at"])
    if deputy is not None and deputy.pk == officer.pk:
        raise HubError(INVALID, _("deputy: the deputy is someone other than the officer."), fields=["deputy"])
    if len(note) > MAX_NOTE:
        raise HubError(INVALID, _("note: at most %(n)s characters."), fields=["note"], n=MAX_NOTE)
    clash = Shift.objects.filter(centre=centre, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    other = clash.select_related("officer").first()
    if other is not None:
        raise HubError(
            CONFLICT, _("This shift overlaps %(who)s's shift from %(start)s to %(end)s."), fields=["starts_at"],
            who=other.officer.get_display_name(),
            start=timezone.localtime(other.starts_at).strftime("%d/%m %H:%M"),
            end=timezone.localtime(other.ends_at).strftime("%d/%m %H:%M"),
        )


def _officer(centre: Centre, username: str | None) -> User:
    officer = _staff(centre, username, "officer", required=True)
    assert officer is not None  # _staff refuses a missing one
    return officer


def _lock_centre(centre: Centre) -> Centre:
    return Centre.objects.select_for_update().get(pk=centre.pk)


def require_roster_manager(user: User, centre: Centre) -> None:
    """Refuse (403) anyone who may not keep the centre's roster (`may_manage_roster`)."""
    if not may_manage_roster(user, centre):
        raise HubError(FORBIDDEN, _("Only the managers of %(centre)s keep its duty roster."), centre=centre.code)


def create_shift(centre: Centre, *, by: User, starts_at: datetime, ends_at: datetime, officer: str,
                 deputy: str | None = None, note: str = "", uid: str | None = None) -> Shift:
    require_roster_manager(by, centre)
    note = (note or "").strip()
    officer_user = _officer(centre, officer)
    deputy_user = _staff(centre, deputy, "deputy", required=False)
    with transaction.atomic():
        _lock_centre(centre)
        _validate(centre, starts_at, ends_at, officer_user, deputy_user, note)
        shift = Shift(centre=centre, starts_at=starts_at, ends_at=ends_at, officer=officer_user, deputy=deputy_user,
                      note=note, created_by=by)
        if uid:
            shift.uid = uid
        shift.save()
        broadcast_state(centre, event="roster_changed", shift=shift_out(shift))
    return shift


def update_shift(shift: Shift, *, by: User, **changes: Any) -> Shift:
    """Change a shift's times, officer, deputy or note (its managers). Changing the officer clears
    the confirmation: the new officer has not confirmed anything."""
    centre = shift.centre
    require_roster_manager(by, centre)
    with transaction.atomic():
        _lock_centre(centre)
        shift = Shift.objects.select_related("officer", "deputy", "centre").get(pk=shift.pk)
        starts_at = changes.get("starts_at") or shift.starts_at
        ends_at = changes.get("ends_at") or shift.ends_at
        officer = _officer(centre, changes["officer"]) if changes.get("officer") else shift.officer
        deputy = shift.deputy
        if "deputy" in changes:
            deputy = _staff(centre, changes["deputy"], "deputy", False)
        note = (changes["note"] or "").strip() if "note" in changes and changes["note"] is not None else shift.note
        _validate(centre, starts_at, ends_at, officer, deputy, note, exclude=shift.pk)
        if officer.pk != shift.officer_id:
            shift.confirmed_at = shift.last_seen_at = None
            shift.reminded_at = shift.unconfirmed_reported_at = None
        if starts_at != shift.starts_at:
            shift.start_announced_at = shift.reminded_at = shift.unconfirmed_reported_at = None
        if ends_at != shift.ends_at:
            shift.end_announced_at = None
        shift.starts_at, shift.ends_at, shift.officer, shift.deputy, shift.note = (
            starts_at, ends_at, officer, deputy, note)
        shift.updated_at = timezone.now()
        shift.save()
        broadcast_state(centre, event="roster_changed", shift=shift_out(shift))
    return shift


def delete_shift(shift: Shift, *, by: User) -> None:
    centre = shift.centre
    require_roster_manager(by, centre)
    with transaction.atomic():
        _lock_centre(centre)
        deleted: DeletedShift = {"id": shift.pk}
        Shift.objects.filter(pk=shift.pk).delete()
        broadcast_state(centre, event="roster_changed", deleted=deleted)


def issue_roster_feed(centre: Centre, *, by: User, reset: bool = False) -> CalendarFeed:
    """The centre's private subscription address (managers only); `reset` revokes the old one."""
    if not may_manage_roster(by, centre):
        raise HubError(FORBIDDEN, _("Only the managers of %(centre)s see its feed address."), centre=centre.code)
    if reset:
        return CalendarFeed.reset(CalendarFeed.Kind.DUTY, centre=centre, made_by=by)
    feed = CalendarFeed.current(CalendarFeed.Kind.DUTY, centre=centre, made_by=by)
    assert feed is not None  # made on first use
    return feed


def confirm_duty(*, by: User, at: datetime | None = None) -> Shift:
    """The officer confirms "on duty" for their current shift (or one starting within
    HUB_DUTY_CONFIRM_EARLY_MINUTES); later calls are heartbeats. Anyone else: 403."""
    at = at or timezone.now()
    shift = current_shift_of(by, at, early_minutes=settings.HUB_DUTY_CONFIRM_EARLY_MINUTES)
    if shift is None:
        raise HubError(FORBIDDEN, _("You are not on duty now: only the officer on duty confirms their shift."))
    with transaction.atomic():
        first = Shift.objects.filter(pk=shift.pk, confirmed_at__isnull=True).update(confirmed_at=at, last_seen_at=at)
        if not first:
            Shift.objects.filter(pk=shift.pk).update(last_seen_at=at)
        shift.refresh_from_db(fields=["confirmed_at", "last_seen_at"])
        if first:
            broadcast_state(shift.centre, event="confirmed", at=max(at, shift.starts_at))
    return shift


# --- the periodic watch (duty/jobs.py) ----------------------------------------------------------------


@dataclass
class WatchReport:
    started: list[Shift] = field(default_factory=list)
    ended: list[Shift] = field(default_factory=list)
    unconfirmed: list[Shift] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"duty: {s.centre.code} shift {s.pk} started ({s.officer.username})" for s in self.started]
        out += [f"duty: {s.centre.code} shift {s.pk} ended" for s in self.ended]
        out += [f"duty: {s.centre.code} shift {s.pk} not confirmed by {s.officer.username}; deputy and managers told"
                for s in self.unconfirmed]
        return out


def watch_shifts(*, now: datetime) -> WatchReport:
    """Shift starts and ends become live state changes (so every page shows them without a
    reload); the officer is reminded to confirm at the start; a shift still unconfirmed
    HUB_DUTY_CONFIRM_GRACE_MINUTES after it started is reported to its deputy and the centre's
    managers. Each of these happens once per shift (a conditional UPDATE claims it). Changes
    older than a day are marked done without telling anyone (a roster imported for last month)."""
    report = WatchReport()
    recent = now - timedelta(days=1)
    base = Shift.objects.select_related("centre", "officer", "deputy")
    for shift in base.filter(start_announced_at__isnull=True, starts_at__lte=now, starts_at__gt=recent):
        with transaction.atomic():
            if not Shift.objects.filter(pk=shift.pk, start_announced_at__isnull=True).update(start_announced_at=now):
                continue
            if shift.ends_at <= now:
                continue
            broadcast_state(shift.centre, event="started", at=now)
            if shift.confirmed_at is None and Shift.objects.filter(pk=shift.pk, reminded_at__isnull=True).update(
                    reminded_at=now):
                notify_people([shift.officer], frame={"type": "duty", "event": "reminder",
                                                "duty": duty_out(DutyState(shift.centre, shift, now)),
                                                "url": settings.HUB_PUBLIC_URL + "/duty/"})
            report.started.append(shift)
    for shift in base.filter(end_announced_at__isnull=True, ends_at__lte=now, ends_at__gt=recent):
        with transaction.atomic():
            if Shift.objects.filter(pk=shift.pk, end_announced_at__isnull=True).update(end_announced_at=now):
                broadcast_state(shift.centre, event="ended", at=now)
                report.ended.append(shift)
    grace = timedelta(minutes=settings.HUB_DUTY_CONFIRM_GRACE_MINUTES)
    for shift in base.filter(confirmed_at__isnull=True, unconfirmed_reported_at__isnull=True,
                             starts_at__lte=now - grace, starts_at__gt=recent, ends_at__gt=now):
        with transaction.atomic():
            if not Shift.objects.filter(pk=shift.pk, unconfirmed_reported_at__isnull=True,
                                        confirmed_at__isnull=True).update(unconfirmed_reported_at=now):
                continue
            frame: DutyFrame = {"type": "duty", "event": "unconfirmed",
                                "duty": duty_out(DutyState(shift.centre, shift, now)),
                                "url": settings.HUB_PUBLIC_URL + f"/duty/{shift.centre.code}/"}
            notify_people([shift.deputy, *managers_of(shift.centre)], frame=frame)
            report.unconfirmed.append(shift)
    Shift.objects.filter(start_announced_at__isnull=True, starts_at__lte=recent).update(start_announced_at=now)
    Shift.objects.filter(end_announced_at__isnull=True, ends_at__lte=recent).update(end_announced_at=now)
    return report

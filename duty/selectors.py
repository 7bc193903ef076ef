"""Who is on duty: the one place that answers it, for the API, the pages, alert routing and email.

`on_duty(centre, at)` is what other apps call (alerts route to the officer first; the reach app
mails them): the shift of `centre` that covers `at`, with its officer and deputy loaded, or None.
Who is on duty at another centre is not a secret among the MOU's centres — knowing whom to call
tonight is the point — so every signed-in person may read every centre's state; editing a roster
belongs to that centre's managers (`may_manage_roster`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from duty.models import Shift
from hub.models import Centre, Role, User

# Who may stand a duty shift: the centre's security officers, and its managers (small centres).
DUTY_ROLES = (Role.SECURITY_OFFICER, Role.MANAGER)


class State:
    CONFIRMED = "confirmed"  # someone is on duty and confirmed it
    UNCONFIRMED = "unconfirmed"  # someone is rostered now but has not confirmed
    NOBODY = "nobody"  # nobody rostered now


def _shifts() -> QuerySet[Shift]:
    return Shift.objects.select_related("centre", "officer__centre", "deputy__centre")


def on_duty(centre: Centre | int | str, at: datetime | None = None) -> Shift | None:
    """The shift of `centre` (a Centre, its id or its code) that covers `at` (default now)."""
    at = at or timezone.now()
    qs = _shifts().filter(starts_at__lte=at, ends_at__gt=at)
    if isinstance(centre, Centre):
        qs = qs.filter(centre=centre)
    elif isinstance(centre, int):
        qs = qs.filter(centre_id=centre)
    else:
        qs = qs.filter(centre__code=str(centre).upper())
    return qs.order_by("starts_at").first()


@dataclass(frozen=True)
class DutyState:
    """A centre's duty at one moment: what the API, the pages and the `duty` frames show."""

    centre: Centre
    shift: Shift | None
    at: datetime

    @property
    def state(self) -> str:
        if self.shift is None:
            return State.NOBODY
        return State.CONFIRMED if self.shift.confirmed_at else State.UNCONFIRMED

    @property
    def officer(self) -> User | None:
        return self.shift.officer if self.shift else None

    @property
    def deputy(self) -> User | None:
        return self.shift.deputy if self.shift else None


def duty_state(centre: Centre, at: datetime | None = None) -> DutyState:
    at = at or timezone.now()
    return DutyState(centre=centre, shift=on_duty(centre, at), at=at)


def duty_states(at: datetime | None = None, centres: list[Centre] | None = None) -> list[DutyState]:
    """Every centre's state at `at`, in two queries (the centres, the shifts covering `at`)."""
    at = at or timezone.now()
    centres = list(centres if centres is not None else Centre.objects.order_by("code"))
    covering: dict[int, Shift] = {}
    for shift in _shifts().filter(starts_at__lte=at, ends_at__gt=at, centre__in=centres).order_by("-starts_at"):
        covering[shift.centre_id] = shift  # the earliest-starting wins if data ever overlapped
    return [DutyState(centre=c, shift=covering.get(c.pk), at=at) for c in centres]


def shifts_between(centre: Centre, start: datetime, end: datetime) -> QuerySet[Shift]:
    """The centre's shifts that overlap [start, end), in time order."""
    return _shifts().filter(centre=centre, starts_at__lt=end, ends_at__gt=start).order_by("starts_at")


def current_shift_of(user: Any, at: datetime | None = None, early_minutes: int = 0) -> Shift | None:
    """The shift `user` is the officer of at `at`, or starting within `early_minutes` of it."""
    if user is None or not getattr(user, "is_authenticated", False) or user.centre_id is None:
        return None
    at = at or timezone.now()
    from datetime import timedelta

    return (_shifts().filter(officer=user, starts_at__lte=at + timedelta(minutes=early_minutes), ends_at__gt=at)
            .order_by("starts_at").first())


@dataclass(frozen=True)
class MyDuty:
    """What the "confirm on duty" card of a person shows now, and when to ask again."""

    shift: Shift | None  # the shift they may confirm now (current, or starting within the early window)
    next_change: datetime | None  # when that answer next changes by the roster alone
    at: datetime


def my_duty(user: Any, at: datetime | None = None, early_minutes: int = 0) -> MyDuty:
    """The shift `user` may confirm at `at` (`current_shift_of`), and the next moment the answer
    changes without anyone touching the roster: that shift's end, or the moment their next shift
    becomes confirmable (its start less `early_minutes`). A page sets its timer from this, then asks
    again (the server's answer decides; a roster change is a `duty` frame)."""
    from datetime import timedelta

    at = at or timezone.now()
    shift = current_shift_of(user, at, early_minutes=early_minutes)
    if user is None or not getattr(user, "is_authenticated", False) or user.centre_id is None:
        return MyDuty(None, None, at)
    early = timedelta(minutes=early_minutes)
    upcoming = (Shift.objects.filter(officer=user, starts_at__gt=at + early).order_by("starts_at")
                .values_list("starts_at", flat=True).first())
    changes = [moment for moment in (shift.ends_at if shift else None, upcoming - early if upcoming else None)
               if moment is not None]
    return MyDuty(shift, min(changes) if changes else None, at)


def may_manage_roster(user: Any, centre: Centre) -> bool:
    """A centre's roster is kept by its managers (and hub admins)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_hub_admin:
        return True
    return bool(user.centre_id == centre.pk and user.has_role(Role.MANAGER))


def eligible_staff(centre: Centre) -> QuerySet[User]:
    """Who may be rostered at `centre` (officer or deputy)."""
    return (User.objects.filter(centre=centre, is_active=True, role__in=DUTY_ROLES).select_related("centre")
            .order_by("role", "display_name", "username"))


def standing_deputy(centre: Centre, at: datetime) -> User | None:
    """The deputy of the shift on duty at `centre` at `at`, if they may still stand it there
    (`eligible_staff`: active, of that centre, a duty role). A roster is made ahead, and people move
    centre or change role since: who is reached as deputy (alert escalation) is decided now."""
    shift = on_duty(centre, at)
    if shift is None or shift.deputy_id is None:
        return None
    return eligible_staff(centre).filter(pk=shift.deputy_id).first()


def managers_of(centre: Centre) -> list[User]:
    """A centre's active managers (with their centre), by username: the next in line after the
    deputy (escalation, an unconfirmed shift)."""
    return list(User.objects.filter(centre=centre, role=Role.MANAGER, is_active=True).select_related("centre")
                .order_by("username"))


def state_rank(state: str) -> int:
    """Sorting: the centres needing attention first."""
    return {State.UNCONFIRMED: 0, State.NOBODY: 1, State.CONFIRMED: 2}[state]

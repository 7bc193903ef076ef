"""The SLA clock of a support request: two targets in the TARGET centre's working time.

Every request has two clocks, both started when it is created and both counted in working minutes
of the centre asked (`worktime`: its office hours, Vietnam's public holidays, its make-up days and
days off; the hub's default calendar while the request is for "any centre"):

- **first response** (`first_response_due`): stopped by the target centre's first public comment,
  its acceptance (or rejection) of the request, or an assignment made by it (`respond`);
- **resolution** (`due_at`): stopped when the request is resolved (`stop`); it **pauses** while the
  request waits for the requester (`waiting_for_requester`) and resumes when they answer — a
  public comment of theirs moves the request back to `in_progress` (requests.services) — or the
  target centre takes it up again. A reopened request resumes it where it stood.

The targets are `settings.REQUESTS_SLA_MINUTES[priority]` (working minutes). What is stored on the
ticket (fields `first_response_due`, `first_response_at`, `due_at`, `sla_*`) is enough for lists,
filters and aggregates to run in the database (`breached_q`, `due_soon_q`, reports); the wire form
(`sla_out`) adds the remaining working time, computed with the centre's cached calendar.

A pause is kept as working seconds (`sla_paused_seconds`), so every due time is recomputed from the
creation time alone (`schedule`): a later priority change or an acceptance by another centre gives
the same answer as if the request had been that way from the start. docs/tickets.md has the rules
and a worked example across Tết.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from hub.lib.jsonutil import timestamp
from requests.models import OPEN_STATUSES, SlaReminder, Status, Ticket
from worktime.calendar import Calendar
from worktime.selectors import calendar_for

# The resolution clock runs in these statuses; it pauses in `waiting_for_requester` and stands
# still (stopped) once resolved, closed or rejected.
RUNNING = frozenset({Status.NEW, Status.ACCEPTED, Status.IN_PROGRESS, Status.REOPENED})
PAUSED = Status.WAITING_FOR_REQUESTER
STOPPED = frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED})
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
# The fields `schedule` writes (a service saves them with its change).
SCHEDULED = ["first_response_due", "sla_response_soon_at", "due_at", "sla_resolution_soon_at"]


@dataclass(frozen=True)
class Targets:
    """Working minutes from creation to first response and to resolution."""

    first_response: int
    resolution: int


def targets(priority: str) -> Targets:
    first, resolution = settings.REQUESTS_SLA_MINUTES[priority]
    return Targets(first, resolution)


def calendar_of(ticket: Ticket) -> Calendar:
    """The target centre's calendar (the hub's default while the request is for any centre)."""
    return calendar_for(ticket.target_centre_id)


# --- writing the clock (called by requests.workflow's effects and requests.services) -------------


def schedule(ticket: Ticket) -> list[str]:
    """(Re)compute the due times and the "due soon" moments from the creation time, the priority's
    targets, the ended pauses and the target's calendar. Returns the fields it set."""
    calendar = calendar_of(ticket)
    goal = targets(ticket.priority)
    share = settings.REQUESTS_SLA_DUE_SOON_SHARE
    start = ticket.created_at
    paused = ticket.sla_paused_seconds / 60
    ticket.first_response_due = calendar.add(start, goal.first_response)
    ticket.sla_response_soon_at = calendar.add(start, goal.first_response * share)
    ticket.due_at = calendar.add(start, goal.resolution + paused)
    ticket.sla_resolution_soon_at = calendar.add(start, goal.resolution * share + paused)
    return list(SCHEDULED)


def respond(ticket: Ticket, now: datetime) -> list[str]:
    """The target centre answered: stop the first-response clock (once). Returns the fields set."""
    if ticket.first_response_at is not None:
        return []
    ticket.first_response_at = now
    ticket.sla_response_minutes = max(0, calendar_of(ticket).between(ticket.created_at, now))
    return ["first_response_at", "sla_response_minutes"]


def pause(ticket: Ticket, now: datetime) -> list[str]:
    """Waiting for the requester (or resolved, closed, rejected): the resolution clock stands still."""
    if ticket.sla_paused_at is not None:
        return []
    ticket.sla_paused_at = now
    return ["sla_paused_at"]


def resume(ticket: Ticket, now: datetime) -> list[str]:
    """The requester answered (or the request was reopened): the pause's working time pushes the
    resolution due time on."""
    if ticket.sla_paused_at is None:
        return []
    seconds = calendar_of(ticket).seconds_between(ticket.sla_paused_at, now)
    ticket.sla_paused_seconds += max(0, int(seconds))
    ticket.sla_paused_at = None
    ticket.sla_resolution_minutes = None
    return ["sla_paused_at", "sla_paused_seconds", "sla_resolution_minutes", *schedule(ticket)]


def stop(ticket: Ticket, now: datetime) -> list[str]:
    """Resolved: the resolution clock stops; how long it took (pauses left out) is recorded."""
    fields = pause(ticket, now)
    spent = calendar_of(ticket).seconds_between(ticket.created_at, now) - ticket.sla_paused_seconds
    ticket.sla_resolution_minutes = max(0, int(spent // 60))
    return [*fields, "sla_resolution_minutes"]


def take_earliest(ticket: Ticket, other: Ticket) -> list[str]:
    """Merging `other` into `ticket`: the surviving request keeps the earlier of each clock (its due
    time, "due soon" moment and first response). Returns the fields set; the caller saves them."""
    fields: list[str] = []
    for name in ("first_response_due", "sla_response_soon_at", "due_at", "sla_resolution_soon_at",
                 "first_response_at"):
        mine, theirs = getattr(ticket, name), getattr(other, name)
        if theirs is not None and (mine is None or theirs < mine):
            setattr(ticket, name, theirs)
            fields.append(name)
    if "first_response_at" in fields:
        ticket.sla_response_minutes = other.sla_response_minutes
        fields.append("sla_response_minutes")
    return fields


# --- reading the clock ------------------------------------------------------------------------------


def response_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.first_response_due is None:
        return False
    end = ticket.first_response_at or (ticket.closed_at if ticket.status in STOPPED and ticket.closed_at else now)
    return ticket.first_response_due < end


def resolution_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.status == Status.REJECTED:
        return False
    return ticket.due_at < (ticket.sla_paused_at or now)


def is_breached(ticket: Ticket, now: datetime) -> bool:
    return response_breached(ticket, now) or resolution_breached(ticket, now)


def _soon(ticket: Ticket, now: datetime) -> bool:
    return ((ticket.first_response_at is None and ticket.sla_response_soon_at is not None
             and ticket.sla_response_soon_at <= now)
            or (ticket.sla_paused_at is None and ticket.sla_resolution_soon_at is not None
                and ticket.sla_resolution_soon_at <= now))


def is_due_soon(ticket: Ticket, now: datetime) -> bool:
    """`due_soon_q` for one ticket."""
    return ticket.status in OPEN_STATUSES and not is_breached(ticket, now) and _soon(ticket, now)


def next_due(ticket: Ticket) -> datetime | None:
    """The next due time of a running clock (None when both stand still: answered and paused or
    stopped)."""
    if ticket.status not in OPEN_STATUSES:
        return None
    dues = [ticket.first_response_due] if ticket.first_response_at is None and ticket.first_response_due else []
    if ticket.sla_paused_at is None:
        dues.append(ticket.due_at)
    return min(dues) if dues else None


def breached_q(now: datetime) -> Q:
    """`is_breached` for open requests, as a filter (the list's "overdue", the dashboard)."""
    return (
        Q(first_response_at__isnull=True, first_response_due__lt=now)
        | Q(first_response_at__gt=F("first_response_due"))
        | Q(sla_paused_at__isnull=True, due_at__lt=now)
        | Q(sla_paused_at__gt=F("due_at"))
    )


def overdue_q(now: datetime) -> Q:
    """Open and breached."""
    return Q(status__in=OPEN_STATUSES) & breached_q(now)


def due_soon_q(now: datetime) -> Q:
    """Open, not breached, and 80 % (REQUESTS_SLA_DUE_SOON_SHARE) of a running clock spent."""
    soon = (Q(first_response_at__isnull=True, sla_response_soon_at__lte=now)
            | Q(sla_paused_at__isnull=True, sla_resolution_soon_at__lte=now))
    return Q(status__in=OPEN_STATUSES) & soon & ~breached_q(now)


class SlaWire(TypedDict):
    """A request's service level, in its target centre's working time (docs/tickets.md)."""

    first_response_due: str | None
    resolution_due: str  # while paused: when it would be due if the clock resumed now
    paused: bool  # waiting for the requester
    breached: bool  # either clock past its due time
    state: Literal["running", "paused", "stopped"]  # the resolution clock
    paused_reason: str | None  # "waiting_for_requester", or null
    paused_since: str | None
    due_soon: bool  # open, not breached, 80 % of a running clock's target spent
    first_response_at: str | None
    first_response_breached: bool
    resolution_breached: bool
    first_response_remaining_minutes: int | None  # working minutes; negative once past; null when stopped
    resolution_remaining_minutes: int | None  # frozen while paused; null when stopped
    first_response_target_minutes: int
    resolution_target_minutes: int


def sla_out(ticket: Ticket, now: datetime) -> SlaWire:
    """The `sla` object of a ticket's wire form (a few cached-calendar walks, no queries)."""
    calendar = calendar_of(ticket)
    goal = targets(ticket.priority)
    is_open = ticket.status in OPEN_STATUSES
    paused = ticket.status == PAUSED and ticket.sla_paused_at is not None
    response_left: int | None = None
    if is_open and ticket.first_response_at is None and ticket.first_response_due is not None:
        response_left = calendar.between(now, ticket.first_response_due)
    resolution_due = ticket.due_at
    resolution_left: int | None = None
    if ticket.sla_paused_at is None:
        resolution_left = calendar.between(now, ticket.due_at) if is_open else None
    elif paused:
        resolution_left = calendar.between(ticket.sla_paused_at, ticket.due_at)
        if resolution_left > 0:
            resolution_due = calendar.add(now, resolution_left)
    response_late, resolution_late = response_breached(ticket, now), resolution_breached(ticket, now)
    soon = is_open and not (response_late or resolution_late) and _soon(ticket, now)
    state: Literal["running", "paused", "stopped"] = (
        "paused" if paused else "running" if ticket.sla_paused_at is None and is_open else "stopped")
    return {
        "first_response_due": timestamp(ticket.first_response_due) if ticket.first_response_due else None,
        "resolution_due": timestamp(resolution_due),
        "paused": paused,
        "breached": response_late or resolution_late,
        "state": state,
        "paused_reason": PAUSED.value if paused else None,
        "paused_since": timestamp(ticket.sla_paused_at) if paused and ticket.sla_paused_at else None,
        "due_soon": soon,
        "first_response_at": timestamp(ticket.first_response_at) if ticket.first_response_at else None,
        "first_response_breached": response_late,
        "resolution_breached": resolution_late,
        "first_response_remaining_minutes": response_left,
        "resolution_remaining_minutes": resolution_left,
        "first_response_target_minutes": goal.first_response,
        "resolution_target_minutes": goal.resolution,
    }


# --- reminders (the SLA watch: requests.jobs → requests.services.send_sla_reminders) --------------------


def reminders_due(now: datetime) -> list[tuple[str, str, QuerySet[Ticket]]]:
    """(clock, kind, tickets) for every notice due at `now` and not yet sent for the clock's current
    due time: a breach before a "due soon" (a clock found already breached gets only the breach)."""
    answered_late = Q(first_response_due__lt=now)

    def unsent(qs: QuerySet[Ticket], clock: str, kind: str, due: str) -> QuerySet[Ticket]:
        sent = SlaReminder.objects.filter(ticket=OuterRef("pk"), clock=clock, kind=kind, due=OuterRef(due))
        return qs.exclude(Exists(sent)).order_by("pk")

    awaiting = Ticket.objects.filter(status__in=OPEN_STATUSES, first_response_at__isnull=True,
                                     first_response_due__isnull=False)
    running = Ticket.objects.filter(status__in=RUNNING, sla_paused_at__isnull=True)
    breached, soon = SlaReminder.Kind.BREACHED, SlaReminder.Kind.DUE_SOON
    return [
        (FIRST_RESPONSE, breached, unsent(awaiting.filter(answered_late), FIRST_RESPONSE, breached,
                                          "first_response_due")),
        (FIRST_RESPONSE, soon, unsent(awaiting.filter(sla_response_soon_at__lte=now).exclude(answered_late),
                                      FIRST_RESPONSE, soon, "first_response_due")),
        (RESOLUTION, breached, unsent(running.filter(due_at__lt=now), RESOLUTION, breached, "due_at")),
        (RESOLUTION, soon, unsent(running.filter(sla_resolution_soon_at__lte=now, due_at__gte=now),
                                  RESOLUTION, soon, "due_at")),
    ]


def still_due(ticket: Ticket, clock: str, kind: str, now: datetime) -> datetime | None:
    """The clock's due time if the notice still applies to the ticket as it is now (re-read under
    its lock), else None."""
    if clock == FIRST_RESPONSE:
        if ticket.status not in OPEN_STATUSES or ticket.first_response_at is not None:
            return None
        due, soon = ticket.first_response_due, ticket.sla_response_soon_at
    else:
        if ticket.status not in RUNNING or ticket.sla_paused_at is not None:
            return None
        due, soon = ticket.due_at, ticket.sla_resolution_soon_at
    if due is None:
        return None
    if kind == SlaReminder.Kind.BREACHED:
        return due if due < now else None
    return due if soon is not None and soon <= now <= due else None

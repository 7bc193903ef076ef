"""The support-request workflow: the one state machine, and who may make each move.

Everything that decides whether a ticket's status may change lives in `MOVES` below; services,
API and pages ask `allowed_moves(ticket, user)` and never re-state a rule. Parties:

- TARGET: staff (any role) of the target centre — or, while the ticket is new and addressed to "any
  centre", staff of any centre other than the requester's (accepting makes their centre the target);
- REQUESTER: staff of the requesting centre;
- hub admins may make every move of the table (never a move outside it).

| from                  | to                    | who               | note     | the move also                     |
| --------------------- | --------------------- | ----------------- | -------- | --------------------------------- |
| new                   | accepted              | target            |          | target := acceptor's centre (if   |
|                       |                       |                   |          | "any"), accepted_at, assignee :=  |
|                       |                       |                   |          | acceptor (if nobody)              |
|                       |                       |                   |          | SLA: clocks in the target's time, |
|                       |                       |                   |          | first response stopped            |
| new                   | rejected              | target            | required | closed_at; SLA: responded, stopped|
| accepted              | in_progress           | target            |          |                                   |
| in_progress           | waiting_for_requester | target            |          | SLA: resolution clock paused      |
| waiting_for_requester | in_progress           | target, requester |          | SLA: resumed (due time pushed on) |
| in_progress           | resolved              | target            |          | resolved_at; SLA: stopped         |
| resolved              | closed                | requester         |          | closed_at                         |
| resolved              | reopened              | requester         |          | resolved_at := none; SLA: resumed |
| reopened              | in_progress           | target            |          |                                   |

What a move does beside changing the status (its `effects`) is part of its row, so the service that
performs a move (`requests.services.transition_ticket`) and the demo history (`requests.demo`) apply
the same consequences without re-stating them (`perform`).

Assignment is not a status move but belongs to the same rule book (`may_assign`): managers of the
target centre (re)assign to anyone of their centre, any target staff may take an unassigned ticket
for themselves, hub admins may do either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from hub.errors import CONFLICT, HubError, invalid, listing
from hub.models import Role
from requests import sla
from requests.models import FINAL_STATUSES, Status, Ticket, TicketEvent


class Party(StrEnum):
    TARGET = "target"
    REQUESTER = "requester"


@dataclass
class Consequences:
    """What a move did to the ticket in memory beside its status: the fields it set (to save) and the
    events to record after the status change, as (kind, {"field", "before", "after"})."""

    fields: list[str] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# An effect changes the ticket (in memory) for a move made by `by` at `now`, noting what it did.
Effect = Callable[[Ticket, Any, datetime, Consequences], None]


def stamp(name: str) -> Effect:
    """Set the timestamp field `name` to the move's time."""

    def effect(ticket: Ticket, by: Any, now: datetime, done: Consequences) -> None:
        setattr(ticket, name, now)
        done.fields.append(name)

    effect.__name__ = f"stamp_{name}"
    return effect


def clear(name: str) -> Effect:
    """Empty the field `name` (a reopened ticket is no longer resolved)."""

    def effect(ticket: Ticket, by: Any, now: datetime, done: Consequences) -> None:
        setattr(ticket, name, None)
        done.fields.append(name)

    effect.__name__ = f"clear_{name}"
    return effect


def take_for_acceptors_centre(ticket: Ticket, by: Any, now: datetime, done: Consequences) -> None:
    """A request to "any centre" becomes a request to the centre of whoever accepts it."""
    if ticket.target_centre_id is not None:
        return
    if getattr(by, "centre_id", None) is None:  # a hub admin outside any centre cannot answer for one
        raise HubError(CONFLICT, _("A request for any centre is accepted by a centre's staff."),
                       extra={"allowed": allowed_moves(ticket, by), "current": ticket.status})
    ticket.target_centre = by.centre
    done.fields.append("target_centre")
    done.events.append((TicketEvent.Kind.FIELD, {"field": "target_centre", "before": None, "after": by.centre.code}))


def assign_acceptor(ticket: Ticket, by: Any, now: datetime, done: Consequences) -> None:
    """Whoever accepts an unassigned ticket for the target centre takes it."""
    if ticket.assignee_id is not None or getattr(by, "centre_id", None) != ticket.target_centre_id:
        return
    ticket.assignee = by
    done.fields.append("assignee")
    done.events.append((TicketEvent.Kind.ASSIGNED, {"field": "assignee", "before": None, "after": by.username}))


def clock(step: Callable[[Ticket, datetime], list[str]]) -> Effect:
    """A step of the SLA clock (requests.sla: respond, pause, resume, stop, schedule) as an effect."""

    def effect(ticket: Ticket, by: Any, now: datetime, done: Consequences) -> None:
        done.fields.extend(step(ticket, now))

    effect.__name__ = f"sla_{step.__name__}"
    return effect


def reschedule(ticket: Ticket, now: datetime) -> list[str]:
    """Accepted: the clocks run in the accepting centre's working time (it may have been "any")."""
    return sla.schedule(ticket)


@dataclass(frozen=True)
class Move:
    source: str
    to: str
    parties: frozenset[Party]
    note_required: bool = False
    effects: tuple[Effect, ...] = ()


MOVES: tuple[Move, ...] = (
    Move(Status.NEW, Status.ACCEPTED, frozenset({Party.TARGET}),
         effects=(take_for_acceptors_centre, stamp("accepted_at"), assign_acceptor, clock(reschedule),
                  clock(sla.respond))),
    Move(Status.NEW, Status.REJECTED, frozenset({Party.TARGET}), note_required=True,
         effects=(stamp("closed_at"), clock(sla.respond), clock(sla.pause))),
    Move(Status.ACCEPTED, Status.IN_PROGRESS, frozenset({Party.TARGET})),
    Move(Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER, frozenset({Party.TARGET}), effects=(clock(sla.pause),)),
    Move(Status.WAITING_FOR_REQUESTER, Status.IN_PROGRESS, frozenset({Party.TARGET, Party.REQUESTER}),
         effects=(clock(sla.resume),)),
    Move(Status.IN_PROGRESS, Status.RESOLVED, frozenset({Party.TARGET}),
         effects=(stamp("resolved_at"), clock(sla.stop))),
    Move(Status.RESOLVED, Status.CLOSED, frozenset({Party.REQUESTER}), effects=(stamp("closed_at"),)),
    Move(Status.RESOLVED, Status.REOPENED, frozenset({Party.REQUESTER}),
         effects=(clear("resolved_at"), clock(sla.resume))),
    Move(Status.REOPENED, Status.IN_PROGRESS, frozenset({Party.TARGET})),
)


def require_move(ticket: Ticket, by: Any, to: str, note: str) -> Move:
    """The move of `ticket` to `to` that `by` may make now with this `note`, or the refusal: 409
    naming the moves open to them (by label and value, and as `allowed`), or 400 for a missing reason."""
    allowed = allowed_moves(ticket, by)
    if to not in allowed:
        if allowed:
            message = _("You cannot move this ticket from “%(current)s” to “%(to)s”; allowed for you: %(allowed)s.")
        else:
            message = _("You cannot move this ticket from “%(current)s” to “%(to)s”; no move is open to you now.")
        raise HubError(CONFLICT, message, extra={"allowed": allowed, "current": ticket.status},
                       current=Status(ticket.status).label, to=Status(to).label,
                       allowed=listing(format_lazy("{} ({})", Status(m).label, m) for m in allowed))
    move = move_for(ticket.status, to)
    assert move is not None  # allowed_moves only lists moves of the table
    if move.note_required and not note:
        raise invalid("note", _("a reason is required to move a ticket to “%(to)s”."), to=Status(to).label)
    return move


def perform(move: Move, ticket: Ticket, by: Any, now: datetime) -> Consequences:
    """Make `move` on `ticket` in memory: its effects, then the status. Nothing is saved; the caller
    saves `fields` (plus `status`) and records the move's event, then `events`. Whether `by` may make
    the move is `allowed_moves`' question, asked before."""
    done = Consequences()
    for effect in move.effects:
        effect(ticket, by, now, done)
    ticket.status = move.to
    done.fields.append("status")
    return done


def parties_of(user, ticket: Ticket) -> frozenset[Party]:
    """The sides of the ticket `user` acts for (a ticket never targets its own requesting centre)."""
    centre_id = getattr(user, "centre_id", None)
    if centre_id is None:
        return frozenset()
    parties: set[Party] = set()
    if centre_id == ticket.requesting_centre_id:
        parties.add(Party.REQUESTER)
    elif ticket.target_centre_id == centre_id or (
        ticket.target_centre_id is None and ticket.status == Status.NEW
    ):
        parties.add(Party.TARGET)
    return frozenset(parties)


def move_for(source: str, to: str) -> Move | None:
    for move in MOVES:
        if move.source == source and move.to == to:
            return move
    return None


def allowed_moves(ticket: Ticket, user) -> list[str]:
    """The statuses `user` may move `ticket` to now, in table order."""
    if user.is_hub_admin:
        return [m.to for m in MOVES if m.source == ticket.status]
    parties = parties_of(user, ticket)
    return [m.to for m in MOVES if m.source == ticket.status and m.parties & parties]


def may_assign(user, ticket: Ticket, assignee) -> bool:
    """Whether `user` may make `assignee` (None = unassign) the ticket's assignee."""
    if ticket.status in FINAL_STATUSES or ticket.target_centre_id is None:
        return False
    if assignee is not None and assignee.centre_id != ticket.target_centre_id:
        return False
    if user.is_hub_admin:
        return True
    if user.centre_id != ticket.target_centre_id:
        return False
    if user.has_role(Role.MANAGER):
        return True
    # Anyone of the target centre may take an unassigned ticket for themselves.
    return ticket.assignee_id is None and assignee is not None and assignee.pk == user.pk


def may_edit(user, ticket: Ticket) -> bool:
    """Title, description, category and priority: either side of the ticket, while it is not final."""
    if ticket.status in FINAL_STATUSES:
        return False
    if user.is_hub_admin:
        return True
    return user.centre_id is not None and user.centre_id in {ticket.requesting_centre_id, ticket.target_centre_id}


def may_redirect(user, ticket: Ticket) -> bool:
    """Sending a request to another centre (or to any): its requesting side, while it is new."""
    if ticket.status != Status.NEW:
        return False
    return user.is_hub_admin or (user.centre_id is not None and user.centre_id == ticket.requesting_centre_id)


def may_comment_internally(user, ticket: Ticket) -> bool:
    """Internal notes belong to the target centre (hub admins read and write everything)."""
    if user.is_hub_admin:
        return True
    return ticket.target_centre_id is not None and user.centre_id == ticket.target_centre_id


def may_manage_watchers(user, ticket: Ticket) -> bool:
    """Adding someone else as a watcher lets them see the ticket: only its two sides may do that."""
    if user.is_hub_admin:
        return True
    return user.centre_id is not None and user.centre_id in {ticket.requesting_centre_id, ticket.target_centre_id}


def may_merge(user, ticket: Ticket, into: Ticket) -> bool:
    """Merging the duplicate `ticket` into `into`: the people (any role) of the centre that handles
    `into` — its target centre — when it handles the duplicate too (or the duplicate is still open to
    any centre), and hub admins. Neither may be final; `into` needs a target centre. The merge is not
    a move of `MOVES`: the duplicate leaves the workflow for `merged`, a final status
    (requests.services.merge_ticket)."""
    if ticket.pk == into.pk or ticket.status in FINAL_STATUSES or into.status in FINAL_STATUSES:
        return False
    if into.target_centre_id is None:
        return False
    if ticket.target_centre_id not in (None, into.target_centre_id):
        return False
    if user.is_hub_admin:
        return True
    return user.centre_id is not None and user.centre_id == into.target_centre_id


def may_split(user, ticket: Ticket) -> bool:
    """Starting a new request from some comments of `ticket`: its two sides, while it is not final
    (the new request has the same two centres)."""
    return may_edit(user, ticket)


def may_link(user, ticket: Ticket) -> bool:
    """Linking `ticket` to another request or an alert (and removing such a link): its two sides,
    whatever its status (a closed request may still be found to be related)."""
    if ticket.merged_into_id is not None:
        return False
    if user.is_hub_admin:
        return True
    return user.centre_id is not None and user.centre_id in {ticket.requesting_centre_id, ticket.target_centre_id}


def may_manage_templates(user, centre_id: int) -> bool:
    """A centre's request templates are kept by its managers (and hub admins)."""
    if user.is_hub_admin:
        return True
    return user.centre_id == centre_id and user.has_role(Role.MANAGER)

"""The support-request workflow: the one state machine, and who may make each move.

Everything that decides whether a ticket's status may change lives in `MOVES` below; services,
API and pages ask `allowed_moves(ticket, user)` and never re-state a rule. Parties:

- TARGET: staff (any role) of the target centre — or, while the ticket is new and addressed to "any
  centre", staff of any centre other than the requester's (accepting makes their centre the target);
- REQUESTER: staff of the requesting centre;
- hub admins may make every move of the table (never a move outside it).

| from                  | to                    | who               | note      |
| --------------------- | --------------------- | ----------------- | --------- |
| new                   | accepted              | target            |           |
| new                   | rejected              | target            | required  |
| accepted              | in_progress           | target            |           |
| in_progress           | waiting_for_requester | target            |           |
| waiting_for_requester | in_progress           | target, requester |           |
| in_progress           | resolved              | target            |           |
| resolved              | closed                | requester         |           |
| resolved              | reopened              | requester         |           |
| reopened              | in_progress           | target            |           |

Assignment is not a status move but belongs to the same rule book (`may_assign`): managers of the
target centre (re)assign to anyone of their centre, any target staff may take an unassigned ticket
for themselves, hub admins may do either.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.models import Role
from requests.models import FINAL_STATUSES, Status, Ticket


class Party(StrEnum):
    TARGET = "target"
    REQUESTER = "requester"


@dataclass(frozen=True)
class Move:
    source: str
    to: str
    parties: frozenset[Party]
    note_required: bool = False


MOVES: tuple[Move, ...] = (
    Move(Status.NEW, Status.ACCEPTED, frozenset({Party.TARGET})),
    Move(Status.NEW, Status.REJECTED, frozenset({Party.TARGET}), note_required=True),
    Move(Status.ACCEPTED, Status.IN_PROGRESS, frozenset({Party.TARGET})),
    Move(Status.IN_PROGRESS, Status.WAITING_FOR_REQUESTER, frozenset({Party.TARGET})),
    Move(Status.WAITING_FOR_REQUESTER, Status.IN_PROGRESS, frozenset({Party.TARGET, Party.REQUESTER})),
    Move(Status.IN_PROGRESS, Status.RESOLVED, frozenset({Party.TARGET})),
    Move(Status.RESOLVED, Status.CLOSED, frozenset({Party.REQUESTER})),
    Move(Status.RESOLVED, Status.REOPENED, frozenset({Party.REQUESTER})),
    Move(Status.REOPENED, Status.IN_PROGRESS, frozenset({Party.TARGET})),
)


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

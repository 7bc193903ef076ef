"""The reports read a request's acceptance and resolution moments from its own columns (issue 27:
grouping the whole history per ticket took seconds at a million requests). They are the same
instants as its history's: `accepted_at` its first move to accepted, `resolved_at` its last move to
resolved while it stays resolved or closed, none while reopened (reports.selectors.accepted_in,
resolved_in)."""

from __future__ import annotations

from django.db.models import Max, Min


def history_moments(ticket) -> tuple:
    from requests.models import TicketEvent

    moves = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.TRANSITION)
    first_accept = moves.filter(after="accepted").aggregate(at=Min("created_at"))["at"]
    last_resolve = moves.filter(after="resolved").aggregate(at=Max("created_at"))["at"]
    return first_accept, last_resolve


def test_the_columns_are_the_history_moments_through_a_reopening(people, new_ticket):
    from requests.models import Ticket
    from requests.services import transition_ticket

    ticket = new_ticket()
    for by, to, resolved in [
        (people.dn_engineer, "accepted", False), (people.dn_engineer, "in_progress", False),
        (people.dn_engineer, "resolved", True), (people.ht_engineer, "reopened", False),
        (people.dn_engineer, "in_progress", False), (people.dn_engineer, "resolved", True),
        (people.ht_engineer, "closed", True),
    ]:
        transition_ticket(ticket, by=by, to=to)
        row = Ticket.objects.get(pk=ticket.pk)
        first_accept, last_resolve = history_moments(ticket)
        assert row.accepted_at == first_accept, to
        assert row.resolved_at == (last_resolve if resolved else None), to


def test_a_rejected_request_has_neither(people, new_ticket):
    from requests.models import Ticket
    from requests.services import transition_ticket

    ticket = new_ticket()
    transition_ticket(ticket, by=people.dn_engineer, to="rejected", note="không thuộc phạm vi")
    row = Ticket.objects.get(pk=ticket.pk)
    assert (row.accepted_at, row.resolved_at) == (None, None) == history_moments(ticket)

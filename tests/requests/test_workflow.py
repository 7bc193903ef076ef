"""The support-request state machine, move by move and person by person.

The expectation below is written out independently of `requests.workflow.MOVES`: for each status,
which statuses each side of a ticket HT → DN may move it to. Every (status, person, target status)
combination is tried over the API; allowed moves succeed and are recorded in the history, every
other move is a 409 that names exactly the moves open to that person and changes nothing.
"""

from __future__ import annotations

import pytest

from requests.models import Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

T, R = "target", "requester"

# status → {to: sides allowed}; hub admins may make every move listed here, nobody any other.
SPEC: dict[str, dict[str, set[str]]] = {
    "new": {"accepted": {T}, "rejected": {T}},
    "accepted": {"in_progress": {T}},
    "in_progress": {"waiting_for_requester": {T}, "resolved": {T}},
    "waiting_for_requester": {"in_progress": {T, R}},
    "resolved": {"closed": {R}, "reopened": {R}},
    "reopened": {"in_progress": {T}},
    "closed": {},
    "rejected": {},
    "merged": {},  # a merge is not a move: POST …/merge (tests/requests/test_merge.py)
}
ACTORS = {
    "dn.engineer": T, "dn.security": T, "dn.manager": T,
    "ht.engineer": R, "ht.manager": R,
    "admin": "admin",
}


def expected_moves(status: str, side: str) -> list[str]:
    return [to for to, sides in SPEC[status].items() if side == "admin" or side in sides]


def put_in_status(ticket: Ticket, status: str) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=status)


def test_the_spec_covers_every_status():
    assert set(SPEC) == set(Status.values)


@pytest.mark.parametrize("status", list(SPEC))
@pytest.mark.parametrize("username", list(ACTORS))
def test_every_move_from_every_status_for_every_side(status, username, people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    client = api_client(getattr(people, username.replace(".", "_")))
    allowed = expected_moves(status, ACTORS[username])
    for to in Status.values:
        put_in_status(ticket, status)
        events_before = TicketEvent.objects.filter(ticket=ticket).count()
        response = client.post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": to, "note": "Lý do: đã rõ"},
                               content_type="application/json")
        ticket.refresh_from_db()
        if to in allowed:
            assert response.status_code == 200, (status, to, response.json())
            assert response.json()["status"] == to
            assert ticket.status == to
            last = TicketEvent.objects.filter(ticket=ticket, kind="transition").last()
            assert last is not None and last.actor is not None
            assert (last.kind, last.before, last.after, last.actor.username) == ("transition", status, to, username)
            assert last.note == "Lý do: đã rõ"
        else:
            assert response.status_code == 409, (status, to, response.json())
            error = response.json()["error"]
            assert error["code"] == "conflict"
            assert error["allowed"] == allowed
            for move in allowed:
                assert move in error["detail"]
            assert ticket.status == status
            assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


@pytest.mark.parametrize("status", list(SPEC))
def test_the_detail_lists_the_callers_allowed_moves(status, people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    put_in_status(ticket, status)
    for username, side in ACTORS.items():
        body = api_client(getattr(people, username.replace(".", "_"))).get(f"/api/v1/tickets/{ticket.pk}").json()
        assert body["allowed_transitions"] == expected_moves(status, side), username


def test_an_unrelated_centre_cannot_move_a_ticket_it_cannot_see(people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    response = api_client(people.qb_manager).post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "accepted"},
                                                 content_type="application/json")
    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_any_centre_request_is_taken_by_the_first_centre_to_accept(people, new_ticket, api_client):
    ticket = new_ticket(target=None)
    # Every centre but the requester's may accept it while it is new.
    assert api_client(people.ht_manager).get(f"/api/v1/tickets/{ticket.pk}").json()["allowed_transitions"] == []
    assert api_client(people.dn_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()["allowed_transitions"] == [
        "accepted", "rejected"]
    response = api_client(people.qb_engineer).post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "accepted"},
                                                  content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["target_centre"] == "QB"
    assert body["assignee"]["username"] == "qb.engineer"
    kinds = [(e["kind"], e["field"], e["before"], e["after"]) for e in body["history"]]
    assert ("field", "target_centre", None, "QB") in kinds
    assert ("assigned", "assignee", None, "qb.engineer") in kinds
    # DN came second: the ticket is QB's now and DN no longer sees it.
    late = api_client(people.dn_engineer).post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "accepted"},
                                               content_type="application/json")
    assert late.status_code == 404


def test_rejecting_needs_a_reason(people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    client = api_client(people.dn_manager)
    for note in ["", "   "]:
        response = client.post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "rejected", "note": note},
                               content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == ["note"]
    ticket.refresh_from_db()
    assert ticket.status == "new"
    response = client.post(f"/api/v1/tickets/{ticket.pk}/transition",
                           {"to": "rejected", "note": "Ngoài phạm vi hợp tác"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["history"][-1]["note"] == "Ngoài phạm vi hợp tác"


@pytest.mark.parametrize("bad", [{"to": "done"}, {"to": ""}, {}, {"to": 5}, {"to": "accepted", "note": 1}])
def test_malformed_transitions_are_400_and_change_nothing(bad, people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    response = api_client(people.dn_manager).post(f"/api/v1/tickets/{ticket.pk}/transition", bad,
                                                 content_type="application/json")
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == ("new", 1)


def test_a_stale_version_is_refused(people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    client = api_client(people.dn_manager)
    ok = client.post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "accepted", "version": 1},
                     content_type="application/json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "in_progress", "version": 1},
                        content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale"
    assert stale.json()["error"]["version"] == 2
    ticket.refresh_from_db()
    assert ticket.status == "accepted"


def test_timestamps_follow_the_workflow(people, new_ticket):
    from requests.services import transition_ticket

    ticket = new_ticket(target="DN")
    for user, to in [(people.dn_engineer, "accepted"), (people.dn_engineer, "in_progress"),
                     (people.dn_engineer, "resolved")]:
        ticket = transition_ticket(ticket, by=user, to=to)
    assert ticket.accepted_at and ticket.resolved_at and not ticket.closed_at
    ticket = transition_ticket(ticket, by=people.ht_engineer, to="reopened")
    assert ticket.resolved_at is None
    for user, to in [(people.dn_engineer, "in_progress"), (people.dn_engineer, "resolved"),
                     (people.ht_manager, "closed")]:
        ticket = transition_ticket(ticket, by=user, to=to)
    assert ticket.closed_at is not None and ticket.status == "closed"
    history = [(e.before, e.after) for e in ticket.events.filter(kind="transition")]
    assert history == [("new", "accepted"), ("accepted", "in_progress"), ("in_progress", "resolved"),
                       ("resolved", "reopened"), ("reopened", "in_progress"), ("in_progress", "resolved"),
                       ("resolved", "closed")]

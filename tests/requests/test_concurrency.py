"""Concurrency on PostgreSQL: people acting on the same ticket at the same moment, from threads with
their own database connections (SQLite serialises whole transactions, so it proves nothing here)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections

from hub.errors import HubError
from requests import services
from requests.models import Comment, Ticket, TicketEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    from tests.services import require

    require(None if connection.vendor == "postgresql" else "needs PostgreSQL (second pass of make test)")


def race(*actions: Callable[[], Any]) -> list[object]:
    """Run the actions in threads released together; each result is a value or the exception raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(i: int, action) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = action()
        except Exception as exc:  # noqa: BLE001 — the exception IS the result under test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_people_accepting_and_rejecting_at_once_cannot_both_succeed(people, new_ticket):
    for _ in range(5):
        ticket = new_ticket(target="DN")
        results = race(
            partial(services.transition_ticket, ticket, by=people.dn_engineer, to="accepted"),
            partial(services.transition_ticket, ticket, by=people.dn_manager, to="rejected",
                    note="Không thuộc phạm vi"),
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, HubError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].http_status == 409
        ticket.refresh_from_db()
        assert ticket.status == winners[0].status
        assert ticket.version == winners[0].version
        assert TicketEvent.objects.filter(ticket=ticket, kind="transition").count() == 1


def test_many_centres_racing_for_an_any_centre_request_one_takes_it(people, new_ticket, make_user):
    others = [make_user(f"{code.lower()}.racer", centre=code) for code in ("QT", "TH", "NA", "HUE")]
    ticket = new_ticket(target=None)
    racers = [people.dn_engineer, people.qb_engineer, *others]
    results = race(*[lambda u=u: services.transition_ticket(ticket, by=u, to="accepted") for u in racers])
    winners = [r for r in results if isinstance(r, Ticket)]
    assert len(winners) == 1, results
    assert all(isinstance(r, HubError) and r.http_status in (404, 409) for r in results if r is not winners[0]), results
    ticket.refresh_from_db()
    assert ticket.target_centre_id == winners[0].target_centre_id
    assert ticket.assignee.centre_id == ticket.target_centre_id


def test_a_stale_version_loses_the_race(people, new_ticket):
    ticket = new_ticket(target="DN")
    results = race(
        lambda: services.update_ticket(ticket, by=people.ht_engineer, changes={"title": "Phiên bản A"},
                                       expected_version=1),
        lambda: services.update_ticket(ticket, by=people.dn_engineer, changes={"title": "Phiên bản B"},
                                       expected_version=1),
    )
    assert sum(isinstance(r, Ticket) for r in results) == 1, results
    stale = next(r for r in results if isinstance(r, HubError))
    assert (stale.http_status, stale.code) == (409, "stale")
    ticket.refresh_from_db()
    assert ticket.version == 2


def test_references_stay_unique_when_a_centre_creates_many_tickets_at_once(people, make_user):
    creators = [people.ht_engineer, people.ht_manager] + [make_user(f"ht.extra{i}", centre="HT") for i in range(6)]
    results = race(*[
        lambda u=u, i=i: services.create_ticket(by=u, title=f"Yêu cầu đồng thời {i}", category="other",
                                               target_centre="DN")
        for i, u in enumerate(creators)
    ])
    assert all(isinstance(r, Ticket) for r in results), results
    references = sorted(r.reference for r in results if isinstance(r, Ticket))
    assert len(set(references)) == len(creators)
    # No gaps either: the sequence is 1..n for the year.
    assert [int(ref.rsplit("-", 1)[1]) for ref in references] == list(range(1, len(creators) + 1))
    assert Ticket.objects.count() == len(creators)


# --- merging (issue 26 §4) ------------------------------------------------------------------------------


def test_a_comment_racing_a_merge_lands_before_it_or_is_refused(people, new_ticket):
    """Never a comment on a duplicate after it became a pointer: either the comment committed first
    (and is shown with the survivor) or it is a 409 naming the survivor."""
    from requests.api import ticket_detail

    outcomes = set()
    for i in range(6):
        survivor = new_ticket(target="DN")
        duplicate = new_ticket(target="DN", by=people.qb_engineer)
        results = race(
            partial(services.merge_ticket, duplicate, by=people.dn_engineer, into=survivor.pk),
            partial(services.add_comment, duplicate, by=people.qb_engineer, body=f"Thêm thông tin {i}"),
        )
        assert isinstance(results[0], Ticket), results
        merged_at = TicketEvent.objects.get(ticket=duplicate, kind="merged").created_at
        shown = [c["body"] for m in ticket_detail(survivor, people.dn_engineer)["merged_from"] for c in m["comments"]]
        if isinstance(results[1], HubError):
            assert results[1].extra["merged_into"] == survivor.pk
            assert shown == []
            outcomes.add("refused")
        else:
            assert isinstance(results[1], Comment) and results[1].created_at <= merged_at
            assert shown == [f"Thêm thông tin {i}"]
            outcomes.add("before")
        assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk
    assert outcomes  # both orders are correct; which one happens is the scheduler's


def test_merging_two_requests_into_each_other_at_once_merges_one_and_never_deadlocks(people, new_ticket):
    for _ in range(5):
        first = new_ticket(target="DN")
        second = new_ticket(target="DN", by=people.qb_engineer)
        results = race(
            partial(services.merge_ticket, first, by=people.dn_engineer, into=second.pk),
            partial(services.merge_ticket, second, by=people.dn_manager, into=first.pk),
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, HubError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].code == "conflict"
        pointers = Ticket.objects.filter(pk__in=[first.pk, second.pk], merged_into__isnull=False)
        assert pointers.count() == 1
        assert TicketEvent.objects.filter(ticket__in=[first, second], kind="merged").count() == 1


def test_one_duplicate_merged_into_two_requests_at_once_goes_to_one(people, new_ticket):
    for _ in range(5):
        duplicate = new_ticket(target="DN", by=people.qb_engineer)
        one, other = new_ticket(target="DN"), new_ticket(target="DN", by=people.ht_manager)
        results = race(
            partial(services.merge_ticket, duplicate, by=people.dn_engineer, into=one.pk),
            partial(services.merge_ticket, duplicate, by=people.dn_manager, into=other.pk),
        )
        assert sorted(type(r).__name__ for r in results) == ["HubError", "Ticket"], results
        winner = next(r for r in results if isinstance(r, Ticket))
        assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == winner.pk
        assert TicketEvent.objects.filter(kind="merged_from", ticket__in=[one, other]).count() == 1

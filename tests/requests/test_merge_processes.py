"""Merging requests from two real server processes at once (issue 26 §4: "atomic and tested with
concurrent writers"), on PostgreSQL: a daphne and a uvicorn process of the hub, each answering one
of two merges released at the same instant — so the two transactions run in different OS processes
with their own connections, not threads of the test.

- A→B and B→A at once: exactly one merges, the other is refused (409); never a cycle, never a
  deadlock (both rows are locked in id order: requests.services._lock_pair).
- Two duplicates into the same request at once: both merge; the survivor takes both duplicates'
  watchers and history lines; nothing is lost.
- A comment posted through one process while the other merges its request: it lands before the
  merge (and is then shown with the survivor) or is refused (409) — never lost, never after it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from requests.models import Comment, Ticket, TicketEvent
from tests.chat.test_e2e import GENEROUS, http
from tests.conftest import token_for
from tests.live import start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
ROUNDS = 4


@pytest.fixture
def hubs(tmp_path):
    from django.conf import settings

    require(None if connection.vendor == "postgresql" else "needs PostgreSQL (second pass of make test)")
    env = dict(GENEROUS)
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    servers = [start_hub("daphne", env, tmp_path), start_hub("uvicorn", env, tmp_path)]
    yield servers
    for server in servers:
        server.stop()


def at_once(*calls):
    """Run the (method, url, token, payload) calls in threads released together; their answers."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return http(*call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_merging_two_requests_into_each_other_from_two_processes_merges_exactly_one(hubs, people, new_ticket):
    one, two = hubs
    dn_engineer, dn_manager = token_for(people.dn_engineer), token_for(people.dn_manager)
    for _ in range(ROUNDS):
        first = new_ticket(target="DN")
        second = new_ticket(target="DN", by=people.qb_engineer)
        answers = at_once(
            ("POST", f"{one.http}/api/v1/tickets/{first.pk}/merge", dn_engineer, {"into": second.pk}),
            ("POST", f"{two.http}/api/v1/tickets/{second.pk}/merge", dn_manager, {"into": first.pk}),
        )
        assert sorted(status for status, _ in answers) == [200, 409], answers
        winner = next(body for status, body in answers if status == 200)
        survivor, duplicate = (second, first) if winner["id"] == second.pk else (first, second)
        rows = {t.pk: t for t in Ticket.objects.filter(pk__in=[first.pk, second.pk])}
        assert rows[duplicate.pk].merged_into_id == survivor.pk and rows[duplicate.pk].status == "merged"
        assert rows[survivor.pk].merged_into_id is None and rows[survivor.pk].status != "merged"  # no cycle
        assert TicketEvent.objects.filter(ticket=duplicate, kind="merged").count() == 1
        assert TicketEvent.objects.filter(ticket=survivor, kind="merged_from").count() == 1
        assert TicketEvent.objects.filter(ticket=survivor, kind="merged").count() == 0
    for hub in hubs:
        assert "Traceback" not in hub.log(), hub.log()[-3000:]


def test_two_duplicates_merged_into_one_request_from_two_processes_lose_nothing(hubs, people, new_ticket):
    from requests import services

    one, two = hubs
    dn_engineer, dn_manager = token_for(people.dn_engineer), token_for(people.dn_manager)
    for _ in range(ROUNDS):
        survivor = new_ticket(target="DN", by=people.ht_manager)
        a = new_ticket(target="DN")  # by ht.engineer
        b = new_ticket(target="DN", by=people.qb_engineer)
        services.add_comment(a, by=people.ht_engineer, body="Nhật ký từ HT")
        services.add_comment(b, by=people.qb_engineer, body="Nhật ký từ QB")
        services.add_watcher(b, by=people.qb_engineer, username="qb.manager")
        answers = at_once(
            ("POST", f"{one.http}/api/v1/tickets/{a.pk}/merge", dn_engineer, {"into": survivor.pk}),
            ("POST", f"{two.http}/api/v1/tickets/{b.pk}/merge", dn_manager, {"into": survivor.pk}),
        )
        assert [status for status, _ in answers] == [200, 200], answers
        assert {t.merged_into_id for t in Ticket.objects.filter(pk__in=[a.pk, b.pk])} == {survivor.pk}
        taken = TicketEvent.objects.filter(ticket=survivor, kind="merged_from")
        assert sorted((e.after or {})["ticket"] for e in taken) == sorted([a.pk, b.pk])
        watchers = set(Ticket.objects.get(pk=survivor.pk).watchers.values_list("username", flat=True))
        assert {"ht.manager", "ht.engineer", "qb.engineer", "qb.manager"} <= watchers
        # Both duplicates' comments are shown with the survivor, through either process.
        for hub, token in ((one, dn_engineer), (two, dn_manager)):
            status, detail = http("GET", f"{hub.http}/api/v1/tickets/{survivor.pk}", token)
            assert status == 200
            shown = [c["body"] for source in detail["merged_from"] for c in source["comments"]]
            assert sorted(shown) == ["Nhật ký từ HT", "Nhật ký từ QB"], detail["merged_from"]


def test_a_comment_through_one_process_racing_a_merge_through_the_other_is_never_lost(hubs, people, new_ticket):
    one, two = hubs
    dn_engineer, qb_engineer = token_for(people.dn_engineer), token_for(people.qb_engineer)
    for i in range(ROUNDS):
        survivor = new_ticket(target="DN")
        duplicate = new_ticket(target="DN", by=people.qb_engineer)
        (merged, _), (commented, body) = at_once(
            ("POST", f"{one.http}/api/v1/tickets/{duplicate.pk}/merge", dn_engineer, {"into": survivor.pk}),
            ("POST", f"{two.http}/api/v1/tickets/{duplicate.pk}/comments", qb_engineer,
             {"body": f"Thêm thông tin {i}"}),
        )
        assert merged == 200
        assert commented in (201, 409), body
        stored = Comment.objects.filter(ticket=duplicate, body=f"Thêm thông tin {i}")
        merged_at = TicketEvent.objects.get(ticket=duplicate, kind="merged").created_at
        if commented == 201:  # it landed before the merge, and the survivor shows it
            assert stored.count() == 1 and stored.get().created_at <= merged_at
            status, detail = http("GET", f"{one.http}/api/v1/tickets/{survivor.pk}", dn_engineer)
            assert f"Thêm thông tin {i}" in [c["body"] for s in detail["merged_from"] for c in s["comments"]]
        else:
            assert not stored.exists() and body["error"]["code"] == "conflict"

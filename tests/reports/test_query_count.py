"""The dashboard's cost does not grow with the data: a bounded number of queries for 50,000 tickets
(PostgreSQL, where the aggregation really runs at that size), and the same bound on the small set."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client

from tests.reports.conftest import FAR, PAST, at

# Session, user, centres, open counts, 4 percentile queries, alerts (raised, expected, 2 ack
# percentiles, total), topics (+ prefetch), messages, the years with data (one UNION query, after the
# visible topics again), and the page's own few.
MAX_QUERIES = 24  # 22 measured


def test_dashboard_query_count_is_bounded_on_a_small_set(network, django_assert_max_num_queries):
    client = Client()
    client.force_login(network.users["admin"])
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get("/dashboard/?from=2025-03-01&to=2025-03-31").status_code == 200


@pytest.mark.services
def test_dashboard_with_50000_tickets_in_bounded_queries(network, django_assert_max_num_queries, capsys):
    from django.db import connection

    from hub.models import Centre
    from requests.models import Ticket, TicketEvent

    if connection.vendor != "postgresql":
        pytest.skip("the 50,000-ticket run is for PostgreSQL")
    centres = list(Centre.objects.order_by("code"))
    actor = network.users["ht"]
    statuses = ["new", "accepted", "in_progress", "resolved", "closed", "reopened"]
    tickets = []
    for i in range(50_000):
        created = at(3, 1 + i % 28, 8) + timedelta(minutes=i % 600)
        tickets.append(Ticket(
            reference=f"BULK-{i}", title=f"Yêu cầu số {i}", category=["security", "software", "training"][i % 3],
            requesting_centre=centres[i % len(centres)], requested_by=actor,
            target_centre=None if i % 10 == 0 else centres[(i + 1) % len(centres)], status=statuses[i % 6],
            due_at=PAST if i % 4 == 0 else FAR, created_at=created, updated_at=created,
        ))
    Ticket.objects.bulk_create(tickets, batch_size=5000)
    events = []
    for n, ticket in enumerate(Ticket.objects.filter(reference__startswith="BULK-").only("pk", "created_at", "status")):
        if ticket.status == "new":
            continue
        events.append(TicketEvent(ticket_id=ticket.pk, actor=actor, kind="transition", field="status",
                                  before="new", after="accepted",
                                  created_at=ticket.created_at + timedelta(minutes=30 + n % 300)))
        if ticket.status in ("resolved", "closed", "reopened"):
            events.append(TicketEvent(ticket_id=ticket.pk, actor=actor, kind="transition", field="status",
                                      before="in_progress", after="resolved",
                                      created_at=ticket.created_at + timedelta(hours=5 + n % 100)))
    TicketEvent.objects.bulk_create(events, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = Client()
    client.force_login(network.users["admin"])
    started = time.perf_counter()
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/dashboard/?from=2025-03-01&to=2025-03-31")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert Ticket.objects.count() >= 50_000
    with capsys.disabled():
        print(f"\n[reports] dashboard with {Ticket.objects.count()} tickets, {len(events)} events: {elapsed:.2f}s")

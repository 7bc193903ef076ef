"""PostgreSQL reads a nearly empty filtered page of the ticket list through the centre indexes,
not by walking every ticket newest-first (requests/migrations/0002: statistics on which centres a
ticket joins; requests.selectors.visible_tickets: watched tickets inlined)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from requests.models import Ticket
from requests.selectors import TicketFilters, filter_tickets

pytestmark = [pytest.mark.services, pytest.mark.django_db]

TICKETS = 30_000


@pytest.fixture(autouse=True)
def _postgres_only():
    from tests.services import require

    require(None if connection.vendor == "postgresql" else "needs PostgreSQL (second pass of make test)")


def rows_read(plan: dict) -> int:
    """Rows the plan's scans produced or threw away: how much of the table the query touched."""
    own = plan.get("Rows Removed by Filter", 0) * plan.get("Actual Loops", 1)
    if "Scan" in plan.get("Node Type", "") and "Bitmap Index" not in plan["Node Type"]:
        own += plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1)
    return own + sum(rows_read(child) for child in plan.get("Plans", []))


def test_a_centre_filter_that_matches_nothing_reads_a_sliver_of_the_table(make_user):
    import json

    from hub.models import Centre

    codes = ["HT", "DN", "QB", "QT", "NA", "TH", "HUE", "KT"]
    people = [make_user(f"plan.{code.lower()}", centre=code) for code in codes]
    centres = {c.code: c for c in Centre.objects.filter(code__in=codes)}
    now = timezone.now()
    # Like real cooperation, and the benchmark's data: each centre works with a few partners only.
    # HT and KT never share a ticket.
    partners = {"HT": ["DN", "QB"], "DN": ["HT", "QT"], "QB": ["NA"], "QT": ["TH"], "NA": ["HUE"],
                "TH": ["DN"], "HUE": ["QB"], "KT": ["QT", "NA"]}
    batch = []
    for n in range(TICKETS):
        asker = people[n % len(people)]
        code = codes[n % len(codes)]
        target = partners[code][n % len(partners[code])]
        created = now - timedelta(minutes=TICKETS - n)
        batch.append(Ticket(reference=f"PLAN-{n:06d}", title=f"Yêu cầu {n}", category="software",
                            priority="normal", status="in_progress", requesting_centre_id=asker.centre_id,
                            requested_by=asker, target_centre=centres[target], due_at=created + timedelta(days=3),
                            created_at=created, updated_at=created))
    Ticket.objects.bulk_create(batch, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE support_requests_ticket")
    ht_person = people[0]
    qs, order = filter_tickets(ht_person, TicketFilters(centre="KT"))
    plan = json.loads(qs.order_by(*order)[:51].explain(format="json", analyze=True))[0]["Plan"]
    assert list(qs[:1]) == []
    assert rows_read(plan) < TICKETS / 10, json.dumps(plan, indent=1)[:3000]
    # ... while an ordinary page still stops after its 51 rows.
    qs, order = filter_tickets(ht_person, TicketFilters())
    assert len(list(qs.order_by(*order)[:51])) == 51

"""PostgreSQL statistics on which centres a ticket joins, and in which status (an MCV list).

The ticket list is "newest first, LIMIT 51" under the visibility rule (`requesting OR target centre`)
and, often, a centre filter (again `requesting OR target`). The two are strongly correlated — most
pairs of centres share no ticket at all — but the planner multiplies their selectivities, expects
hundreds of matches, and walks the `updated_at` index backwards through all 100,000 tickets to find
none: 16 ms. With the combinations counted (a multivariate MCV list, PostgreSQL 12+) it sees the
intersection is tiny, reads it through the centre indexes and sorts it: 1 ms (docs/benchmarks.md).
Other databases have no such statistics; there this migration does nothing.
"""

from django.db import migrations

from hub.lib.migration_ops import postgres_only

NAME = "support_requests_ticket_parties_stat"
FORWARD = [
    f"CREATE STATISTICS IF NOT EXISTS {NAME} (mcv) ON requesting_centre_id, target_centre_id, status "
    "FROM support_requests_ticket",
    # Room for every combination: 15 centres x 16 targets (one of them or none) x 8 statuses = 1,920.
    f"ALTER STATISTICS {NAME} SET STATISTICS 2000",
    "ANALYZE support_requests_ticket",
]
BACKWARD = [f"DROP STATISTICS IF EXISTS {NAME}"]


class Migration(migrations.Migration):
    dependencies = [("support_requests", "0001_initial")]
    operations = [postgres_only(FORWARD, BACKWARD)]

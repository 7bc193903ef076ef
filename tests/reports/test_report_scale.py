"""The dashboard and the yearly report cost the same number of queries, and fetch the same handful of
grouped rows, whatever the number of requests: every aggregate runs in the database (issue 27,
target 5). Measured on PostgreSQL with the bench's own generator (bench.report_data.seed_requests:
three years of requests with their history), at two sizes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

pytestmark = pytest.mark.services


class Fetched:
    """Queries run and rows they returned (the cursor's rowcount after each statement)."""

    def __init__(self) -> None:
        self.queries = 0
        self.rows = 0

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self.queries += 1
        self.rows += max(context["cursor"].rowcount, 0)
        return result


def cost(build) -> Fetched:
    fetched = Fetched()
    with connection.execute_wrapper(fetched):
        build()
    return fetched


def test_dashboard_and_report_cost_does_not_grow_with_the_requests(db, make_user):
    from bench.report_data import seed_requests
    from reports.selectors import cooperation_report, dashboard, parse_filters, years_with_data

    if connection.vendor != "postgresql":
        pytest.skip("the aggregates' plans are PostgreSQL's")
    manager = make_user("dn.manager", "DN", "manager")
    for username, code in [("dn.engineer", "DN"), ("ht.engineer", "HT"), ("ht.manager", "HT"),
                           ("qb.engineer", "QB"), ("qb.security", "QB")]:
        make_user(username, code)
    year = timezone.localdate().year - 1
    three_years = {"from": (timezone.localdate() - timedelta(days=3 * 365)).isoformat()}
    views = {
        "dashboard": lambda: dashboard(manager, parse_filters({})),
        "dashboard, three years": lambda: dashboard(manager, parse_filters(three_years)),
        "dashboard, centre and category": lambda: dashboard(manager, parse_filters({"centre": "HT",
                                                                                   "category": "security"})),
        "report": lambda: cooperation_report(year, manager),
        "years": lambda: years_with_data(manager),
    }
    seed_requests(1_000)
    small = {name: cost(build) for name, build in views.items()}
    seed_requests(4_000)
    large = {name: cost(build) for name, build in views.items()}
    for name in views:
        assert large[name].queries == small[name].queries, name
        # A few dozen grouped rows (centres × months at most), never one per request.
        assert large[name].rows <= small[name].rows + 40, (name, small[name].rows, large[name].rows)
        assert large[name].rows < 500, name

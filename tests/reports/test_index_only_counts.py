"""The dashboard's two widest counts can be read from covering indexes alone (issue 27, target 5): the
open requests (`ticket_open_figures`) and the messages every reader of their topic sees
(`chat_msg_public_created`). A column added to either query, or COUNT(id) instead of a column the
index holds, would silently send PostgreSQL back to the table (0.2-2 s at 1M requests / 5M
messages).

These tests read the SQL each count sends and check that every column it takes from the table is one
the index holds (its key, its INCLUDE columns, or its predicate's), and that the query keeps the
index's predicate — the condition for an index-only scan. They used to ask the planner instead
(EXPLAIN with the table scans priced out), but its answer depends on the statistics and visibility
map that earlier tests leave behind: after test_query_count's 50,000 tickets and 66,665 events,
written and rolled back, neither index looked cheapest, and both checks failed in the full run of
6 December. Whether PostgreSQL then chooses the index on real data is measured by `make
bench-reports` (docs/benchmarks.md, the plans)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

pytestmark = pytest.mark.services


def last_query(build) -> str:
    return all_queries(build)[-1]


def index_columns(model, name: str) -> set[str]:
    """The columns an index of `model` holds: its key, its INCLUDE list and its predicate's."""
    index = next(i for i in model._meta.indexes if i.name == name)
    fields = [*index.fields, *index.include]
    columns = {model._meta.get_field(f.lstrip("-")).column for f in fields}
    for child in index.condition.children if index.condition is not None else ():
        lookup = child[0].split("__")[0]
        columns.add(model._meta.get_field(lookup).column)
    return columns


def columns_read(sql: str, table: str) -> set[str]:
    return set(re.findall(rf'"{table}"\."(\w+)"', sql))


@pytest.fixture
def manager(db, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's SQL")
    return make_user("dn.manager", "DN", "manager")


def test_open_requests_are_counted_from_what_their_index_holds(manager):
    from reports.selectors import open_counts, ticket_base
    from requests.models import Ticket

    held = index_columns(Ticket, "ticket_open_figures")
    table = Ticket._meta.db_table
    for centre, category in ((None, None), ("DN", None), (None, "security")):
        qs = ticket_base(centre, category, user=manager)
        sql = last_query(lambda qs=qs: open_counts(qs, timezone.now()))
        read = columns_read(sql, table)
        assert read and read <= held, (read - held, sql)
        assert f'"{table}"."status" IN' in sql, sql  # the index's predicate: the open ones


def test_public_messages_are_counted_from_what_their_index_holds(manager):
    from chat.models import Message, Topic
    from reports.selectors import message_counts, parse_filters

    Topic.objects.create(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")

    start, end = parse_filters({}).bounds
    # Whole local days: the public part from the daily rollup (reports.models.MessageDay).
    rolled = last_query(lambda: message_counts(manager, start, end))
    assert '"reports_messageday"' in rolled.partition(" UNION ")[0], rolled
    # Not whole days (a second in): from the covering index alone.
    sql = last_query(lambda: message_counts(manager, start + timedelta(seconds=1), end))
    public, _, restricted = sql.partition(" UNION ")
    assert restricted, sql  # the few with an audience of their own: a second count, from the rows
    held = index_columns(Message, "chat_msg_public_created")
    read = columns_read(public, Message._meta.db_table)
    assert read and read <= held, (read - held, public)
    assert '"chat_message"."audience" IS NULL' in public and '"chat_message"."deleted_at" IS NULL' in public, public
    assert "COUNT(*)" in public, public


def all_queries(build) -> list[str]:
    seen: list[str] = []

    def keep(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        build()
    return seen


def test_request_times_and_service_levels_read_only_what_their_indexes_hold(manager):
    """The percentiles' rows — time to accept, to resolve, the SLA table's counts and medians, the
    report's made / received — come from the covering indexes ticket_accepted_figures,
    ticket_resolved_figures and ticket_created_figures alone (issue 27): each query that reads the
    ticket table by one of those moments takes no column the index does not hold."""
    from reports.selectors import _network_figures, parse_filters, response_times, sla_attainment
    from requests.models import Ticket

    table = Ticket._meta.db_table
    by_moment = {f'"{table}"."{column}" >=': index_columns(Ticket, name) for column, name in (
        ("accepted_at", "ticket_accepted_figures"), ("resolved_at", "ticket_resolved_figures"),
        ("created_at", "ticket_created_figures"))}
    checked: set[str] = set()
    start, end = parse_filters({}).bounds
    for centre, category in ((None, None), ("DN", None), (None, "security")):
        sqls = all_queries(lambda centre=centre, category=category: (
            response_times(start, end, centre, category, user=manager),
            sla_attainment(start, end, centre, category, user=manager)))
        sqls += all_queries(lambda: _network_figures(manager, 2025))
        for sql in sqls:
            for marker, held in by_moment.items():
                if marker in sql and f'FROM "{table}"' in sql:
                    read = columns_read(sql, table)
                    assert read and read <= held, (read - held, sql)
                    checked.add(marker)
    assert checked == set(by_moment)

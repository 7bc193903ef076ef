"""The dashboard's independent reads on several PostgreSQL connections at once
(`reports.selectors.concurrently`, HUB_REPORT_CONNECTIONS): the same figures as one after another, in
the caller's time zone, each helper's connection given back to the pool, never more helpers per
process than the setting allows, and one connection inside a transaction (whose writes the others
would not see)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, transaction
from django.utils import timezone

from reports import selectors
from reports.selectors import DashboardFilters, concurrently, dashboard

pytestmark = pytest.mark.services


def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("several connections at once only on PostgreSQL (SQLite: one after another)")


def figures(user, filters) -> dict:
    board = dashboard(user, filters).as_dict()
    board.pop("generated_at")
    return board


@pytest.fixture
def where_sla_ran(monkeypatch) -> list[str]:
    """The names of the threads that computed the SLA table and the response times."""
    threads: list[str] = []

    def recorded(original):
        def recording(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return original(*args, **kwargs)
        return recording

    monkeypatch.setattr(selectors, "sla_attainment", recorded(selectors.sla_attainment))
    monkeypatch.setattr(selectors, "response_times", recorded(selectors.response_times))
    return threads


def test_several_connections_give_the_same_figures_in_the_callers_time_zone(transactional_db, network, english,
                                                                             settings, where_sla_ran):
    _postgresql()
    from requests.models import Ticket
    from tests.reports.conftest import at

    # T1 made at 03:00 local on March 1 and answered in time: February in UTC — its month in the SLA
    # table, and whether a March view counts it, depend on the time zone.
    Ticket.objects.filter(pk=network.tickets["T1"].pk).update(
        created_at=at(3, 1, 3), first_response_at=at(3, 1, 4), first_response_due=at(3, 1, 5),
        sla_response_minutes=60)
    views = [DashboardFilters(start=date(2025, 3, 1), end=date(2025, 3, 31)),
             DashboardFilters(start=date(2024, 1, 1), end=date(2025, 12, 31), centre="HT"),
             DashboardFilters(start=date(2025, 1, 1), end=date(2025, 12, 31), category="security")]
    for user in (network.users["admin"], network.users["qb_manager"]):
        for filters in views:
            # UTC moves T7 (Feb 20, 09:00 local) and the month boundaries: the helpers must use it too.
            by_zone = {}
            for zone in ("Asia/Ho_Chi_Minh", "UTC"):
                with timezone.override(zone):
                    settings.HUB_REPORT_CONNECTIONS = 1
                    alone = figures(user, filters)
                    settings.HUB_REPORT_CONNECTIONS = 3
                    together = figures(user, filters)
                assert together == alone, (user.username, filters, zone)
                by_zone[zone] = together
            if filters.centre is None:  # T1 (HT → QB, security) is in these views: its month moved
                assert by_zone["UTC"]["tables"] != by_zone["Asia/Ho_Chi_Minh"]["tables"], (user.username, filters)
    # Alone, the three recorded tasks (SLA, accept, resolve) ran in the caller's thread; together,
    # some of them in the helpers'.
    threads = where_sla_ran
    alone_threads = [name for i, name in enumerate(threads) if (i // 3) % 2 == 0]
    assert set(alone_threads) == {"MainThread"}
    assert any(name.startswith("hub-report") for name in threads), threads


def test_the_helpers_give_their_connections_back(transactional_db, network, settings):
    _postgresql()
    settings.HUB_REPORT_CONNECTIONS = 3
    pool = getattr(connection, "pool", None)
    if pool is None:
        pytest.skip("the hub runs PostgreSQL with a connection pool (HUB_DB_POOL)")
    filters = DashboardFilters(start=date(2025, 3, 1), end=date(2025, 3, 31))
    dashboard(network.users["admin"], filters)  # the pool opens what the helpers need
    before = pool.get_stats()
    for _ in range(3):
        dashboard(network.users["admin"], filters)
    after = pool.get_stats()
    # Every helper's connection is back in the pool, and the pool did not grow. (Not "all but the
    # caller's": in a full run, threads of earlier tests — live servers, sync executors — may still
    # hold connections of their own; they are the same before and after.)
    assert after["pool_size"] == before["pool_size"]
    assert after["pool_available"] == before["pool_available"]
    assert after["pool_available"] >= settings.HUB_REPORT_CONNECTIONS - 1
    assert free_slots() == 2  # every helper's slot released


def task(name: str, ran: list[str]):
    def run() -> str:
        ran.append(threading.current_thread().name)
        return name
    return run


def free_slots() -> int:
    """How many helper connections the process has to spare now."""
    slots, taken = selectors._extra_connections(), 0
    while slots.acquire(blocking=False):
        taken += 1
    for _ in range(taken):
        slots.release()
    return taken


def test_no_spare_connection_means_one_after_another(transactional_db, network, settings, where_sla_ran):
    _postgresql()
    settings.HUB_REPORT_CONNECTIONS = 3
    slots = selectors._extra_connections()
    assert slots.acquire(blocking=False) and slots.acquire(blocking=False)  # another dashboard holds both
    ran: list[str] = []
    try:
        result = concurrently({name: task(name, ran) for name in ("a", "b", "c")})
    finally:
        slots.release()
        slots.release()
    assert result == {"a": "a", "b": "b", "c": "c"}
    assert ran == ["MainThread"] * 3


def test_inside_a_transaction_one_connection_sees_its_writes(db, network, settings, where_sla_ran):
    """pytest's `db` runs each test in a transaction, as a view in an atomic block would: the other
    connections would not see the tickets the network fixture wrote, so nothing leaves the caller's
    thread — and the figures count them."""
    settings.HUB_REPORT_CONNECTIONS = 3
    assert connection.in_atomic_block
    board = dashboard(network.users["admin"], DashboardFilters(start=date(2025, 3, 1), end=date(2025, 3, 31)))
    assert board.totals["open"] > 0
    assert where_sla_ran == ["MainThread"] * 3  # the SLA table, the times to accept and to resolve


def test_a_failing_task_fails_the_call_and_frees_its_slots(transactional_db, settings):
    _postgresql()
    settings.HUB_REPORT_CONNECTIONS = 3

    def broken():
        with transaction.atomic():
            raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        concurrently({"fine": lambda: 1, "broken": broken, "also fine": lambda: 2})
    assert free_slots() == 2

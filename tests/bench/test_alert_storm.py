"""The alert-storm harness (bench/alert_storm.py): it must count every alert on every centre's stream,
and count wrong ones. The services test drives a real hub process on PostgreSQL and Redis; it asserts
counts, never speed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.alert_storm import Listener, measure_alert_storm
from bench.targets import Context
from tests.services import postgres_problem, redis_problem, require

ALERTS = 30


def _frame(title: str, event: str = "raised") -> dict:
    return {"type": "alert", "event": event, "alert": {"id": 1, "title": title}}


def test_listener_counts_first_arrivals_duplicates_and_foreign_frames():
    listener = Listener("HT", "bench-0002", "token", prefix="Bench storm x #")
    listener.note(_frame("Bench storm x #1"), 1.0)
    listener.expect({1, 2, 3})
    assert listener.missing == {2, 3} and not listener.done.is_set()

    listener.note(_frame("Bench storm x #2"), 2.0)
    listener.note(_frame("Bench storm x #2"), 2.5)  # the same alert twice on one stream
    listener.note(_frame("Bench storm x #3", event="acknowledged"), 3.0)  # not a raise: not counted
    listener.note(_frame("Another run's alert #3"), 3.0)
    listener.note({"type": "error", "code": "forbidden"}, 3.0)
    assert listener.arrivals == {1: 1.0, 2: 2.0} and listener.dups == {2: 1}
    assert listener.missing == {3} and not listener.done.is_set()
    assert listener.other_frames == {"alert.acknowledged": 1, "alert.raised": 1, "error.forbidden": 1}

    listener.note(_frame("Bench storm x #3"), 4.0)
    assert listener.done.is_set() and listener.missing == set()


def _bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the alert storm needs PostgreSQL (DATABASE_URL), as the hub's bench database does")
    base, _, name = url.rpartition("/")
    # Its own database, dropped and recreated: never the test database, never `make bench`'s hub_bench.
    return f"{base}/{os.environ.get('TEST_DB_NAME') or name}_bench_storm"


@pytest.mark.services
async def test_every_centre_gets_every_alert_exactly_once(tmp_path: Path):
    database_url = _bench_database_url()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require(postgres_problem(database_url) or redis_problem(redis_url))
    ctx = Context(redis_url=redis_url, database_url=database_url, log_dir=tmp_path)
    ctx.prepare_hub_database(users=30)
    try:
        # Concurrent POSTs, as in `make bench` (they found the thread-unsafe sanitiser fixed in 77a0428).
        storm = await measure_alert_storm(ctx, alerts=ALERTS, servers=("daphne",), lanes=8, log=lambda *_: None)
    finally:
        _drop(database_url)

    run = storm["runs"]["daphne"]
    assert storm["error"] is None, storm["error"]
    from hub.demo import CENTRES

    every_centre = {code for code, *_ in CENTRES}
    assert set(run["listeners"]) == every_centre and run["centres"] == len(every_centre)
    assert run["statuses"] == {"201": ALERTS} and run["created"] == ALERTS
    assert run["received_by_centre"] == dict.fromkeys(every_centre, ALERTS)
    assert (run["lost"], run["dup"], run["delivered_without_201"]) == (0, 0, 0)
    assert run["expected"] == run["delivered"] == ALERTS * len(every_centre)
    assert run["drained"] and run["all_delivered_s"] is not None
    assert not run["closed"] and not any(k.startswith("error") for k in run["other_frames"])
    assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]


def _drop(database_url: str) -> None:
    import psycopg

    base, _, name = database_url.replace("postgres://", "postgresql://", 1).rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

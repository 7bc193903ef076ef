"""hub.jobs: periodic jobs run once per period however many processes run them, record how each
run went, survive failures, and reach this process's sockets when run inside a server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from hub import jobs
from hub.models import PeriodicJob
from tests.live import ROOT, database_url_of_test_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def job(db):
    """A registered job that records the `now` of every run it is given."""
    calls: list[datetime] = []
    registered = jobs.register("tests.counting", calls.append, every=60)
    yield registered, calls
    jobs._REGISTRY.pop("tests.counting", None)


def test_a_due_job_runs_once_per_period(job):
    registered, calls = job
    with time_machine.travel(T0, tick=False) as clock:
        assert [o.job for o in jobs.run_due(only=["tests.counting"])] == ["tests.counting"]
        assert jobs.run_due(only=["tests.counting"]) == []  # not due again before a period passed
        clock.move_to(T0 + timedelta(seconds=59))
        assert jobs.run_due(only=["tests.counting"]) == []
        clock.move_to(T0 + timedelta(seconds=60))
        assert len(jobs.run_due(only=["tests.counting"])) == 1
    assert calls == [T0, T0 + timedelta(seconds=60)]
    row = PeriodicJob.objects.get(name="tests.counting")
    assert row.runs == 2 and row.failures == 0 and row.locked_until is None
    assert row.next_run_at == T0 + timedelta(seconds=120)


def test_of_two_claims_of_the_same_run_exactly_one_wins(job):
    registered, _calls = job
    assert jobs.claim(registered, T0, holder="a") is True
    assert jobs.claim(registered, T0, holder="b") is False
    assert PeriodicJob.objects.get(name="tests.counting").locked_by == "a"


def test_a_run_in_progress_is_not_started_again_until_its_lease_expires(job):
    registered, _calls = job
    assert jobs.claim(registered, T0, holder="dies-mid-run")
    # A period later the job is due again, but the first run still holds it (its process died).
    later = T0 + registered.every
    assert jobs.claim(registered, later, holder="b") is False
    assert jobs.claim(registered, T0 + registered.lease, holder="b") is True


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(db):
    def broken(now):
        raise RuntimeError("boom")

    ran: list[datetime] = []
    jobs.register("tests.broken", broken, every=30)
    jobs.register("tests.fine", ran.append, every=30)
    try:
        outcomes = {o.job: o for o in jobs.run_due(T0, only=["tests.broken", "tests.fine"])}
        assert outcomes["tests.broken"].ok is False and "RuntimeError: boom" in outcomes["tests.broken"].error
        assert outcomes["tests.fine"].ok is True and ran == [T0]
        row = PeriodicJob.objects.get(name="tests.broken")
        assert row.failures == 1 and "boom" in row.last_error and row.locked_until is None
        assert row.next_run_at == T0 + timedelta(seconds=30)  # tried again next period, not in a loop
    finally:
        jobs._REGISTRY.pop("tests.broken", None)
        jobs._REGISTRY.pop("tests.fine", None)


def test_every_app_job_is_registered_by_autodiscovery():
    jobs.autodiscover()
    assert "alerts.escalate" in {job.name for job in jobs.registered()}


def test_registration_refuses_a_period_of_zero():
    with pytest.raises(ValueError):
        jobs.register("tests.never", lambda now: None, every=0)


# --- PostgreSQL: concurrent claims and two worker processes ------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_eight_concurrent_claims_of_one_run_give_it_to_exactly_one():
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass")
    registered = jobs.register("tests.race", lambda now: None, every=60)
    PeriodicJob.objects.create(name="tests.race", next_run_at=T0)
    barrier = threading.Barrier(8)
    wins: list[str] = []

    def contend(i: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            if jobs.claim(registered, T0, holder=f"t{i}"):
                wins.append(f"t{i}")
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    jobs._REGISTRY.pop("tests.race", None)
    assert len(wins) == 1
    assert PeriodicJob.objects.get(name="tests.race").locked_by == wins[0]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_on_postgresql_run_each_period_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass")
    out = tmp_path / "runs.txt"
    out.touch()
    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    env.pop("TEST_DB_NAME", None)
    every, seconds = 0.25, 4.0
    workers = [subprocess.Popen([sys.executable, "-m", "tests.hub.jobs_worker", str(out),
                                 str(every), str(seconds)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.wait(60) == 0, worker.stdout.read() if worker.stdout else ""
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    runs = [line.split() for line in out.read_text().splitlines()]
    times = sorted(float(at) for _holder, at in runs)
    holders = {holder for holder, _at in runs}
    # Both processes competed for the whole time (each won some runs); no period ran twice: two runs
    # are always at least a period apart (a claim moves the next run a period on).
    assert len(holders) == 2, runs
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= every - 1e-3, gaps
    assert len(times) >= seconds / every * 0.6  # and it did keep running


# --- inside a server process, on the embedded default ------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_server_escalates_by_itself_and_its_frame_reaches_a_socket_on_the_in_memory_layer(tmp_path):
    """`make run`'s set-up: one daphne process, no Redis (in-memory layer), nobody started a worker.
    An unacknowledged critical alert escalates and the manager's open socket hears it."""
    from asgiref.sync import sync_to_async
    from websockets.asyncio.client import connect

    from alerts.models import Alert, Escalation
    from hub.models import WsTicket
    from tests.alerts.conftest import raise_as
    from tests.factories import staff
    from tests.live import start_hub

    if connection.vendor != "postgresql":
        pytest.skip("the server process shares the PostgreSQL test database")

    def people():
        return staff("ht.security"), staff("qb.manager", email="qb.manager@example.vn")

    raiser, manager = await sync_to_async(people)()
    hub = await asyncio.to_thread(start_hub, "daphne", {
        "REDIS_URL": "", "HUB_WORKER_INTERVAL_SECONDS": "0.5", "HUB_JOBS_TICK_SECONDS": "0.1",
    }, tmp_path)
    try:
        ticket = await sync_to_async(WsTicket.issue)(manager)
        async with connect(f"{hub.ws}/ws/notifications/?ticket={ticket}") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"

            def overdue_alert():
                alert = raise_as(raiser, severity="critical", tlp="clear")
                Alert.objects.filter(pk=alert.pk).update(created_at=alert.created_at - timedelta(minutes=6))
                return alert

            alert = await sync_to_async(overdue_alert)()
            deadline = time.monotonic() + 20
            while True:
                assert time.monotonic() < deadline, hub.log()
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                if frame["type"] == "alert" and frame.get("event") == "escalated":
                    break
        assert frame["alert"]["id"] == alert.pk
        assert await sync_to_async(Escalation.objects.filter(alert=alert).count)() == 1
    finally:
        await asyncio.to_thread(hub.stop)


# --- woken by work that is waiting (hub.jobs.wake) ------------------------------------------------------


class _CountingRunner(jobs.Runner):
    """The real loop (`run_forever`'s waiting and waking), recording when it would run the jobs."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list[float] = []

    def run_once(self) -> list[jobs.Outcome]:
        self.runs.append(time.monotonic())
        return []


def _wake_for(runner: jobs.Runner, seconds: float, *, every: float, after: float) -> float:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        runner.wake(after)
        time.sleep(every)
    return time.monotonic()


def test_a_burst_of_wakes_is_one_run_after_it_and_a_long_one_a_run_per_limit(monkeypatch):
    monkeypatch.setattr(jobs, "autodiscover", lambda: None)
    runner = _CountingRunner(tick=60)
    runner.wake_limit = 30
    thread = threading.Thread(target=runner.run_forever, daemon=True)
    thread.start()
    try:
        time.sleep(0.2)  # the first run, at start
        assert len(runner.runs) == 1
        last = _wake_for(runner, 1.5, every=0.05, after=0.3)  # a burst: a wake every 50 ms for 1.5 s
        time.sleep(1.0)
        assert len(runner.runs) == 2  # once, after the burst, not during it
        assert 0.2 <= runner.runs[1] - last <= 0.8
        runner.wake_limit = 0.5  # a stream that never pauses still runs every wake_limit
        _wake_for(runner, 2.5, every=0.05, after=0.3)
        assert 3 <= len(runner.runs) - 2 <= 6
    finally:
        runner.stop()
        thread.join(5)
    assert not thread.is_alive()

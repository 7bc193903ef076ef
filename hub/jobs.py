"""Periodic jobs that run in every deployment, once per period, whichever process runs them.

Alert escalation, SLA reminders, duty reminders, email digests, delivery retries: work that must
happen because time passed, not because someone clicked. It has to run without anyone starting it
by hand, so every process that can run it does:

- every server process (`python -m hub.server.serve`: `make run`, docker-compose's `web`) runs the
  jobs on a background thread started when the application is loaded (`HUB_JOBS_IN_SERVER`, on
  whenever the hub is served; see `start_in_server`);
- `manage.py run_worker` (docker-compose's `worker`) runs them in the foreground.

**Exactly once.** Each job has a `hub.models.PeriodicJob` row. A process *claims* a due run with one
conditional UPDATE (`next_run_at <= now` and not locked → move `next_run_at` on and lock it until
the lease ends); only one UPDATE can match, on SQLite (one writer at a time) and on PostgreSQL
alike (the second UPDATE waits for the first's one-statement transaction, re-reads the row and
finds it no longer due). The job then runs outside that transaction; a process that dies mid-run
leaves the lock to expire after the job's `lease`. Jobs must still be idempotent about their own
effects (an escalation step, a reminder sent) — they record them in rows with unique constraints or
conditional updates, so a run that was cut short and repeated does nothing twice.

**Registering a job** (other apps): put it in `<app>/jobs.py`, which `autodiscover()` imports like
Django's admin does with `admin.py`:

    from hub.jobs import periodic

    @periodic("mail.digest", every=timedelta(hours=1))
    def send_digests(now: datetime) -> str:
        ...  # uses `now`, never the wall clock, so tests can pin it
        return "3 digests sent"  # shown in the worker's log and the admin

**Frames.** A job publishes with `hub.realtime.publisher.broadcast_on_commit` like any service.
In a server process its publications are handed to the server's own event loop (the one its
sockets live on): on the embedded default the channel layer is in memory, and only that loop can
deliver to this process's sockets (`publisher.publishing_through_server_loop`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger("hub.jobs")

# Who holds a claim: shown in the admin, and checked when the run is recorded as finished.
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    func: Callable[[datetime], Any]
    # How long one run may take before another process may assume this one died and run it again.
    lease: timedelta


_REGISTRY: dict[str, Job] = {}
_registry_lock = threading.Lock()


def _as_timedelta(value: float | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def register(name: str, func: Callable[[datetime], Any], *, every: float | timedelta,
             lease: float | timedelta | None = None) -> Job:
    """Run `func(now)` every `every` (seconds or a timedelta). Registering the same name again
    replaces the job (a module reloaded in tests), never duplicates it."""
    period = _as_timedelta(every)
    if period <= timedelta(0):
        raise ValueError(f"job {name!r}: `every` must be positive")
    job = Job(name=name, every=period, func=func,
              lease=_as_timedelta(lease) if lease is not None else max(period * 2, timedelta(minutes=5)))
    with _registry_lock:
        _REGISTRY[name] = job
    return job


def periodic(name: str, *, every: float | timedelta, lease: float | timedelta | None = None):
    """Decorator form of `register`."""

    def decorate(func: Callable[[datetime], Any]) -> Callable[[datetime], Any]:
        register(name, func, every=every, lease=lease)
        return func

    return decorate


def registered() -> list[Job]:
    with _registry_lock:
        return sorted(_REGISTRY.values(), key=lambda job: job.name)


def get(name: str) -> Job:
    return _REGISTRY[name]


def autodiscover() -> None:
    """Import every installed app's `jobs` module, which registers its jobs."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")


# --- claiming and running -------------------------------------------------------------------------


@dataclass
class Outcome:
    job: str
    ok: bool
    result: Any = None
    error: str = ""
    duration_ms: int = 0


def claim(job: Job, now: datetime, holder: str = HOLDER) -> bool:
    """Take the run of `job` that is due at `now`, if no other process has: one conditional UPDATE."""
    from hub.models import PeriodicJob

    PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    claimed = (
        PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .update(next_run_at=now + job.every, locked_until=now + job.lease, locked_by=holder[:100],
                last_started_at=now)
    )
    return claimed == 1


def _run(job: Job, now: datetime, holder: str) -> Outcome:
    from hub.models import PeriodicJob

    started = time.monotonic()
    outcome = Outcome(job=job.name, ok=True)
    try:
        outcome.result = job.func(now)
    except Exception:
        outcome.ok = False
        outcome.error = traceback.format_exc()[-4000:]
        logger.exception("job %s failed", job.name)
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    from hub import metrics

    metrics.JOB_RUNS.labels(job.name, "ok" if outcome.ok else "failed").inc()
    PeriodicJob.objects.filter(name=job.name, locked_by=holder[:100]).update(
        locked_until=None, last_finished_at=timezone.now(), last_duration_ms=outcome.duration_ms,
        last_error=outcome.error, runs=F("runs") + 1, failures=F("failures") + (0 if outcome.ok else 1),
    )
    return outcome


def run_due(now: datetime | None = None, *, holder: str = HOLDER, only: list[str] | None = None) -> list[Outcome]:
    """Claim and run, one after another, every registered job that is due; returns what ran.

    One SELECT tells which jobs look due, so an idle tick costs a single query; only those are
    claimed (the claim is what decides, the SELECT only saves work)."""
    from hub.models import PeriodicJob

    now = now or timezone.now()
    jobs = [job for job in registered() if only is None or job.name in only]
    if not jobs:
        return []
    rows = {name: (next_run, locked) for name, next_run, locked in PeriodicJob.objects.filter(
        name__in=[job.name for job in jobs]).values_list("name", "next_run_at", "locked_until")}
    outcomes = []
    for job in jobs:
        row = rows.get(job.name)
        if row is not None and (row[0] > now or (row[1] is not None and row[1] > now)):
            continue
        if claim(job, now, holder):
            outcomes.append(_run(job, now, holder))
    return outcomes


def force_due(*names: str) -> int:
    """Make jobs due now (the admin's "run now", `run_worker --once`, tests)."""
    from hub.models import PeriodicJob

    qs = PeriodicJob.objects.all() if not names else PeriodicJob.objects.filter(name__in=names)
    return qs.update(next_run_at=timezone.now() - timedelta(seconds=1))


# --- the runners ----------------------------------------------------------------------------------


class Runner:
    """Ticks every `tick` seconds and runs what is due, until stopped. Used by the server's background
    thread and by `run_worker`'s foreground loop; one tick never raises (a database outage is logged
    and retried on the next tick)."""

    def __init__(self, tick: float | None = None, holder: str = HOLDER) -> None:
        self.tick = tick if tick is not None else settings.HUB_JOBS_TICK_SECONDS
        self.holder = holder
        self.stopping = threading.Event()
        self.idle = threading.Event()  # set between ticks: what a graceful stop waits for
        self.idle.set()
        self.woken = threading.Event()  # `wake`: work is waiting, do not wait for the whole tick
        self.wake_after = 0.0
        self.wake_limit = settings.HUB_JOBS_WAKE_LIMIT_SECONDS
        self.on_outcome: Callable[[Outcome], None] | None = None

    def run_once(self) -> list[Outcome]:
        self.idle.clear()
        _running.runner = self  # `again()` from a job of this tick wakes this runner
        close_old_connections()  # a long-lived thread must not keep a connection the database dropped
        try:
            outcomes = run_due(holder=self.holder)
        except DatabaseError:
            logger.warning("jobs: database unavailable; retrying in %ss", self.tick, exc_info=True)
            outcomes = []
        finally:
            close_old_connections()
            self.idle.set()
        for outcome in outcomes:
            if self.on_outcome is not None:
                self.on_outcome(outcome)
        return outcomes

    def run_forever(self) -> None:
        autodiscover()
        while not self.stopping.is_set():
            self.run_once()
            if self.woken.wait(self.tick) and not self.stopping.is_set():
                self._settle()

    def _settle(self) -> None:
        """Woken: run once the wakes have paused for the delay the wakers asked for (a job's period,
        so that it is due), and at the latest `wake_limit` after the first. A burst of raised alerts
        is then expanded in one pass after it, instead of a pass a second competing with the
        burst's own requests for the database (docs/benchmarks.md, "Alert bursts"), and a steady
        stream still every `wake_limit`."""
        first = time.monotonic()
        while True:
            self.woken.clear()
            if self.stopping.wait(self.wake_after):
                return
            if not self.woken.is_set() or time.monotonic() - first >= self.wake_limit:
                break
        self.woken.clear()
        self.wake_after = 0.0

    def wake(self, after: float = 0.0) -> None:
        """Run what is due `after` seconds from now rather than at the next tick (thread-safe)."""
        self.wake_after = max(self.wake_after, after)
        self.woken.set()

    def stop(self, wait: float = 0) -> bool:
        """Ask the loop to end after the tick in progress; wait up to `wait` s for it. True if idle."""
        self.stopping.set()
        self.woken.set()
        return self.idle.wait(wait) if wait else self.idle.is_set()


_running = threading.local()  # the Runner whose tick this thread is running


def again() -> None:
    """Called by a job that left work for later (it made itself due again with `force_due`): the
    runner running it ticks again as soon as this tick's other due jobs have run, instead of a whole
    tick later — in a server's job thread and in `run_worker` alike. A job that does its work in
    slices (notify.jobs.alerts) so keeps the other jobs from waiting behind it. No-op outside a runner."""
    runner = getattr(_running, "runner", None)
    if runner is not None:
        runner.wake()


_server_runner: Runner | None = None


def start_in_server() -> Runner | None:
    """Start the jobs on a daemon thread of this server process (once; no-op unless
    HUB_JOBS_IN_SERVER). Its broadcasts go through the server's event loop once the application has
    seen it (`publisher.publishing_through_server_loop`), so the in-memory layer reaches this
    process's sockets; on SIGTERM the graceful shutdown lets the tick in progress finish."""
    global _server_runner
    if not settings.HUB_JOBS_IN_SERVER or _server_runner is not None:
        return _server_runner
    from hub.realtime.publisher import publishing_through_server_loop

    runner = _server_runner = Runner()

    def main() -> None:
        with publishing_through_server_loop():
            runner.run_forever()

    threading.Thread(target=main, name="hub-jobs", daemon=True).start()
    logger.info("jobs: running %s in this server process every %ss", [j.name for j in registered()] or "(none yet)",
                runner.tick)
    return runner


def wake(*, after: float = 0.0) -> None:
    """Work for a job is waiting (an alert's notice to expand, notify/jobs.py): this server
    process's job runner runs what is due `after` seconds from now instead of at its next tick.
    No-op where no runner runs in this process (`run_worker` ticks on its own interval; tests)."""
    runner = _server_runner
    if runner is not None:
        runner.wake(after)


async def stop_server_runner() -> None:
    """On SIGTERM (hub.server.shutdown): stop ticking and let a run in progress end, within the grace."""
    runner = _server_runner
    if runner is None:
        return
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, runner.stop, settings.HUB_SHUTDOWN_GRACE_SECONDS / 2)

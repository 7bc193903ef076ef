"""`manage.py run_worker`: the periodic jobs (hub/jobs.py) in a process of their own.

Every server process already runs the jobs on a background thread (`HUB_JOBS_IN_SERVER`), so nothing
depends on this command being started; docker-compose still runs it as the `worker` service, so the
jobs keep running while every web process is being replaced. However many of either run, each job
runs once per period (hub.jobs' claim). SIGTERM or SIGINT ends it after the run in progress, so a
deployment stop never cuts an escalation in half.

On the embedded default (no REDIS_URL) frames sent from this process cannot reach the server's
sockets (the in-memory channel layer lives in the server process); there the server's own thread is
the one that matters.
"""

from __future__ import annotations

import logging
import signal

from django.core.management.base import BaseCommand

from hub import jobs

logger = logging.getLogger("hub.jobs")


class Command(BaseCommand):
    help = ("Run every periodic job of the hub (alert escalation, notification email and webhooks, digests, "
            "the duty watch…) in a loop; SIGTERM stops it.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once now and exit.")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between looks for due jobs (default HUB_JOBS_TICK_SECONDS).",
        )
        parser.add_argument("--job", action="append", default=None,
                            help="With --once: only this job (repeatable).")

    def handle(self, *args, **options):
        jobs.autodiscover()
        runner = jobs.Runner(tick=options["interval"])
        runner.on_outcome = self._report
        if options["once"]:
            names = options["job"] or [job.name for job in jobs.registered()]
            jobs.force_due(*names)
            for outcome in jobs.run_due(holder=runner.holder, only=names):
                self._report(outcome)
            return

        def on_signal(signum, frame):
            logger.info("worker: signal %s received, stopping after the run in progress", signum)
            runner.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        names = ", ".join(job.name for job in jobs.registered())
        self.stdout.write(f"run_worker: jobs {names}; looking every {runner.tick:g}s (SIGTERM to stop)")
        self.stdout.flush()
        try:
            runner.run_forever()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("run_worker: stopped")

    def _report(self, outcome: jobs.Outcome) -> None:
        if not outcome.ok:
            self.stderr.write(f"{outcome.job}: failed\n{outcome.error}")
        lines = outcome.result if isinstance(outcome.result, list) else [outcome.result] if outcome.result else []
        for line in lines:
            self.stdout.write(f"{line}")
        self.stdout.flush()

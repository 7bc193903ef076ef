"""`manage.py run_worker`: the background process that escalates unacknowledged alerts and delivers
email and webhooks.

One loop: every HUB_WORKER_INTERVAL_SECONDS call `alerts.services.escalate_due()`, then the mail jobs
(`notify.delivery.run_mail_jobs`: the unseen-rule batches, digests, the outbox) and the webhook pass
(`notify.webhooks.deliver_webhooks`, receivers in parallel threads with short time-outs). It is a
plain management command rather than a Channels worker because it needs no channel-layer inbox, only
the clock and the database; several workers may run (escalation steps are unique rows). SIGTERM or
SIGINT ends it after the pass in progress, so a deployment stop never cuts an escalation in half.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from alerts.services import escalate_due
from notify.delivery import run_mail_jobs
from notify.webhooks import deliver_webhooks

logger = logging.getLogger("alerts.worker")


class Command(BaseCommand):
    help = "Escalate unacknowledged alerts, send email and webhooks, in a loop (SIGTERM stops it gracefully)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between passes (default HUB_WORKER_INTERVAL_SECONDS).",
        )

    def handle(self, *args, **options):
        interval = options["interval"] if options["interval"] is not None else settings.HUB_WORKER_INTERVAL_SECONDS
        if options["once"]:
            self._pass()
            return
        stop = threading.Event()

        def on_signal(signum, frame):
            logger.info("worker: signal %s received, stopping after this pass", signum)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"run_worker: escalating every {interval:g}s (SIGTERM to stop)")
        self.stdout.flush()
        try:
            while not stop.is_set():
                self._pass()
                stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("run_worker: stopped")

    def _pass(self) -> None:
        close_old_connections()  # a long-lived process must not keep a connection the database dropped
        try:
            done = escalate_due()
        except DatabaseError:
            logger.exception("worker: database unavailable; retrying next pass")
            return
        for escalation in done:
            self.stdout.write(
                f"escalated alert {escalation.alert_id} to {escalation.centre.code} (step {escalation.step}): "
                f"{', '.join(escalation.notified) or 'no managers'}"
            )
        self.stdout.flush()
        # Each job on its own: a mail server that is down must not stop the webhooks, nor the reverse.
        for name, job in (("email", run_mail_jobs), ("webhooks", deliver_webhooks)):
            try:
                counts = job()
            except DatabaseError:
                logger.exception("worker: database unavailable during %s; retrying next pass", name)
                continue
            except Exception:  # noqa: BLE001 - a bug in one job must not stop the worker
                logger.exception("worker: %s pass failed", name)
                continue
            busy = {k: v for k, v in counts.items() if v}
            if busy:
                self.stdout.write(f"{name}: " + ", ".join(f"{k} {v}" for k, v in busy.items()))
        self.stdout.flush()

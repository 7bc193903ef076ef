"""What a running hub process tells its operators: the Prometheus metrics behind `GET /metrics`.

`make bench` measures the hub on a quiet machine; these are the same quantities on a real
deployment, per process (docs/deployment.md, "Monitoring"): open sockets by kind, frames received
and deliveries handed to sockets (counters: Prometheus' `rate()` makes them per second), the
publish → deliver lag, the channel layer's Redis failures and the resyncs they cause, HTTP latency
by route, the database pool, the queues (HTTP admission, the sockets' database threads, due jobs,
pending email and webhook deliveries) and how late escalations go out.

Everything is defined with `prometheus_client` at import, in its default registry; the hot paths
only increment (a lock and an addition). What can be read when scraped — the pool's statistics, the
queues kept in the database — is read then, by `HubCollector`, and never on the hot paths.

Several processes: by default each process is scraped on its own address (docker-compose's `web`
replicas are found through DNS, deploy/prometheus.yml), and Prometheus sums them. When several
workers share one port (`uvicorn --workers N`), set PROMETHEUS_MULTIPROC_DIR to an empty directory
before they start: prometheus_client then keeps each process's values in files there and `/metrics`
answers the sum (its multiprocess mode; gauges here say how they combine).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Latency buckets (seconds) from a loaded loop turn (~ms) to a request that should have failed.
_LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

WS_OPEN = Gauge("hub_ws_open_sockets", "WebSocket connections open in this process, by kind (the consumer).",
                ["kind"], multiprocess_mode="livesum")
WS_CONNECTS = Counter("hub_ws_connections", "WebSocket connections accepted, by kind.", ["kind"])
WS_FRAMES = Counter("hub_ws_frames_received", "Frames received from clients and handled, by frame type "
                    "(only the types the hub knows: a client cannot invent labels).", ["type"])
LAYER_EVENTS = Counter("hub_layer_events_received", "Events this process received from the channel layer "
                       "for groups it has sockets in.")
DELIVERIES = Counter("hub_ws_deliveries", "Events handed to local sockets (one per event per socket in its "
                     "group, before each socket's audience check).")
PUBLISHED = Counter("hub_events_published", "Events this process published to the channel layer.")
PUBLISH_LAG = Histogram("hub_publish_to_deliver_seconds", "From the publisher handing an event over (after its "
                        "commit) to this process receiving it from the layer, about to fan it out.",
                        buckets=_LATENCY)
LAYER_ERRORS = Counter("hub_layer_errors", "Channel-layer operations that failed (publish, receive) — Redis "
                       "unreachable or restarting.", ["operation"])
REDIS_RECONNECTS = Counter("hub_redis_reconnects", "Times the channel layer's Redis subscription broke and was "
                           "set up again (channels-redis' receiver after a Redis restart or a dropped connection).")
LOST_EVENTS = Counter("hub_layer_events_lost", "Events the layer skipped (a publisher's sequence gap not filled "
                      "within the grace time).")
RESYNCS = Counter("hub_resyncs", "`resync` frames this process sent its topic sockets after lost events.")
HTTP_LATENCY = Histogram("hub_http_request_seconds", "HTTP requests through Django, by route pattern, method and "
                         "status class (the admission queue's wait is not included: hub_http_waiting).",
                         ["route", "method", "status"], buckets=_LATENCY)
HTTP_WAITING = Gauge("hub_http_waiting", "HTTP requests waiting for admission (HUB_HTTP_MAX_CONCURRENT).",
                     multiprocess_mode="livesum")
ESCALATION_LAG = Histogram("hub_escalation_lag_seconds", "How late an escalation went out after its step fell "
                           "due (the job's period and the time it ran).",
                           buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800))
JOB_RUNS = Counter("hub_job_runs", "Periodic job runs in this process, by job and outcome.", ["job", "outcome"])


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_LATENCY.labels(route, method, f"{status // 100}xx").observe(seconds)


def observe_escalation(due: Any, at: Any) -> None:
    """An escalation recorded at `at` whose step fell due at `due` (datetimes)."""
    lag = (at - due) / timedelta(seconds=1)
    ESCALATION_LAG.observe(max(0.0, lag))


def published_at() -> float:
    """The publish time an event carries (wall clock: the receiver is often another process)."""
    return time.time()


def observe_received(events: list[dict[str, Any]], sockets: int) -> None:
    """The receiver's accounting for one layer message of `events` for a group with `sockets` local
    sockets: called once per layer message, not per socket."""
    now = time.time()
    LAYER_EVENTS.inc(len(events))
    if sockets:
        DELIVERIES.inc(len(events) * sockets)
    for one in events:
        sent = one.get("published_at")
        if isinstance(sent, float):
            PUBLISH_LAG.observe(max(0.0, now - sent))


class _ReconnectCounter(logging.Handler):
    """channels-redis' pub/sub receiver logs, and sleeps a second before trying again, whenever its
    Redis connection fails ("Unexpected exception in receive task"); redis-py reconnects and
    re-subscribes on the next read. The log record is the only public sign of it, so it is counted."""

    def emit(self, record: logging.LogRecord) -> None:
        if "receive task" in record.getMessage():
            REDIS_RECONNECTS.inc()


_reconnects_watched = False


def watch_layer_reconnects() -> None:
    global _reconnects_watched
    if not _reconnects_watched:
        _reconnects_watched = True
        logging.getLogger("channels_redis.pubsub").addHandler(_ReconnectCounter(level=logging.ERROR))


class HubCollector(Collector):
    """Read at scrape time: the database pool's statistics and the queues kept in the database."""

    def describe(self) -> list[GaugeMetricFamily]:
        # Without it the registry would call `collect` on registering — a database read during
        # Django's start-up.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from hub.realtime import workers

        yield GaugeMetricFamily("hub_ws_db_waiting", "Socket database calls waiting for one of the "
                                "HUB_WS_DB_THREADS threads.", value=float(workers.waiting()))
        yield from self._pool()
        yield from self._queues()

    def _pool(self) -> Iterator[GaugeMetricFamily]:
        from django.db import connection

        pool = getattr(connection, "pool", None) if connection.vendor == "postgresql" else None
        if pool is None:
            return
        stats = pool.get_stats()  # psycopg_pool's public statistics
        for name, key, text in (
            ("hub_db_pool_size", "pool_size", "Connections the process's pool holds (in use or idle)."),
            ("hub_db_pool_available", "pool_available", "Idle connections in the pool."),
            ("hub_db_pool_max", "pool_max", "The pool's maximum size (HUB_DB_POOL_MAX)."),
            ("hub_db_pool_waiting", "requests_waiting", "Callers waiting for a connection right now."),
        ):
            yield GaugeMetricFamily(name, text, value=float(stats.get(key, 0)))
        yield GaugeMetricFamily("hub_db_pool_timeouts", "Callers that gave up waiting for a connection "
                                "(HUB_DB_POOL_TIMEOUT) since the process started.",
                                value=float(stats.get("requests_errors", 0)))

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError, close_old_connections
        from django.utils import timezone

        from hub.models import PeriodicJob
        from notify.models import Email, WebhookDelivery

        now = timezone.now()
        try:
            due_jobs = PeriodicJob.objects.filter(next_run_at__lte=now).count()
            oldest = PeriodicJob.objects.filter(next_run_at__lte=now).order_by("next_run_at").values_list(
                "next_run_at", flat=True).first()
            emails = Email.objects.filter(status=Email.Status.PENDING).count()
            deliveries = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).count()
        except DatabaseError:
            logger.warning("metrics: the queues could not be read", exc_info=True)
            return
        finally:
            close_old_connections()
        queue = GaugeMetricFamily("hub_worker_queue_depth", "Work waiting for the periodic jobs (shared by the "
                                  "whole deployment: every process reports the same).", labels=["queue"])
        queue.add_metric(["due_jobs"], float(due_jobs))
        queue.add_metric(["emails"], float(emails))
        queue.add_metric(["webhook_deliveries"], float(deliveries))
        yield queue
        late = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("hub_jobs_overdue_seconds", "How long the most overdue periodic job (escalation, "
                                "reminders, deliveries) has been due without a run.", value=max(0.0, late))


_collector = HubCollector()
_registered = False


def setup() -> None:
    """Register the scrape-time collector once per process (HubConfig.ready)."""
    global _registered
    if _registered:
        return
    _registered = True
    if not MULTIPROCESS:
        REGISTRY.register(_collector)
    watch_layer_reconnects()


def exposition() -> bytes:
    """The text `/metrics` answers: this process's registry, or every process's in multiprocess mode
    (plus this process's scrape-time readings, which are not kept in files)."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_collector)
    return generate_latest(registry)

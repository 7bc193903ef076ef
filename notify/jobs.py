"""The notify app's periodic jobs (hub/jobs.py): they run in every served process's job thread and in
`run_worker`, each once per period across all processes. Every job is short — sending stops at a
time budget and webhook answers are not waited for past a second — because the jobs of all apps share
one thread (an escalation must not wait behind a slow mail server)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


def _summary(name: str, counts: dict[str, int]) -> list[str]:
    busy = {k: v for k, v in counts.items() if v}
    return [f"{name}: " + ", ".join(f"{k} {v}" for k, v in busy.items())] if busy else []


@periodic("notify.alerts", every=settings.HUB_ALERT_NOTIFY_SECONDS)
def alerts(now: datetime) -> list[str]:
    """Raised alerts' notices become their readers' notifications, emails and webhook deliveries
    (notify.services.expand_alert_notices): readers decided now, each notice once.

    In slices of HUB_ALERT_NOTIFY_SLICE_SECONDS: when notices are left, the job is made due again
    and its runner told to tick again at once (`hub.jobs.again`), so it goes on right after the other
    jobs due in this tick, which no longer wait behind a burst's whole expansion (issue 27)."""
    from hub.jobs import again, force_due
    from notify.services import expand_alert_notices, pending_alert_notices

    expanded = expand_alert_notices(budget=settings.HUB_ALERT_NOTIFY_SLICE_SECONDS)
    if expanded and pending_alert_notices():
        force_due("notify.alerts")
        again()
    return _summary("alert notices", {"expanded": expanded})


@periodic("notify.send_email", every=settings.HUB_EMAIL_SEND_SECONDS)
def send_email(now: datetime) -> list[str]:
    """The outbox: alerts and escalations at once, then whatever the other jobs queued. Due means due
    by the wall clock when it runs, not when the tick began: an escalation made earlier in this same
    tick is sent in this tick."""
    from django.utils import timezone

    from notify.delivery import deliver_emails

    return _summary("email", deliver_emails(max(now, timezone.now())))


@periodic("notify.unseen", every=60)
def unseen(now: datetime) -> list[str]:
    """The unseen rule: what people have not seen in the hub becomes one email each."""
    from notify.delivery import queue_batches

    return _summary("email batches", {"queued": len(queue_batches(now))})


@periodic("notify.digests", every=300)
def digests(now: datetime) -> list[str]:
    from notify.delivery import queue_digests

    return _summary("digests", {"queued": len(queue_digests(now))})


@periodic("notify.webhooks", every=settings.HUB_EMAIL_SEND_SECONDS)
def webhooks(now: datetime) -> list[str]:
    from django.utils import timezone

    from notify.webhooks import deliver_webhooks

    return _summary("webhooks", deliver_webhooks(max(now, timezone.now()), wait=1.0))

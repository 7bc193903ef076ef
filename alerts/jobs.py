"""The alerts app's periodic job (hub/jobs.py): escalate what nobody acknowledged in time."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


@periodic("alerts.escalate", every=settings.HUB_WORKER_INTERVAL_SECONDS)
def escalate(now: datetime) -> list[str]:
    from alerts.services import escalate_due_alerts

    return [
        f"escalated alert {e.alert_id} to {e.centre.code} (step {e.step}): {', '.join(e.notified) or 'no managers'}"
        for e in escalate_due_alerts(now=now)
    ]

"""The alerts app's periodic job (hub/jobs.py): escalate what nobody acknowledged in time."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


@periodic("alerts.escalate", every=settings.HUB_WORKER_INTERVAL_SECONDS)
def escalate(now: datetime) -> list[str]:
    from alerts.services import escalate_due_alerts, escalation_delay
    from hub import metrics

    escalations = escalate_due_alerts(now=now)
    for e in escalations:
        delay = escalation_delay(e.alert.severity)
        if delay is not None:
            metrics.observe_escalation(e.alert.created_at + delay * e.step, e.at)
    return [
        f"escalated alert {e.alert_id} to {e.centre.code} (step {e.step}): {', '.join(e.notified) or 'no managers'}"
        for e in escalations
    ]

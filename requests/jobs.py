"""The requests app's periodic job (hub/jobs.py): the SLA watch — "due soon" and "breached" notices."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


@periodic("requests.sla", every=settings.REQUESTS_SLA_WATCH_SECONDS)
def watch_sla(now: datetime) -> list[str]:
    from requests.services import send_sla_reminders

    return send_sla_reminders(now=now)

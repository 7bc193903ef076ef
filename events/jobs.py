"""The events calendar's periodic job (hub/jobs.py): remind registrants the day before."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


@periodic("events.remind", every=settings.HUB_EVENT_REMIND_SECONDS)
def remind(now: datetime) -> list[str]:
    from events.services import send_reminders

    return send_reminders(now=now).lines()

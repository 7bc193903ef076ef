"""The duty roster's periodic job (hub/jobs.py): shift starts and ends, reminders to confirm."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hub.jobs import periodic


@periodic("duty.watch", every=settings.HUB_DUTY_WATCH_SECONDS)
def watch(now: datetime) -> list[str]:
    from duty.services import watch_shifts

    return watch_shifts(now=now).lines()

"""Demo roster for `seed_demo`: this week's duty at a few centres, so the duty board shows all three
states — confirmed, rostered but not confirmed, nobody rostered (docs/duty.md).

Shifts run 07:30 to 07:30 the next day; each centre's security officer and manager take turns, the
other being the deputy. Written directly (nothing is broadcast for demo data); a day that already
has a shift at that centre is left alone, so the command stays idempotent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from duty.models import Shift
from hub.models import Centre, User

CENTRES = ("DN", "HUE", "HT", "QNA")  # the others have no roster this week: "nobody rostered"
CONFIRMED = ("DN", "HUE")  # today's officer confirmed; HT and QNA have not


def seed(stdout=None, history: bool = False, **kwargs) -> None:
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    now = timezone.now()
    created = 0
    for code in CENTRES:
        centre = Centre.objects.filter(code=code).first()
        security = User.objects.filter(username=f"{code.lower()}.security").first()
        manager = User.objects.filter(username=f"{code.lower()}.manager").first()
        if centre is None or security is None or manager is None:
            continue
        for offset in range(-1, 7):  # from Sunday's night shift, so Monday morning is covered too
            day = monday + timedelta(days=offset)
            starts = datetime.combine(day, time(7, 30), tzinfo=tz)
            ends = starts + timedelta(days=1)
            if Shift.objects.filter(centre=centre, starts_at__lt=ends, ends_at__gt=starts).exists():
                continue
            officer, deputy = (security, manager) if offset % 2 == 0 else (manager, security)
            current = starts <= now < ends
            confirmed = starts + timedelta(minutes=7) if (current and code in CONFIRMED) or ends <= now else None
            Shift.objects.create(centre=centre, starts_at=starts, ends_at=ends, officer=officer, deputy=deputy,
                                 confirmed_at=confirmed, last_seen_at=confirmed, created_by=manager,
                                 start_announced_at=starts if starts <= now else None,
                                 end_announced_at=ends if ends <= now else None,
                                 reminded_at=starts if starts <= now else None,
                                 unconfirmed_reported_at=now if current and not confirmed else None)
            created += 1
    if stdout is not None and created:
        stdout.write(f"duty: {created} demo shifts this week")

"""Each centre's working-time `Calendar`, read once and kept for a minute, and the two functions the
rest of the hub calls: `add_working_minutes` and `working_minutes_between`.

`centre` may be a Centre, its id, or None — None is the hub's default calendar (the default week,
the public holidays and the exceptions entered for every centre), which the SLA of a request
addressed to "any centre" runs on until a centre accepts it (docs/tickets.md).

Calendars are cached per process for `HUB_WORKTIME_CACHE_SECONDS` (60): the SLA clock of every
ticket change and every row of a ticket list reads one. A change saved in this process clears the
cache at once (worktime/signals.py); other processes see it within the minute.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime

from django.conf import settings

from hub.models import Centre
from worktime.calendar import Calendar, parse_periods
from worktime.models import DayException, WorkingCalendar

_cache: dict[int | None, tuple[float, Calendar]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _centre_id(centre: Centre | int | None) -> int | None:
    if centre is None or isinstance(centre, int):
        return centre
    return centre.pk


def _load(centre_id: int | None) -> Calendar:
    default_week = parse_periods(settings.HUB_WORKING_HOURS)
    shared = dict(DayException.objects.filter(centre__isnull=True).values_list("date", "kind"))
    if centre_id is None:
        return Calendar(settings.TIME_ZONE, default_week, shared_exceptions=shared)
    own = dict(DayException.objects.filter(centre_id=centre_id).values_list("date", "kind"))
    row = WorkingCalendar.objects.filter(centre_id=centre_id).prefetch_related("periods").first()
    if row is None:
        return Calendar(settings.TIME_ZONE, default_week, exceptions=own, shared_exceptions=shared)
    week: dict[int, list[tuple[int, int]]] = {i: [] for i in range(7)}
    for period in row.periods.all():
        week[period.weekday].append((period.start.hour * 3600 + period.start.minute * 60,
                                     period.end.hour * 3600 + period.end.minute * 60))
    return Calendar(row.time_zone, week, public_holidays=row.public_holidays, exceptions=own,
                    shared_exceptions=shared)


def calendar_for(centre: Centre | int | None) -> Calendar:
    """The centre's calendar (None: the hub's default), from the cache when fresh."""
    key = _centre_id(centre)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < settings.HUB_WORKTIME_CACHE_SECONDS:
        return hit[1]
    calendar = _load(key)
    with _cache_lock:
        _cache[key] = (now, calendar)
    return calendar


def add_working_minutes(centre: Centre | int | None, start: datetime, minutes: float) -> datetime:
    """When `minutes` of the centre's working time will have passed since `start`."""
    return calendar_for(centre).add(start, minutes)


def working_minutes_between(centre: Centre | int | None, a: datetime, b: datetime) -> int:
    """Whole working minutes of the centre between `a` and `b` (negative if `b` is earlier)."""
    return calendar_for(centre).between(a, b)


def exceptions_between(centre: Centre | None, start: date, end: date) -> list[DayException]:
    """The exceptions that apply to `centre` (its own and everyone's) between two dates."""
    from django.db.models import Q

    rule = Q(centre__isnull=True) | Q(centre=centre) if centre is not None else Q(centre__isnull=True)
    return list(DayException.objects.filter(rule, date__gte=start, date__lt=end).select_related("centre")
                .order_by("date", "centre"))

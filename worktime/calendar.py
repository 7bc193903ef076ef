"""Working-time arithmetic: pure functions over one centre's calendar, exact to the second.

A `Calendar` knows, for any date, the periods worked that day (seconds since local midnight). The
answer for a date is, in order of precedence:

1. the centre's own exception for that date (make-up working day / day off), else
2. an exception for every centre (a government announcement the hub admin entered), else
3. a public holiday of Vietnam (`holidays` package: Tết by the lunar calendar, Giỗ Tổ Hùng Vương on
   10/3 lunar, 30/4, 1/5, Quốc khánh, and the substitute days off it knows) → no work, else
4. a weekend day the government turned into a working day (the package's `weekend_workdays`, e.g.
   Saturday 22/8/2026 worked for Monday 31/8/2026) → a standard working day, else
5. the weekly schedule for that weekday.

A working exception day, or a make-up weekend day, is worked with the centre's standard day: the
periods of its first weekday that has any (Monday for the default week).

`add(start, minutes)` and `between(a, b)` walk whole days — one step per calendar day, each day's
periods computed once and cached — never minute by minute: a year between two times is 365 cached
look-ups (docs/tickets.md has the measured cost).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

Period = tuple[int, int]  # (start, end) in seconds since local midnight, start < end
Day = tuple[Period, ...]

WORKING = "working"
DAY_OFF = "day_off"
# Loops are bounded: no real target is ten years of working time.
MAX_DAYS = 3660

_holidays_lock = threading.Lock()


@lru_cache(maxsize=1)
def vietnam_holidays() -> holidays_lib.HolidayBase:
    """Vietnam's public holidays, every year computed on first use (lunar dates included)."""
    return holidays_lib.country_holidays("VN", language="vi")


def public_holiday(day: date) -> str | None:
    """The holiday's Vietnamese name, or None."""
    calendar = vietnam_holidays()
    with _holidays_lock:  # a first look at a year fills the calendar's dict: not thread-safe
        return calendar.get(day)


def government_workday(day: date) -> bool:
    """A weekend day the government made a working day (to bridge a holiday)."""
    calendar = vietnam_holidays()
    with _holidays_lock:
        calendar.get(day)  # fills that year, and with it its weekend workdays
        return day in calendar.weekend_workdays


def parse_periods(text: str) -> dict[int, Day]:
    """`"mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30"` → periods by weekday (0 = Monday)."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    week: dict[int, list[Period]] = {i: [] for i in range(7)}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days_text, _, ranges = part.partition(" ")
        first, _, last = days_text.lower().partition("-")
        a, b = names.index(first), names.index(last or first)
        periods = []
        for rng in filter(None, (r.strip() for r in ranges.split(","))):
            start, _, end = rng.partition("-")
            periods.append((_seconds(start), _seconds(end)))
        for weekday in range(a, b + 1):
            week[weekday].extend(periods)
    return {k: normalise(v) for k, v in week.items()}


def _seconds(hhmm: str) -> int:
    hours, _, minutes = hhmm.strip().partition(":")
    return int(hours) * 3600 + int(minutes or 0) * 60


def normalise(periods: Iterable[Period]) -> Day:
    """Sorted, overlapping or touching periods merged, empty ones dropped."""
    merged: list[list[int]] = []
    for start, end in sorted(p for p in periods if p[1] > p[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


class Calendar:
    """One centre's working time (see the module's doc). Immutable once built; thread-safe."""

    def __init__(self, tz: ZoneInfo | str, week: Mapping[int, Iterable[Period]], *,
                 public_holidays: bool = True, exceptions: Mapping[date, str] | None = None,
                 shared_exceptions: Mapping[date, str] | None = None) -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.week: tuple[Day, ...] = tuple(normalise(week.get(i, ())) for i in range(7))
        self.public_holidays = public_holidays
        self.exceptions = dict(exceptions or {})
        self.shared_exceptions = dict(shared_exceptions or {})
        self.standard_day: Day = next((d for d in self.week if d), ())
        self._days: dict[date, Day] = {}
        self._lock = threading.Lock()

    # --- days ----------------------------------------------------------------------------------

    def periods_on(self, day: date) -> Day:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        periods = self._compute(day)
        with self._lock:
            self._days[day] = periods
        return periods

    def _compute(self, day: date) -> Day:
        kind = self.exceptions.get(day) or self.shared_exceptions.get(day)
        if kind == WORKING:
            return self.week[day.weekday()] or self.standard_day
        if kind == DAY_OFF:
            return ()
        if self.public_holidays:
            if public_holiday(day) is not None:
                return ()
            if government_workday(day):
                return self.week[day.weekday()] or self.standard_day
        return self.week[day.weekday()]

    def seconds_on(self, day: date) -> int:
        return sum(end - start for start, end in self.periods_on(day))

    def why_not_working(self, day: date) -> str | None:
        """A short reason a date has no working time (for pages): the holiday's name, "day off"…"""
        kind = self.exceptions.get(day) or self.shared_exceptions.get(day)
        if kind == DAY_OFF:
            return DAY_OFF
        if kind is None and self.public_holidays:
            return public_holiday(day)
        return None

    # --- moments -------------------------------------------------------------------------------

    def _local(self, moment: datetime) -> tuple[date, int, float]:
        if moment.tzinfo is None:
            raise ValueError("working-time arithmetic needs aware datetimes")
        local = moment.astimezone(self.tz)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return local.date(), seconds, local.microsecond / 1_000_000

    def _moment(self, day: date, seconds: float) -> datetime:
        whole = int(seconds)
        naive = datetime.combine(day, time()) + timedelta(seconds=whole, microseconds=round((seconds - whole) * 1e6))
        return naive.replace(tzinfo=self.tz)

    def is_working_time(self, moment: datetime) -> bool:
        day, seconds, _fraction = self._local(moment)
        return any(start <= seconds < end for start, end in self.periods_on(day))

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment at which `minutes` of working time have passed since `start`. Zero minutes
        from outside working hours is `start` itself; a budget that runs out exactly at the end of a
        period ends there (11:30, not 13:30)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes == 0:
            return start
        day, position, fraction = self._local(start)
        now = position + fraction
        remaining = minutes * 60.0
        for _ in range(MAX_DAYS):
            for period_start, period_end in self.periods_on(day):
                if period_end <= now:
                    continue
                begin = max(period_start, now)
                available = period_end - begin
                if remaining <= available:
                    return self._moment(day, begin + remaining)
                remaining -= available
            day += timedelta(days=1)
            now = 0
        raise ValueError("no working time within ten years (an empty working week?)")

    def seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b) — negative when b is before a."""
        if b < a:
            return -self.seconds_between(b, a)
        first, a_seconds, a_fraction = self._local(a)
        last, b_seconds, b_fraction = self._local(b)
        lo, hi = a_seconds + a_fraction, b_seconds + b_fraction
        if (last - first).days > MAX_DAYS:
            raise ValueError("more than ten years apart")
        total = 0.0
        day = first
        while day <= last:
            floor = lo if day == first else 0
            ceiling = hi if day == last else 86400
            if floor == 0 and ceiling == 86400:
                total += self.seconds_on(day)
            else:
                for start, end in self.periods_on(day):
                    overlap = min(end, ceiling) - max(start, floor)
                    if overlap > 0:
                        total += overlap
            day += timedelta(days=1)
        return total

    def between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b) (rounded towards zero; negative when b is before a)."""
        seconds = self.seconds_between(a, b)
        return int(seconds / 60)

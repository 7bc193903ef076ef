"""Working-time arithmetic, to the minute: office hours 07:30–11:30 and 13:30–17:00 Monday to Friday
(7.5 h = 450 working minutes a day), Vietnam's public holidays, make-up days and days off."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worktime.calendar import DAY_OFF, WORKING, Calendar, government_workday, parse_periods, public_holiday

TZ = "Asia/Ho_Chi_Minh"
WEEK = parse_periods("mon-fri 07:30-11:30,13:30-17:00")


def at(y, mo, d, h=0, mi=0):
    from zoneinfo import ZoneInfo

    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(TZ))


@pytest.fixture
def cal() -> Calendar:
    return Calendar(TZ, WEEK)


def test_a_day_has_450_working_minutes(cal):
    assert cal.between(at(2026, 3, 2), at(2026, 3, 3)) == 450
    assert cal.add(at(2026, 3, 2, 7, 30), 450) == at(2026, 3, 2, 17, 0)


def test_the_lunch_break_does_not_count(cal):
    # 10:30 + 2 h: one hour before lunch, one after it.
    assert cal.add(at(2026, 3, 4, 10, 30), 120) == at(2026, 3, 4, 14, 30)
    assert cal.between(at(2026, 3, 4, 11, 0), at(2026, 3, 4, 14, 0)) == 60
    # A budget that runs out at the start of lunch ends at 11:30, not at 13:30.
    assert cal.add(at(2026, 3, 4, 10, 30), 60) == at(2026, 3, 4, 11, 30)
    # Asked during lunch: the clock starts at 13:30.
    assert cal.add(at(2026, 3, 4, 12, 15), 30) == at(2026, 3, 4, 14, 0)


def test_the_weekend_does_not_count(cal):
    # Friday 16:30 + 1 h → Monday 08:00 (30 min on Friday, 30 on Monday).
    assert cal.add(at(2026, 3, 6, 16, 30), 60) == at(2026, 3, 9, 8, 0)
    assert cal.between(at(2026, 3, 6, 16, 30), at(2026, 3, 9, 8, 0)) == 60
    # Asked on Saturday evening: from Monday 07:30.
    assert cal.add(at(2026, 3, 7, 20, 0), 4 * 60) == at(2026, 3, 9, 11, 30)


def test_tet_2026_is_five_working_days_off(cal):
    # Tết Bính Ngọ: 16–20 Feb 2026 (eve to the 4th day) are public holidays, then the weekend.
    for day in range(16, 21):
        assert public_holiday(date(2026, 2, day)) is not None
    # A request at 16:30 on Friday 13 Feb, urgent (8 working hours = 480 min): 30 minutes that
    # Friday, nothing for nine days, then the whole of Monday 23 Feb (450 min): due at 17:00 that day.
    assert cal.add(at(2026, 2, 13, 16, 30), 8 * 60) == at(2026, 2, 23, 17, 0)
    assert cal.between(at(2026, 2, 13, 17, 0), at(2026, 2, 23, 7, 30)) == 0


def test_tet_2027_starts_on_a_thursday(cal):
    # Tết Đinh Mùi: 4–10 Feb 2027 (29th of the old year to the 5th day); the 6th and 7th are a weekend.
    assert [d for d in range(3, 12) if public_holiday(date(2027, 2, d))] == [4, 5, 6, 7, 8, 9, 10]
    # Wednesday 3 Feb 2027 at 15:00 + 3 working days (1,350 min): 120 min that day, Thursday 11 and
    # Friday 12 Feb (900), then 330 min of Monday 15 Feb: 07:30–11:30 and 13:30–15:00.
    assert cal.add(at(2027, 2, 3, 15, 0), 1350) == at(2027, 2, 15, 15, 0)
    assert cal.between(at(2027, 2, 3, 15, 0), at(2027, 2, 15, 15, 0)) == 1350


def test_the_governments_make_up_saturday_is_worked():
    # The package knows Saturday 22/8/2026 was worked to give Monday 31/8/2026 off.
    assert government_workday(date(2026, 8, 22)) and public_holiday(date(2026, 8, 31)) is not None
    cal = Calendar(TZ, WEEK)
    # Friday 21/8 16:00 + 2 h: 1 h on Friday, 1 h on the make-up Saturday morning.
    assert cal.add(at(2026, 8, 21, 16, 0), 120) == at(2026, 8, 22, 8, 30)


def test_a_make_up_saturday_entered_by_a_manager_is_worked_like_a_weekday():
    cal = Calendar(TZ, WEEK, exceptions={date(2026, 3, 7): WORKING})
    assert cal.add(at(2026, 3, 6, 16, 30), 60) == at(2026, 3, 7, 8, 0)
    assert cal.between(at(2026, 3, 7), at(2026, 3, 8)) == 450


def test_an_extra_day_off_and_a_centre_exception_override_a_shared_one():
    cal = Calendar(TZ, WEEK, exceptions={date(2026, 3, 10): WORKING},
                   shared_exceptions={date(2026, 3, 9): DAY_OFF, date(2026, 3, 10): DAY_OFF})
    assert cal.between(at(2026, 3, 9), at(2026, 3, 10)) == 0  # everyone's day off
    assert cal.between(at(2026, 3, 10), at(2026, 3, 11)) == 450  # this centre works it anyway


def test_national_day_2026_and_2027():
    cal = Calendar(TZ, WEEK)
    # 2026: Mon 31/8 (substitute), Tue 1/9 and Wed 2/9 off; 2027: Thu 2/9 and Fri 3/9 off.
    assert cal.between(at(2026, 8, 31), at(2026, 9, 3)) == 0
    assert cal.between(at(2027, 9, 2), at(2027, 9, 6)) == 0


def test_a_centre_that_ignores_public_holidays():
    cal = Calendar(TZ, WEEK, public_holidays=False)
    assert cal.between(at(2026, 2, 16), at(2026, 2, 17)) == 450


def test_zero_minutes_and_negative_spans(cal):
    assert cal.add(at(2026, 3, 7, 20, 0), 0) == at(2026, 3, 7, 20, 0)
    assert cal.between(at(2026, 3, 3), at(2026, 3, 2)) == -450
    with pytest.raises(ValueError):
        cal.add(at(2026, 3, 2), -1)


def test_a_saturday_morning_week():
    cal = Calendar(TZ, parse_periods("mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30"))
    assert cal.between(at(2026, 3, 7), at(2026, 3, 8)) == 240


def test_a_year_is_the_sum_of_its_days(cal):
    year = cal.between(at(2026, 1, 1), at(2027, 1, 1))
    days = sum(cal.seconds_on(date(2026, 1, 1) + timedelta(days=i)) for i in range(365)) // 60
    assert year == days
    # 261 weekdays in 2026, less the holidays that fall on weekdays.
    assert year % 450 == 0 and 240 < year // 450 < 261


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31)),
       minutes=st.integers(min_value=1, max_value=20 * 450))
def test_adding_then_measuring_gives_back_the_minutes(start, minutes):
    from zoneinfo import ZoneInfo

    cal = Calendar(TZ, WEEK)
    begin = start.replace(second=0, microsecond=0, tzinfo=ZoneInfo(TZ))
    due = cal.add(begin, minutes)
    assert cal.between(begin, due) == minutes
    assert cal.is_working_time(due - timedelta(seconds=1))

"""A centre's calendar from the database: its own week, its exceptions, everyone's exceptions."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from tests.factories import CentreFactory
from tests.worktime.test_calendar import at
from worktime.models import DayException, WorkingCalendar, WorkingPeriod
from worktime.selectors import add_working_minutes, calendar_for, working_minutes_between

pytestmark = pytest.mark.django_db


@pytest.fixture
def centres():
    return CentreFactory.create(code="HT"), CentreFactory.create(code="DN")


def test_a_centre_without_a_calendar_works_the_default_week(centres):
    ht, _dn = centres
    assert add_working_minutes(ht, at(2026, 3, 6, 16, 30), 60) == at(2026, 3, 9, 8, 0)
    assert working_minutes_between(None, at(2026, 3, 2), at(2026, 3, 3)) == 450


def test_a_centre_with_its_own_hours(centres):
    ht, dn = centres
    calendar = WorkingCalendar.objects.create(centre=dn)
    for weekday in range(6):  # Monday to Saturday, 08:00–12:00 and 13:00–17:00
        WorkingPeriod.objects.create(calendar=calendar, weekday=weekday, start=time(8), end=time(12))
        WorkingPeriod.objects.create(calendar=calendar, weekday=weekday, start=time(13), end=time(17))
    assert working_minutes_between(dn, at(2026, 3, 7), at(2026, 3, 8)) == 480  # Saturday worked
    assert working_minutes_between(ht, at(2026, 3, 7), at(2026, 3, 8)) == 0


def test_exceptions_for_one_centre_and_for_everyone(centres):
    ht, dn = centres
    DayException.objects.create(date=date(2026, 3, 9), kind=DayException.Kind.DAY_OFF, name="Nghỉ bù")
    DayException.objects.create(centre=ht, date=date(2026, 3, 7), kind=DayException.Kind.WORKING, name="Làm bù")
    # Saved in this process: used at once (the cache was cleared).
    assert working_minutes_between(ht, at(2026, 3, 7), at(2026, 3, 8)) == 450
    assert working_minutes_between(dn, at(2026, 3, 7), at(2026, 3, 8)) == 0
    assert working_minutes_between(dn, at(2026, 3, 9), at(2026, 3, 10)) == 0
    assert working_minutes_between(None, at(2026, 3, 9), at(2026, 3, 10)) == 0


def test_calendars_are_cached_per_centre(centres, django_assert_num_queries):
    ht, _dn = centres
    calendar_for(ht)
    with django_assert_num_queries(0):
        assert calendar_for(ht) is calendar_for(ht.pk)


def test_times_must_be_aware(centres):
    with pytest.raises(ValueError):
        add_working_minutes(None, datetime(2026, 3, 2, 8), 10)

"""A change of working time recomputes the open requests' due times when it commits (issue 22 §1):
a day off a manager adds for the target centre, a make-up day for every centre, a centre's own week
edited in the admin — not at the request's next change. Closed requests and other centres' requests
keep theirs; a change that rolls back moves nothing."""

from __future__ import annotations

from datetime import date, time

import pytest
import time_machine
from django.db import transaction

from hub.models import Centre
from requests import services
from tests.requests.test_sla import at, dues, opened
from worktime.models import DayException, WorkingCalendar, WorkingPeriod

pytestmark = pytest.mark.django_db(transaction=True)  # the recompute runs on commit


def test_a_day_off_for_the_target_centre_moves_its_open_requests_due_times_at_once(people, new_ticket):
    # Friday 6/3/2026 16:30, urgent: due Monday 9/3 (08:00 first response, 17:00 resolution).
    to_dn = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target="DN")
    to_qb = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target="QB", title="Khác")
    done = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target="DN", title="Đã xong")
    with time_machine.travel(at(2026, 3, 6, 16, 40), tick=False):
        services.transition_ticket(done, by=people.dn_engineer, to="rejected", note="Không thuộc phạm vi")
    done.refresh_from_db()
    closed_due = done.due_at
    assert dues(to_dn) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")

    # DN's manager adds Monday 9/3 as a day off: committed, DN's open request is due on Tuesday.
    DayException.objects.create(centre=Centre.objects.get(code="DN"), date=date(2026, 3, 9), kind="day_off",
                                name="Nghỉ bù")
    assert dues(to_dn) == ("2026-03-10 Tue 08:00", "2026-03-10 Tue 17:00")
    assert dues(to_qb) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")  # QB's time did not change
    done.refresh_from_db()
    assert done.due_at == closed_due  # a closed request keeps the due time it was judged by

    # Saturday 7/3 a make-up working day for every centre (the shared calendar): both move earlier.
    DayException.objects.create(centre=None, date=date(2026, 3, 7), kind="working", name="Làm bù")
    assert dues(to_dn) == ("2026-03-07 Sat 08:00", "2026-03-07 Sat 17:00")
    assert dues(to_qb) == ("2026-03-07 Sat 08:00", "2026-03-07 Sat 17:00")

    # Removing it gives the former due times back.
    DayException.objects.filter(centre=None, date=date(2026, 3, 7)).delete()
    assert dues(to_dn) == ("2026-03-10 Tue 08:00", "2026-03-10 Tue 17:00")
    assert dues(to_qb) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")


def test_a_centres_own_week_saved_with_its_periods_recomputes_once_on_commit(people, new_ticket, monkeypatch):
    ticket = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target="QB")
    calls: list[frozenset] = []
    real = services.reschedule_open_tickets

    def counted(*, centres: frozenset) -> int:
        calls.append(centres)
        return real(centres=centres)

    monkeypatch.setattr(services, "reschedule_open_tickets", counted)
    qb = Centre.objects.get(code="QB")
    # QB works mornings only, 07:00–12:00, Monday to Saturday: saved as the admin does, in one transaction.
    with transaction.atomic():
        calendar = WorkingCalendar.objects.create(centre=qb)
        for weekday in range(6):
            WorkingPeriod.objects.create(calendar=calendar, weekday=weekday, start=time(7, 0), end=time(12, 0))
        assert calls == []  # nothing before the commit
    assert calls == [frozenset({qb.pk})]  # seven rows saved, one recompute
    # Friday 16:30 is after hours; Saturday 7/3 is worked: 60 min by 08:00; 300 on Saturday + 180 on Monday.
    assert dues(ticket) == ("2026-03-07 Sat 08:00", "2026-03-09 Mon 10:00")


def test_a_change_that_rolls_back_moves_nothing(people, new_ticket):
    ticket = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target="DN")
    with pytest.raises(RuntimeError), transaction.atomic():
        DayException.objects.create(centre=Centre.objects.get(code="DN"), date=date(2026, 3, 9), kind="day_off")
        raise RuntimeError("the manager's form failed after the save")
    assert dues(ticket) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")
    # And the next change that commits is recomputed as usual.
    DayException.objects.create(centre=Centre.objects.get(code="DN"), date=date(2026, 3, 9), kind="day_off")
    assert dues(ticket) == ("2026-03-10 Tue 08:00", "2026-03-10 Tue 17:00")

"""The SLA clock of a request, to the minute, with the clock pinned (time-machine): two targets per
priority in working minutes of the TARGET centre — its office hours (07:30–11:30, 13:30–17:00),
Vietnam's public holidays (Tết by the lunar calendar), make-up working days — paused while the
request waits for the requester, stopped by the target centre's first response and by resolution.

Default targets (settings.REQUESTS_SLA_MINUTES): urgent 60 / 480, high 240 / 1350, normal 450 / 2250.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hub.models import Centre
from requests import services
from requests.models import Ticket
from worktime.models import DayException

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
JSON = "application/json"


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN)


def local(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert value is not None
    return value.astimezone(VN).strftime("%Y-%m-%d %a %H:%M")


def opened(new_ticket, moment: datetime, **fields) -> Ticket:
    with time_machine.travel(moment, tick=False):
        return new_ticket(**fields)


def dues(ticket: Ticket) -> tuple[str, str]:
    ticket.refresh_from_db()
    return local(ticket.first_response_due), local(ticket.due_at)


# --- due times across non-working time ---------------------------------------------------------------


def test_a_weekend_is_not_working_time(new_ticket):
    # Friday 16:30, urgent: 30 minutes on Friday, the rest on Monday morning.
    ticket = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent")
    assert dues(ticket) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")


def test_the_lunch_break_is_not_working_time(new_ticket):
    # Tuesday 11:00, urgent: 30 minutes before lunch, 30 after 13:30; the 480 end the next morning,
    # exactly at the end of its first period (11:30, not 13:30).
    ticket = opened(new_ticket, at(2026, 3, 3, 11, 0), priority="urgent")
    assert dues(ticket) == ("2026-03-03 Tue 14:00", "2026-03-04 Wed 11:30")


def test_tet_2026_holds_the_clock_for_nine_days(new_ticket):
    # Friday 13/2/2026 16:30, the last afternoon before Tết Bính Ngọ (16–20/2 off, weekends around):
    # back on Monday 23/2. High: 240 / 1350 working minutes.
    ticket = opened(new_ticket, at(2026, 2, 13, 16, 30), priority="high")
    assert dues(ticket) == ("2026-02-23 Mon 11:00", "2026-02-25 Wed 16:30")


def test_tet_2027_holds_the_clock_from_the_29th_to_the_fifth_day(new_ticket):
    # Wednesday 3/2/2027 16:30; Tết Đinh Mùi: Thursday 4/2 to Wednesday 10/2 off.
    ticket = opened(new_ticket, at(2027, 2, 3, 16, 30), priority="urgent")
    assert dues(ticket) == ("2027-02-11 Thu 08:00", "2027-02-11 Thu 17:00")


def test_the_governments_make_up_saturday_is_worked(new_ticket):
    # Saturday 22/8/2026 is worked for Monday 31/8 (then 1–2/9, Quốc khánh, are off too).
    ticket = opened(new_ticket, at(2026, 8, 21, 16, 30), priority="high")
    # 30 Fri + 210 Sat morning; 30 Fri + 450 Sat + 450 Mon 24/8 + 420 Tue.
    assert dues(ticket) == ("2026-08-22 Sat 11:00", "2026-08-25 Tue 16:30")
    # And the Monday it pays for is not: Friday 28/8 16:30, urgent, is due on Thursday 3/9.
    ticket = opened(new_ticket, at(2026, 8, 28, 16, 30), priority="urgent", title="Trước Quốc khánh")
    assert dues(ticket) == ("2026-09-03 Thu 08:00", "2026-09-03 Thu 17:00")


def test_the_clock_runs_in_the_target_centres_time_with_its_own_make_up_saturday(people, new_ticket):
    # DN works Saturday 14/3/2026 (a make-up day its manager entered); QB does not.
    DayException.objects.create(centre=Centre.objects.get(code="DN"), date=date(2026, 3, 14), kind="working",
                                name="Làm bù")
    to_dn = opened(new_ticket, at(2026, 3, 13, 16, 30), priority="urgent", target="DN")
    to_qb = opened(new_ticket, at(2026, 3, 13, 16, 30), priority="urgent", target="QB", title="Khác")
    assert dues(to_dn) == ("2026-03-14 Sat 08:00", "2026-03-14 Sat 17:00")
    assert dues(to_qb) == ("2026-03-16 Mon 08:00", "2026-03-16 Mon 17:00")


def test_a_request_for_any_centre_runs_on_the_hubs_calendar_until_a_centre_accepts(people, new_ticket):
    DayException.objects.create(centre=Centre.objects.get(code="DN"), date=date(2026, 3, 9), kind="day_off",
                                name="Nghỉ")
    ticket = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="urgent", target=None)
    assert dues(ticket) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")
    with time_machine.travel(at(2026, 3, 6, 16, 45), tick=False):
        services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
    ticket.refresh_from_db()
    # DN is off on Monday 9/3: its working time puts the resolution due on Tuesday.
    assert local(ticket.due_at) == "2026-03-10 Tue 17:00"
    assert local(ticket.first_response_at) == "2026-03-06 Fri 16:45" and ticket.sla_response_minutes == 15


def test_a_new_priority_recomputes_the_clock_from_the_creation(people, new_ticket):
    ticket = opened(new_ticket, at(2026, 3, 6, 16, 30), priority="normal")
    with time_machine.travel(at(2026, 3, 9, 8, 0), tick=False):
        services.update_ticket(ticket, by=people.ht_engineer, changes={"priority": "urgent"})
    assert dues(ticket) == ("2026-03-09 Mon 08:00", "2026-03-09 Mon 17:00")


# --- the first response ---------------------------------------------------------------------------------


def test_an_internal_note_or_the_requesters_comment_is_no_first_response(people, new_ticket):
    ticket = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="urgent")
    with time_machine.travel(at(2026, 3, 2, 8, 10), tick=False):
        services.add_comment(ticket, by=people.dn_engineer, body="Ghi chú nội bộ", internal=True)
        services.add_comment(ticket, by=people.ht_engineer, body="Bổ sung thông tin")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    with time_machine.travel(at(2026, 3, 2, 8, 25), tick=False):
        services.add_comment(ticket, by=people.dn_engineer, body="Chúng tôi đã nhận yêu cầu.")
    ticket.refresh_from_db()
    assert local(ticket.first_response_at) == "2026-03-02 Mon 08:25" and ticket.sla_response_minutes == 25


def test_an_assignment_by_the_target_centre_is_a_first_response(people, new_ticket):
    ticket = opened(new_ticket, at(2026, 3, 2, 11, 0), priority="urgent")
    with time_machine.travel(at(2026, 3, 2, 14, 0), tick=False):
        services.assign_ticket(ticket, by=people.dn_manager, username="dn.engineer")
    ticket.refresh_from_db()
    # 11:00–11:30 and 13:30–14:00: 60 working minutes, exactly on time.
    assert ticket.sla_response_minutes == 60 and ticket.first_response_at == ticket.first_response_due


def test_acceptance_stops_the_first_response_clock_late_and_it_shows_as_breached(people, new_ticket, api_client):
    ticket = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="urgent")
    with time_machine.travel(at(2026, 3, 2, 9, 1), tick=False):
        services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
        sla = api_client(people.ht_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()["sla"]
    assert sla["first_response_breached"] is True and sla["breached"] is True
    assert sla["first_response_remaining_minutes"] is None and local(sla["first_response_at"]) == "2026-03-02 Mon 09:01"


# --- pausing -----------------------------------------------------------------------------------------------


def test_waiting_for_the_requester_pauses_the_resolution_clock_and_their_answer_resumes_it(
        people, new_ticket, api_client):
    # Monday 2/3/2026 08:00, normal: 450 / 2250. Unpaused, resolution would be due Monday 9/3 08:00.
    ticket = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="normal")
    assert dues(ticket)[1] == "2026-03-09 Mon 08:00"
    with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False):
        services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
        services.transition_ticket(ticket, by=people.dn_engineer, to="in_progress")
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):  # 120 working minutes spent
        services.transition_ticket(ticket, by=people.dn_engineer, to="waiting_for_requester", note="Cần log")
    dn = api_client(people.dn_engineer)
    with time_machine.travel(at(2026, 3, 3, 15, 0), tick=False):
        body = dn.get(f"/api/v1/tickets/{ticket.pk}").json()
        sla = body["sla"]
        assert (sla["paused"], sla["state"], sla["paused_reason"]) == (True, "paused", "waiting_for_requester")
        assert local(sla["paused_since"]) == "2026-03-02 Mon 10:00"
        # Frozen at what was left when the pause began; the due time shown is "if it resumed now".
        assert sla["resolution_remaining_minutes"] == 2250 - 120
        assert local(sla["resolution_due"]) == "2026-03-10 Tue 11:00"
        assert sla["breached"] is False and body["overdue"] is False
    # Wednesday 09:00 the requester answers: paused Mon 10:00–17:00 (300 min, lunch out), Tue 450,
    # Wed 07:30–09:00 (90): 840 working minutes push the due time on.
    with time_machine.travel(at(2026, 3, 4, 9, 0), tick=False):
        services.add_comment(ticket, by=people.ht_engineer, body="Log đây ạ.")
    ticket.refresh_from_db()
    assert ticket.status == "in_progress" and ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == 840 * 60
    assert local(ticket.due_at) == "2026-03-10 Tue 16:30"
    with time_machine.travel(at(2026, 3, 4, 9, 0), tick=False):
        sla = dn.get(f"/api/v1/tickets/{ticket.pk}").json()["sla"]
    assert (sla["paused"], sla["state"], sla["resolution_remaining_minutes"]) == (False, "running", 2250 - 120)


def test_resolving_stops_the_clock_and_records_the_working_minutes_without_pauses(people, new_ticket):
    ticket = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="urgent")
    with time_machine.travel(at(2026, 3, 2, 8, 30), tick=False):
        services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
        services.transition_ticket(ticket, by=people.dn_engineer, to="in_progress")
        services.transition_ticket(ticket, by=people.dn_engineer, to="waiting_for_requester")
    with time_machine.travel(at(2026, 3, 2, 14, 0), tick=False):
        services.transition_ticket(ticket, by=people.ht_engineer, to="in_progress")
    with time_machine.travel(at(2026, 3, 2, 15, 0), tick=False):
        services.transition_ticket(ticket, by=people.dn_engineer, to="resolved")
    ticket.refresh_from_db()
    # 08:00–08:30 and 14:00–15:00 ran: 90 working minutes; the due time, Monday 17:00, moved on by
    # the pause's 210 working minutes (08:30–11:30, 13:30–14:00).
    assert ticket.sla_resolution_minutes == 90 and ticket.sla_paused_seconds == 210 * 60
    assert local(ticket.due_at) == "2026-03-03 Tue 14:00"
    assert local(ticket.sla_paused_at) == "2026-03-02 Mon 15:00"


# --- breached, due soon, in the database --------------------------------------------------------------


def test_overdue_is_an_open_request_with_a_clock_breached_and_a_paused_one_is_not(people, new_ticket, api_client):
    late = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="urgent", title="Quá hạn")
    waiting = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="urgent", title="Đang chờ")
    soon = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="normal", title="Sắp đến hạn")
    with time_machine.travel(at(2026, 3, 2, 8, 20), tick=False):
        for ticket in (waiting, soon):
            services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
        services.transition_ticket(waiting, by=people.dn_engineer, to="in_progress")
        services.transition_ticket(waiting, by=people.dn_engineer, to="waiting_for_requester")
    client = api_client(people.ht_manager)
    # Thursday 14:00: 1,590 of the normal request's 2,250 minutes spent (71 %); Friday 08:00: 1,800 (80 %).
    with time_machine.travel(at(2026, 3, 5, 14, 0), tick=False):
        rows = {t["title"]: t for t in client.get("/api/v1/tickets").json()["results"]}
        assert [t["reference"] for t in client.get("/api/v1/tickets?overdue=true").json()["results"]] == [
            late.reference]
        assert rows["Sắp đến hạn"]["sla"]["due_soon"] is False
    with time_machine.travel(at(2026, 3, 6, 8, 0), tick=False):
        rows = {t["title"]: t for t in client.get("/api/v1/tickets").json()["results"]}
    assert rows["Quá hạn"]["overdue"] is True and rows["Quá hạn"]["sla"]["breached"] is True
    assert rows["Đang chờ"]["overdue"] is False and rows["Đang chờ"]["sla"]["paused"] is True
    assert rows["Sắp đến hạn"]["sla"]["due_soon"] is True and rows["Sắp đến hạn"]["overdue"] is False
    assert rows["Sắp đến hạn"]["sla"]["resolution_remaining_minutes"] == 2250 - 1800


def test_merging_keeps_the_earliest_clock(people, new_ticket):
    from requests.sla import take_earliest

    first = opened(new_ticket, at(2026, 3, 2, 8, 0), priority="normal")
    second = opened(new_ticket, at(2026, 3, 2, 9, 0), priority="urgent", title="Trùng")
    fields = take_earliest(first, second)
    assert set(fields) == {"first_response_due", "sla_response_soon_at", "due_at", "sla_resolution_soon_at"}
    assert (first.first_response_due, first.due_at) == (second.first_response_due, second.due_at)

"""SLA attainment per target centre and month, aggregated in the database, on the dashboard and in
the yearly cooperation report (HTML and API). Requests are made through the services with the clock
pinned, so their SLA clocks are the real ones (tests/requests/test_sla.py checks those to the minute)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from reports.selectors import sla_attainment, year_bounds
from requests import services
from tests.factories import staff

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, tzinfo=VN)


@pytest.fixture
def month_of_requests():
    """HT asks DN; urgent (60 / 480 working minutes) unless said otherwise.
    March: A answered in 30 min and resolved in 2 h (met, met); B answered late (90 min) and resolved
    late (Tuesday 10:00, 510 working min); C never answered (breached), open. April: D answered in 15 min,
    still in progress within its time (met, neither). E is QB's: answered in 45 min (met)."""
    ht, dn, qb = staff("ht.engineer"), staff("dn.engineer"), staff("qb.engineer")

    def ticket(when: datetime, target: str = "DN", **fields):
        with time_machine.travel(when, tick=False):
            return services.create_ticket(by=ht, title=f"Yêu cầu {when:%m%d%H%M}{target}", category="software",
                                          target_centre=target, priority=fields.get("priority", "urgent"))

    def move(t, who, moment, *statuses):
        with time_machine.travel(moment, tick=False):
            for status in statuses:
                services.transition_ticket(t, by=who, to=status)

    a = ticket(at(3, 2, 8))
    move(a, dn, at(3, 2, 8, 30), "accepted", "in_progress")
    move(a, dn, at(3, 2, 10), "resolved")
    b = ticket(at(3, 2, 9))
    move(b, dn, at(3, 2, 10, 30), "accepted", "in_progress")
    move(b, dn, at(3, 3, 10), "resolved")
    ticket(at(3, 4, 8))
    d = ticket(at(4, 6, 8))
    move(d, dn, at(4, 6, 8, 15), "accepted")
    e = ticket(at(3, 9, 8), target="QB")
    move(e, qb, at(3, 9, 8, 45), "accepted")
    return ht


def test_attainment_per_centre_and_month(month_of_requests):
    start, end = year_bounds(2026)
    rows = {(r["centre"], r["month"]): r for r in sla_attainment(start, end, now=at(4, 6, 9))}
    assert set(rows) == {("DN", 3), ("DN", 4), ("QB", 3)}
    march = rows[("DN", 3)]
    assert (march["first_met"], march["first_breached"]) == (1, 2)
    assert (march["resolution_met"], march["resolution_breached"]) == (1, 2)  # B late, C still open past due
    assert march["first_median"] == 60  # 30 and 90 (C unanswered: no time yet)
    assert march["resolution_median"] == (120 + 510) / 2
    april = rows[("DN", 4)]
    assert (april["first_met"], april["first_breached"], april["resolution_met"], april["resolution_breached"]) == (
        1, 0, 0, 0)
    assert (rows[("QB", 3)]["first_met"], rows[("QB", 3)]["first_median"]) == (1, 45)


def test_the_dashboard_and_the_yearly_report_show_it(month_of_requests, client, settings):
    from django.test import Client

    manager = staff("dn.manager")
    client = Client()
    client.force_login(manager)
    with time_machine.travel(at(4, 20, 9), tick=False):
        page = client.get("/dashboard/?from=2026-03-01&to=2026-04-30").content.decode()
        report = client.get("/reports/cooperation/2026/").content.decode()
        api = client.get("/api/v1/reports/cooperation/2026").json()
    for html in (page, report):
        assert 'id="table-sla"' in html
        assert "03/2026" in html and "04/2026" in html
    sla = next(t for t in api["tables"] if t["key"] == "sla")
    assert ["DN", "03/2026", 1, 2, 60, 1, 2, 315, 33.3] in sla["rows"]  # 2 of 6 clocks met


def test_months_are_local_months_of_the_current_time_zone_even_with_daylight_saving(month_of_requests):
    """On PostgreSQL the table finds each request's local month by the period's local month starts
    (`PeriodIndex`, a binary search) rather than converting every row: the months must be those of
    the current time zone, where a month can start at 22:00 UTC (Paris in summer) or 23:00 (winter)."""
    from django.db import connection
    from django.utils import timezone

    from requests.models import Ticket

    paris = ZoneInfo("Europe/Paris")
    # 1 April 2026 starts at 31 March 22:00 UTC in Paris (summer time); 1 March at 28 Feb 23:00 UTC.
    moments = {"A": datetime(2026, 3, 31, 21, 59, 59, tzinfo=ZoneInfo("UTC")),  # still March in Paris
               "B": datetime(2026, 3, 31, 22, 0, tzinfo=ZoneInfo("UTC")),  # April in Paris
               "C": datetime(2026, 2, 28, 22, 59, 59, tzinfo=ZoneInfo("UTC"))}  # February in Paris
    tickets = list(Ticket.objects.filter(target_centre__code="DN").order_by("created_at"))[:3]
    for ticket, moment in zip(tickets, moments.values(), strict=True):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)
    with timezone.override(paris):
        start, end = datetime(2026, 1, 1, tzinfo=paris), datetime(2027, 1, 1, tzinfo=paris)
        months = sorted((r["month"], r["first_met"] + r["first_breached"])
                        for r in sla_attainment(start, end, now=at(4, 6, 9)) if r["centre"] == "DN")
    # D (6 April) stays in April; the three moved ones land in February, March and April.
    assert months == [(2, 1), (3, 1), (4, 2)], connection.vendor

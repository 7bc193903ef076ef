"""The SLA watch (hub.jobs "requests.sla"): "due soon" (80 % of a target spent) and "breached"
notices — a `ticket.sla` frame to the target centre and the requester, a history entry by the hub
itself — once per clock and due time, however many workers look at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.db import connection, connections

from hub import jobs
from requests import services
from requests.models import SlaReminder, Ticket, TicketEvent
from tests.live import ROOT, database_url_of_test_db
from tests.requests.test_live import close, sockets

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN)


def notices(ticket: Ticket) -> list[tuple[str, str, int | None]]:
    return [(e.kind, e.field, e.actor_id) for e in TicketEvent.objects.filter(
        ticket=ticket, kind__in=["sla_due_soon", "sla_breached"]).order_by("id")]


@pytest.mark.django_db
def test_each_clock_is_due_soon_then_breached_once_and_a_paused_clock_never(people, new_ticket, api_client):
    # Monday 2/3/2026 08:00, urgent (60 / 480): first response due soon 08:48, due 09:00;
    # resolution due soon Monday 16:24 (384 min), due Tuesday 08:30.
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        ticket = new_ticket(priority="urgent")
        waiting = new_ticket(priority="urgent", title="Chờ bên yêu cầu")
        services.transition_ticket(waiting, by=people.dn_engineer, to="accepted")
        services.transition_ticket(waiting, by=people.dn_engineer, to="in_progress")
        services.transition_ticket(waiting, by=people.dn_engineer, to="waiting_for_requester")
    assert services.send_sla_reminders(now=at(2026, 3, 2, 8, 47)) == []
    assert services.send_sla_reminders(now=at(2026, 3, 2, 8, 48)) == [
        f"{ticket.reference}: first_response due_soon (due 2026-03-02T02:00:00.000Z)"]
    assert services.send_sla_reminders(now=at(2026, 3, 2, 8, 55)) == []
    # Through the job runner, as every deployment runs it.
    jobs.autodiscover()
    [outcome] = jobs.run_due(at(2026, 3, 2, 9, 1), only=["requests.sla"])
    assert outcome.ok
    assert outcome.result == [f"{ticket.reference}: first_response breached (due 2026-03-02T02:00:00.000Z)"]
    assert services.send_sla_reminders(now=at(2026, 3, 2, 16, 23)) == []
    assert len(services.send_sla_reminders(now=at(2026, 3, 2, 16, 24))) == 1
    assert len(services.send_sla_reminders(now=at(2026, 3, 3, 8, 31))) == 1
    assert services.send_sla_reminders(now=at(2026, 3, 4, 8, 0)) == []
    assert notices(ticket) == [("sla_due_soon", "first_response", None), ("sla_breached", "first_response", None),
                               ("sla_due_soon", "resolution", None), ("sla_breached", "resolution", None)]
    assert notices(waiting) == []  # answered at once, then paused
    # In the request's history, by the hub itself (no actor).
    with time_machine.travel(at(2026, 3, 4, 8, 0), tick=False):
        history = api_client(people.ht_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()["history"]
    breach = next(e for e in history if e["kind"] == "sla_breached")
    assert breach["actor"] is None and breach["field"] == "first_response"


@pytest.mark.django_db
def test_a_due_time_moved_on_is_reminded_of_again(people, new_ticket):
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        ticket = new_ticket(priority="urgent")
    assert len(services.send_sla_reminders(now=at(2026, 3, 2, 9, 1))) == 1  # first response breached
    with time_machine.travel(at(2026, 3, 2, 9, 2), tick=False):
        # High: 240 minutes, due 14:00 (80 %: 11:12) — no longer breached.
        services.update_ticket(ticket, by=people.ht_engineer, changes={"priority": "high"})
    assert services.send_sla_reminders(now=at(2026, 3, 2, 9, 3)) == []
    assert [line.split(": ")[1] for line in services.send_sla_reminders(now=at(2026, 3, 2, 11, 12))] == [
        "first_response due_soon (due 2026-03-02T07:00:00.000Z)"]
    assert [line.split(": ")[1] for line in services.send_sla_reminders(now=at(2026, 3, 2, 14, 1))] == [
        "first_response breached (due 2026-03-02T07:00:00.000Z)"]


@pytest.mark.django_db(transaction=True)
async def test_the_notice_reaches_the_target_centre_and_the_requester_and_nobody_else(people, new_ticket):
    ticket = await sync_to_async(new_ticket)(priority="urgent")
    requester, dn, ht_colleague, qb = await sockets(people.ht_engineer, people.dn_security, people.ht_manager,
                                                    people.qb_engineer)
    await sync_to_async(services.send_sla_reminders)(now=ticket.first_response_due)  # 80 % long past, not due
    for socket in (requester, dn):
        frame = await socket.receive_json_from(timeout=5)
        assert (frame["type"], frame["event"], frame["clock"]) == ("ticket.sla", "due_soon", "first_response")
        assert frame["ticket"]["sla"]["first_response_due"] == frame["due"]
        assert frame["entry"]["kind"] == "sla_due_soon" and frame["entry"]["actor"] is None
    assert await ht_colleague.receive_nothing(timeout=0.5)  # the requester, not their whole centre
    assert await qb.receive_nothing(timeout=0.2)
    await close(requester, dn, ht_colleague, qb)


# --- PostgreSQL: at the same moment, from threads and from two worker processes ---------------------------


def _postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_eight_watchers_at_the_same_moment_send_each_notice_once(people, new_ticket):
    _postgres()
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        tickets = [new_ticket(priority="urgent", title=f"Yêu cầu {i}") for i in range(5)]
    barrier = threading.Barrier(8)
    sent: list[list[str]] = []

    def watch() -> None:
        try:
            barrier.wait(10)
            sent.append(services.send_sla_reminders(now=at(2026, 3, 3, 9, 0)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=watch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    lines = [line for batch in sent for line in batch]
    # Each ticket: both clocks breached (no "due soon" for a clock found already breached).
    assert len(lines) == len(set(lines)) == 10
    for ticket in tickets:
        assert notices(ticket) == [("sla_breached", "first_response", None), ("sla_breached", "resolution", None)]
    assert SlaReminder.objects.count() == 10


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_send_each_notice_once(people, new_ticket):
    """docker-compose's `worker` twice (`manage.py run_worker`), against one PostgreSQL database, with
    requests falling due while they run."""
    _postgres()
    tickets = [new_ticket(priority="urgent", title=f"Yêu cầu {i}") for i in range(6)]
    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1",
               HUB_TICKET_SLA_WATCH_SECONDS="0.2", REDIS_URL="")
    env.pop("TEST_DB_NAME", None)
    workers = [subprocess.Popen([sys.executable, "manage.py", "run_worker", "--interval", "0.05"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        time.sleep(4)  # both polling
        # Now they fall due, one after another, while both workers watch.
        for ticket in tickets:
            Ticket.objects.filter(pk=ticket.pk).update(
                first_response_due=ticket.created_at, sla_response_soon_at=ticket.created_at)
            time.sleep(0.15)
        deadline = time.monotonic() + 20
        while SlaReminder.objects.count() < len(tickets) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # and a few more periods in which nothing may be sent again
    finally:
        for worker in workers:
            worker.terminate()
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    assert all("requests.sla" in output for output in outputs), outputs  # both run the watch
    for ticket in tickets:
        assert notices(ticket) == [("sla_breached", "first_response", None)], outputs
    lines = [line for output in outputs for line in output.splitlines() if "first_response breached" in line]
    assert len(lines) == len(tickets), outputs

"""`seed_demo --history`: a realistic, idempotent year of requests in every status."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from requests.models import Status, Ticket, TicketEvent
from requests.workflow import move_for

pytestmark = pytest.mark.django_db


def seed_history():
    call_command("seed_demo", "--history", stdout=open("/dev/null", "w"))


def test_history_covers_every_status_and_is_idempotent(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_history()
    count = Ticket.objects.count()
    assert count >= 80
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    # Some were asked of "any centre" and taken by the first centre to accept.
    assert Ticket.objects.filter(events__kind="field", events__field="target_centre").exists()
    references = list(Ticket.objects.values_list("reference", flat=True))
    assert len(set(references)) == len(references)
    seed_history()
    assert Ticket.objects.count() == count
    assert sorted(Ticket.objects.values_list("reference", flat=True)) == sorted(references)


def test_every_demo_ticket_followed_the_state_machine(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_history()
    for ticket in Ticket.objects.prefetch_related("events"):
        status = "new"
        for event in ticket.events.all():
            if event.kind == TicketEvent.Kind.TRANSITION:
                assert event.before == status and move_for(status, str(event.after)) is not None, ticket.reference
                status = str(event.after)
            if event.kind == TicketEvent.Kind.MERGED:  # not a move of the table: the merge's own line
                assert isinstance(event.after, dict) and event.before == status
                assert ticket.merged_into_id == event.after["ticket"]
                status = Status.MERGED
            assert event.created_at >= ticket.created_at
        assert status == ticket.status, ticket.reference
        assert ticket.thread is not None and ticket.thread.kind == "ticket"
        # Vietnamese titles, and the search text that finds them without accents.
        assert ticket.search_text and ticket.reference.lower() in ticket.search_text


def test_without_history_no_tickets_are_made(seeded):
    assert Ticket.objects.count() == 0


def test_the_demo_has_request_templates_and_a_merged_duplicate(settings):
    from requests.models import TicketTemplate

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_history()
    exam = TicketTemplate.objects.get(name="Đăng ký thi chứng chỉ")
    assert exam.centre.code == "DN" and len(exam.checklist) == 4 and "{centre}" in exam.title
    duplicate = Ticket.objects.get(status=Status.MERGED)
    assert duplicate.merged_into is not None and duplicate.merged_into.status != Status.MERGED
    assert duplicate.merged_into.events.filter(kind="merged_from", after__ticket=duplicate.pk).exists()
    seed_history()
    assert TicketTemplate.objects.filter(name="Đăng ký thi chứng chỉ").count() == 1
    assert Ticket.objects.filter(status=Status.MERGED).count() == 1


def test_the_demo_requests_have_a_realistic_mix_of_service_levels(settings):
    """Open requests mostly in time, some paused waiting for the requester, one breached — not a wall
    of overdue requests; finished ones over the year, some met and some late."""
    from django.utils import timezone

    from requests.models import OPEN_STATUSES
    from requests.sla import is_breached, sla_out

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_history()
    now = timezone.now()
    still_open = [t for t in Ticket.objects.filter(status__in=OPEN_STATUSES).exclude(status=Status.RESOLVED)]
    late = [t for t in still_open if is_breached(t, now)]
    paused = [t for t in still_open if sla_out(t, now)["paused"]]
    assert len(still_open) >= 10
    assert [t.priority for t in late] == ["urgent"], [(t.reference, t.status) for t in late]
    assert len(paused) >= 2
    assert len(still_open) - len(late) - len(paused) >= 6  # running, in time
    assert Ticket.objects.filter(overdue_filter(now)).count() == 1
    finished = Ticket.objects.filter(status=Status.CLOSED)
    assert {is_breached(t, now) for t in finished} == {True, False}  # a year of history: met and late


def overdue_filter(now):
    from requests.sla import overdue_q

    return overdue_q(now)

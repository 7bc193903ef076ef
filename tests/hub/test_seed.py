"""`seed_demo` creates the MOU's centres and people, prints them, and can run any number of times."""

from io import StringIO

import pytest
from django.core.management import call_command

from hub.models import Centre, User

CONTRACT_CODES = {"TH", "NA", "HT", "QB", "QT", "DN", "HUE", "QNA", "PY", "KT", "DLK", "DNO", "HCM", "VNPT", "NIA"}


def run_seed(**kwargs) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **kwargs)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_creates_every_contract_centre_and_three_people_each():
    output = run_seed()
    assert set(Centre.objects.values_list("code", flat=True)) == CONTRACT_CODES
    assert Centre.objects.get(code="VNPT").kind == "partner"
    assert Centre.objects.get(code="HUE").name_vi.endswith("Thừa Thiên Huế")
    for code in CONTRACT_CODES:
        for suffix, role in [("engineer", "engineer"), ("security", "security_officer"), ("manager", "manager")]:
            user = User.objects.get(username=f"{code.lower()}.{suffix}")
            assert user.centre is not None and user.centre.code == code and user.role == role
            assert f"{code.lower()}.{suffix}" in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_hub_admin
    assert "Demo password: hub-demo-2026" in output


@pytest.mark.django_db
def test_seed_is_idempotent_and_keeps_changed_passwords():
    run_seed()
    user = User.objects.get(username="ht.engineer")
    user.set_password("changed-by-the-user")
    user.save()
    counts = (Centre.objects.count(), User.objects.count())
    run_seed()
    run_seed()
    assert (Centre.objects.count(), User.objects.count()) == counts
    assert User.objects.get(username="ht.engineer").check_password("changed-by-the-user")


@pytest.mark.django_db
def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "mật-khẩu-thử")
    output = run_seed()
    assert "Demo password: mật-khẩu-thử" in output
    assert User.objects.get(username="dn.security").check_password("mật-khẩu-thử")


def week_of_work() -> dict:
    """What every screen shows after `seed_demo --history`, counted."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from alerts.models import Acknowledgement, Alert
    from alerts.selectors import recipient_centres
    from chat.models import Message, Pin, Reaction, Topic
    from duty.models import Shift
    from events.models import Event
    from requests.models import OPEN_STATUSES, Ticket
    from requests.sla import is_breached, sla_out

    now = timezone.now()
    partial = 0
    for alert in Alert.objects.filter(status="open"):
        acked = Acknowledgement.objects.filter(alert=alert).count()
        partial += 0 < acked < recipient_centres(alert).count()
    open_tickets = list(Ticket.objects.filter(status__in=OPEN_STATUSES).exclude(status="resolved"))
    paused = [t for t in open_tickets if sla_out(t, now)["paused"]]
    breached = [t for t in open_tickets if is_breached(t, now)]
    channels = Message.objects.filter(topic__kind=Topic.Kind.CHANNEL)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    rostered = {timezone.localdate(s.starts_at) for s in Shift.objects.filter(centre__code="DN")}
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return {
        "open alerts partly acknowledged": partial,
        "request statuses": sorted(set(Ticket.objects.values_list("status", flat=True))),
        "open requests in time": len(open_tickets) - len(paused) - len(breached),
        "paused": len(paused),
        "breached": len(breached),
        "channels with messages": Topic.objects.filter(kind=Topic.Kind.CHANNEL).annotate(
            n=Count("messages")).filter(n__gt=0).count(),
        "days of conversation": len({timezone.localdate(t) for t in channels.values_list("created_at", flat=True)}),
        "threads": channels.filter(reply_count__gt=0).count(),
        "replies": channels.filter(thread_root__isnull=False).count(),
        "reactions": Reaction.objects.count(),
        "pins": Pin.objects.count(),
        "direct messages": Message.objects.filter(topic__kind=Topic.Kind.DIRECT).count(),
        "DN rostered this week": all(monday + timedelta(days=d) in rostered for d in range(7)),
        "on duty now": Shift.objects.filter(starts_at__lte=now, ends_at__gt=now).count(),
        "confirmed now": Shift.objects.filter(starts_at__lte=now, ends_at__gt=now, confirmed_at__isnull=False).count(),
        "events next month": Event.objects.filter(starts_at__year=next_month.year,
                                                  starts_at__month=next_month.month).count(),
        "messages": Message.objects.count(),
        "alerts": Alert.objects.count(),
        "requests": Ticket.objects.count(),
    }


@pytest.mark.django_db
def test_the_demo_history_looks_like_a_week_of_work_and_seeds_twice(settings):
    """Issue 23: every screen of `make run` looks like a real week of work — open alerts partly
    acknowledged, requests in every state (in time, paused, one breached), a few days of conversation
    with threads, reactions and pins, a direct conversation, this week's roster, next month's event —
    and running the command again changes nothing."""
    from requests.models import Status

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    run_seed(history=True)
    first = week_of_work()
    assert first["open alerts partly acknowledged"] >= 3
    assert first["request statuses"] == sorted(Status.values)
    assert first["open requests in time"] >= 6 and first["paused"] >= 2 and first["breached"] == 1
    assert first["channels with messages"] == 5 and first["days of conversation"] >= 4
    assert first["threads"] >= 5 and first["replies"] >= 10
    assert first["reactions"] >= 15 and first["pins"] >= 3
    assert first["direct messages"] >= 4
    assert first["DN rostered this week"] and first["on duty now"] >= 2
    assert 0 < first["confirmed now"] < first["on duty now"]  # some confirmed, some not yet
    assert first["events next month"] >= 1
    run_seed(history=True)
    assert week_of_work() == first

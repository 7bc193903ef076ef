"""A raised alert's notifications are written outside the request (issue 27, target 3).

The raise commits the alert, its timeline, its live frame and ONE outbox row (`AlertNotice`); the
job `notify.alerts` expands the row into the readers' notifications, the email outbox rows and the
webhook deliveries within seconds — in the server's own job thread (`make run`) or in `run_worker`
— deciding the readers then, from their rights at that moment, and exactly once whoever runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.db import connection

from alerts.services import raise_alert
from hub.models import Role
from notify.models import AlertNotice, Channel, Email, Notification, Preference, WebhookDelivery
from notify.services import expand_alert_notices
from notify.webhooks import register_webhook
from tests.alerts.conftest import alert_payload
from tests.live import ROOT, database_url_of_test_db

pytestmark = pytest.mark.django_db(transaction=True)


def readers_of(alert) -> dict[str, str]:
    return dict(Notification.objects.filter(alert=alert).values_list("user__username", "channel"))


def test_the_raise_writes_one_notice_and_the_expansion_the_readers_rows_once(cast, settings):
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    register_webhook(user=cast.dn_manager, url="http://127.0.0.1:9/hook", events=["alert"],
                     secret="at-least-16-characters")
    alert = raise_alert(by=cast.ht_security, **alert_payload(severity="high", tlp="green"))
    notice = AlertNotice.objects.get()
    assert (notice.alert_id, notice.expanded_at) == (alert.pk, None)
    # Nothing per reader in the request: no notification, no email, no webhook delivery.
    assert not Notification.objects.exists() and not Email.objects.exists()
    assert not WebhookDelivery.objects.exists()

    assert expand_alert_notices() == 1
    assert readers_of(alert) == {"dn.security": "email", "dn.manager": "browser", "dn.engineer": "browser",
                                 "ht.manager": "browser", "ht.engineer": "browser", "qb.manager": "browser",
                                 "admin": "browser"}
    assert set(Email.objects.values_list("user__username", flat=True)) == {"dn.security"}
    assert WebhookDelivery.objects.get().event == "alert.raised"
    notice.refresh_from_db()
    assert notice.expanded_at is not None and notice.notified == 7
    # The notification is dated when the alert was raised, not when it was written.
    assert set(Notification.objects.values_list("created_at", flat=True)) == {alert.created_at}

    rows = (Notification.objects.count(), Email.objects.count(), WebhookDelivery.objects.count())
    assert expand_alert_notices() == 0  # once: a second pass finds nothing pending
    assert (Notification.objects.count(), Email.objects.count(), WebhookDelivery.objects.count()) == rows


def test_authorisation_is_decided_at_delivery_not_at_the_raise(cast):
    """A person demoted (or deactivated) between the raise and the expansion gets nothing; one who
    gained the right meanwhile is told."""
    alert = raise_alert(by=cast.ht_security, **alert_payload(severity="high", tlp="amber"))
    cast.dn_security.role = Role.ENGINEER  # no longer in TLP:AMBER's audience
    cast.dn_security.save()
    cast.qb_manager.is_active = False
    cast.qb_manager.save()
    cast.dn_engineer.role = Role.SECURITY_OFFICER  # now in it, with a security officer's defaults
    cast.dn_engineer.save()
    expand_alert_notices()
    assert readers_of(alert) == {"dn.engineer": "email", "dn.manager": "browser", "ht.manager": "browser",
                                 "admin": "browser"}
    assert list(Email.objects.values_list("user__username", flat=True)) == ["dn.engineer"]


def test_one_pass_expands_a_burst_and_each_alert_keeps_its_own_audience(cast):
    Preference.objects.create(user=cast.dn_manager, kind="alert_medium", channel=Channel.BROWSER)
    public = raise_alert(by=cast.ht_security, **alert_payload(severity="medium", tlp="clear", title="một"))
    red = raise_alert(by=cast.ht_security, **alert_payload(severity="critical", tlp="red", shared_with=["DN"],
                                                           title="hai"))
    other_raiser = raise_alert(by=cast.dn_security, **alert_payload(severity="medium", tlp="green", title="ba"))
    assert expand_alert_notices() == 3
    # medium: security officers' browser, DN's manager chose browser; the raiser never.
    assert readers_of(public) == {"dn.security": "browser", "dn.manager": "browser"}
    assert readers_of(other_raiser) == {"ht.security": "browser", "dn.manager": "browser"}
    # red, shared with DN: HT and DN only; critical: security officers by email, the rest browser.
    assert readers_of(red) == {"dn.security": "email", "dn.manager": "browser", "dn.engineer": "browser",
                               "ht.manager": "browser", "ht.engineer": "browser", "admin": "browser"}


def test_a_burst_is_expanded_in_slices_and_the_other_due_jobs_run_between_them(cast, settings):
    """`notify.alerts` expands for HUB_ALERT_NOTIFY_SLICE_SECONDS at a time, makes itself due again and
    has its runner tick again at once (hub.jobs.again): the jobs due meanwhile run between the slices
    instead of waiting behind the whole burst (issue 27), and nothing waits for the next tick."""
    from hub import jobs

    for n in range(4):
        raise_alert(by=cast.ht_security, **alert_payload(severity="medium", tlp="clear", title=f"đợt {n}"))
    settings.HUB_ALERT_NOTIFY_SLICE_SECONDS = 0  # one notice a slice
    jobs.autodiscover()
    seen: list[int] = []  # notices expanded when the other job ran
    jobs.register("notify.zz_probe", lambda now: seen.append(
        AlertNotice.objects.filter(expanded_at__isnull=False).count()), every=0.001)
    runner = jobs.Runner(tick=60)
    try:
        runner.run_once()
        ticks = 1
        while runner.woken.is_set() and ticks < 20:  # what run_forever does when woken
            runner.woken.clear()
            runner.run_once()
            ticks += 1
    finally:
        jobs._REGISTRY.pop("notify.zz_probe")
    assert not AlertNotice.objects.filter(expanded_at__isnull=True).exists()
    assert seen[:4] == [1, 2, 3, 4] and ticks == 4
    assert Notification.objects.filter(user=cast.dn_security).count() == 4  # each once


def test_a_notice_another_process_claimed_is_not_written_twice(cast):
    """The claim is the conditional UPDATE inside the notice's own transaction: a pass that read the
    notice as pending, and finds it expanded when it claims it, writes nothing."""
    from notify.services import _expand_one, _PassReads

    alert = raise_alert(by=cast.ht_security, **alert_payload(severity="critical", tlp="green"))
    notice = AlertNotice.objects.get()
    from django.utils import timezone

    assert _expand_one(notice.pk, alert, _PassReads(timezone.now())) is not None
    assert _expand_one(notice.pk, alert, _PassReads(timezone.now())) is None
    assert Notification.objects.filter(user=cast.dn_security).count() == 1
    assert Email.objects.filter(user=cast.dn_security).count() == 1


@pytest.mark.services
def test_on_postgresql_concurrent_passes_expand_each_notice_once(cast):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass")
    alerts = [raise_alert(by=cast.ht_security, **alert_payload(severity="critical", tlp="green", title=f"#{i}"))
              for i in range(6)]
    barrier = threading.Barrier(4)
    expanded: list[int] = []

    def contend() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            expanded.append(expand_alert_notices())
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=contend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(expanded) == len(alerts)
    for alert in alerts:
        assert Notification.objects.filter(alert=alert, user=cast.dn_security).count() == 1
        assert Email.objects.filter(alert=alert, user=cast.dn_security).count() == 1


# --- real processes ----------------------------------------------------------------------------------


@pytest.mark.services
def test_two_worker_processes_expand_every_raised_alert_once_within_seconds(cast, tmp_path):
    """docker-compose's `worker`, twice, against one PostgreSQL database (as tests/hub/test_jobs.py
    runs two): alerts raised while they run are expanded within seconds, each exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip("two processes share the PostgreSQL test database")
    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1",
               HUB_ALERT_NOTIFY_SECONDS="0.2", DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    env.pop("TEST_DB_NAME", None)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "manage.py", "run_worker", "--interval", "0.1"], cwd=ROOT, env=env,
                                stdout=open(log, "w"), stderr=subprocess.STDOUT) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while not all("run_worker: jobs" in log.read_text() for log in logs):  # both started
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers), \
                "\n".join(log.read_text() for log in logs)
            time.sleep(0.1)
        raised = []
        for i in range(8):
            raised.append(raise_alert(by=cast.ht_security, **alert_payload(severity="high", tlp="green",
                                                                            title=f"Đợt {i}")))
            time.sleep(0.15)
        deadline = time.monotonic() + 20
        while AlertNotice.objects.filter(expanded_at__isnull=True).exists():
            assert time.monotonic() < deadline, "\n".join(log.read_text() for log in logs)
            time.sleep(0.1)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    output = "\n".join(log.read_text() for log in logs)
    for alert in raised:
        assert readers_of(alert)["dn.security"] == "email"
        assert Notification.objects.filter(alert=alert).count() == 7
        assert Email.objects.filter(alert=alert).count() == 1
        notice = AlertNotice.objects.get(alert=alert)
        # Within seconds of the raise (the tick is 0.1 s, the job's period 0.2 s).
        assert notice.expanded_at is not None and (notice.expanded_at - notice.created_at).total_seconds() < 5
    assert "alert notices: expanded" in output


@pytest.mark.services
async def test_the_served_hub_expands_by_itself_and_each_socket_hears_the_alert_once(cast, tmp_path):
    """`make run`'s set-up: one daphne process, the in-memory layer, no worker; the jobs' tick made
    30 s, so that only the raise's wake can be quick. The alert's frame reaches an open socket at
    once; the raise wakes the server's job thread, which writes the notifications about a second
    later (not at the next tick); and the socket hears of the alert once — the expansion sends no
    frame of its own."""
    from asgiref.sync import sync_to_async
    from websockets.asyncio.client import connect

    from hub.models import WsTicket
    from tests.conftest import token_for
    from tests.live import start_hub

    if connection.vendor != "postgresql":
        pytest.skip("the server process shares the PostgreSQL test database")
    hub = await asyncio.to_thread(start_hub, "daphne", {"REDIS_URL": "", "HUB_JOBS_TICK_SECONDS": "30"}, tmp_path)
    try:
        ticket = await sync_to_async(WsTicket.issue)(cast.dn_security)
        token = await sync_to_async(token_for)(cast.ht_security)
        async with connect(f"{hub.ws}/ws/notifications/?ticket={ticket}") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await asyncio.sleep(1)  # the jobs' first tick (at start) is over: the next is 30 s away

            def post() -> int:
                import urllib.request

                request = urllib.request.Request(
                    f"{hub.http}/api/v1/alerts", data=json.dumps(alert_payload(severity="high", tlp="clear")).encode(),
                    method="POST", headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return json.load(answer)["id"]

            started = time.monotonic()
            alert_id = await asyncio.to_thread(post)
            frames = []
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                if frame["type"] == "alert":
                    frames.append(frame)
                    break
            assert (frames[0]["event"], frames[0]["alert"]["id"]) == ("raised", alert_id)

            def expanded() -> bool:
                return Notification.objects.filter(alert_id=alert_id, user=cast.dn_security).exists()

            while not await sync_to_async(expanded)():
                assert time.monotonic() - started < 10, hub.log()  # long before the next tick
                await asyncio.sleep(0.1)
            try:  # nothing more about this alert reaches the socket
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=1.5))
                    if frame["type"] == "alert":
                        frames.append(frame)
            except TimeoutError:
                pass
        assert [f["event"] for f in frames] == ["raised"]
        notes = await sync_to_async(lambda: list(Notification.objects.filter(alert_id=alert_id)
                                                 .values_list("user__username", flat=True)))()
        assert sorted(notes) == ["admin", "dn.engineer", "dn.manager", "dn.security", "ht.engineer", "ht.manager",
                                 "qb.manager"]
    finally:
        await asyncio.to_thread(hub.stop)

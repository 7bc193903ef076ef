"""Duty and escalation across processes (issue 22 "Done means": two web processes and the worker, on
PostgreSQL and Redis), in the style of tests/security/test_multi_process.py: daphne and uvicorn serve
the hub over one Redis; the periodic jobs run only in `manage.py run_worker` processes (two of them,
as a deployment that scaled the worker would), not in the servers.

- A heartbeat confirmed over HTTP on one process (daphne) reaches the notification sockets on both,
  within a second.
- An escalation step made by a worker reaches the deputy's sockets on both processes, each exactly
  once, and is recorded once, however many workers looked."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from typing import IO

import pytest
from django.conf import settings
from django.utils import timezone
from websockets.asyncio.client import connect

from tests.live import ROOT, database_url_of_test_db, start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WITHIN = 1.0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _env() -> dict:
    return {"REDIS_URL": settings.REDIS_URL, "HUB_CHANNEL_PREFIX": settings.CHANNEL_LAYER_PREFIX,
            "HUB_JOBS_IN_SERVER": "0",  # the jobs are the workers' here
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def hubs(tmp_path):
    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    servers = [start_hub("daphne", _env(), tmp_path), start_hub("uvicorn", _env(), tmp_path)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def workers(tmp_path):
    """`workers(n)` starts n `manage.py run_worker` processes; all are stopped (SIGTERM) at the end."""
    started: list[tuple[subprocess.Popen, IO[str]]] = []

    def start(n: int) -> list[subprocess.Popen]:
        env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1",
                   **_env())
        env.pop("TEST_DB_NAME", None)
        for i in range(n):
            log = open(tmp_path / f"worker-{i}.log", "w")
            started.append((subprocess.Popen([sys.executable, "manage.py", "run_worker", "--interval", "0.1"],
                                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        return [process for process, _log in started]

    yield start
    for process, log in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture
def cast(make_user):
    from duty.services import create_shift
    from hub.models import Centre

    people = {
        "ht_security": make_user("ht.security", centre="HT", role="security_officer"),
        "qb_manager": make_user("qb.manager", centre="QB", role="manager"),
        "qb_officer": make_user("qb.officer", centre="QB", role="security_officer"),
        "qb_deputy": make_user("qb.deputy", centre="QB", role="security_officer"),
        "dn_engineer": make_user("dn.engineer", centre="DN"),
    }
    now = timezone.now()
    create_shift(Centre.objects.get(code="QB"), by=people["qb_manager"], starts_at=now - timedelta(hours=1),
                 ends_at=now + timedelta(hours=8), officer="qb.officer", deputy="qb.deputy")
    return people


def ticket(user) -> str:
    from hub.models import WsTicket

    return WsTicket.issue(user)


async def frames_until(socket, wanted, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic())))
        if wanted(frame):
            return frame


async def count_more(socket, wanted, quiet: float) -> int:
    """How many more frames `wanted` accepts arrive within `quiet` seconds."""
    found = 0
    deadline = time.monotonic() + quiet
    try:
        while (left := deadline - time.monotonic()) > 0:
            if wanted(json.loads(await asyncio.wait_for(socket.recv(), left))):
                found += 1
    except TimeoutError:
        pass
    return found


def confirm_over_http(hub, token: str) -> dict:
    request = urllib.request.Request(hub.http + "/api/v1/duty/confirm", data=b"", method="POST",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_a_heartbeat_on_one_process_and_a_workers_escalation_reach_sockets_on_both(hubs, workers, cast):
    from alerts.models import Alert, Escalation
    from alerts.services import raise_alert
    from tests.conftest import token_for

    daphne, uvicorn = hubs
    # A critical RED alert for QB, raised six minutes ago: its first step (5 minutes) is due.
    alert = raise_alert(by=cast["ht_security"], title="Mã độc tống tiền", severity="critical", tlp="red",
                        shared_with=["QB"])
    Alert.objects.filter(pk=alert.pk).update(created_at=alert.created_at - timedelta(minutes=6))
    observer = [(hub, ticket(cast["dn_engineer"])) for hub in hubs]
    deputy = [(hub, ticket(cast["qb_deputy"])) for hub in hubs]
    token = token_for(cast["qb_officer"])

    def is_confirmed(frame: dict) -> bool:
        return frame["type"] == "duty" and frame["event"] == "confirmed" and frame["duty"]["centre"] == "QB"

    def is_escalation(frame: dict) -> bool:
        return frame["type"] == "alert" and frame["event"] == "escalated" and frame["alert"]["id"] == alert.pk

    async def scenario():
        streams = [await connect(f"{hub.ws}/ws/notifications/?ticket={t}") for hub, t in observer + deputy]
        for socket in streams:
            assert json.loads(await socket.recv())["type"] == "hello"
        # The heartbeat, served by daphne: the observers on daphne and uvicorn see QB confirmed.
        started = time.monotonic()
        answer = await asyncio.to_thread(confirm_over_http, daphne, token)
        confirmed = [await frames_until(socket, is_confirmed, WITHIN) for socket in streams[:2]]
        elapsed = time.monotonic() - started
        # The workers: one of them escalates; the deputy's socket on each process hears it once.
        await asyncio.to_thread(workers, 2)
        escalated = [await frames_until(socket, is_escalation, 60) for socket in streams[2:]]
        again = [await count_more(socket, is_escalation, 3) for socket in streams[2:]]
        for socket in streams:
            await socket.close()
        return answer, confirmed, elapsed, escalated, again

    answer, confirmed, elapsed, escalated, again = asyncio.run(scenario())
    assert answer["state"] == "confirmed" and answer["on_duty"]["username"] == "qb.officer"
    assert [f["duty"]["on_duty"]["username"] for f in confirmed] == ["qb.officer", "qb.officer"]
    assert elapsed < WITHIN + 1  # the HTTP round trip and both deliveries
    assert [(f["escalation"]["centre"], f["escalation"]["step"]) for f in escalated] == [("QB", 1), ("QB", 1)]
    assert escalated[0] == escalated[1]  # one publication, fanned out by each process
    assert again == [0, 0]  # exactly once on each process
    assert list(Escalation.objects.filter(alert=alert).values_list("centre__code", "step")) == [("QB", 1)]


def post_over_http(hub, token: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(hub.http + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.loads(response.read())


def test_an_event_made_on_one_process_and_its_reminder_from_the_workers_reach_both(hubs, workers, cast):
    """The events calendar across processes: an event put on the calendar through uvicorn redraws a
    calendar open on daphne and on uvicorn; the reminder of a registrant, sent by one of two workers,
    reaches the registrant's sockets on both processes once, with one outbox email."""
    from events.services import register
    from notify.models import Email
    from tests.conftest import token_for

    daphne, uvicorn = hubs
    type(cast["qb_deputy"]).objects.filter(pk=cast["qb_deputy"].pk).update(email="qb.deputy@qb.example.vn")
    starts = timezone.now() + timedelta(hours=2)  # inside HUB_EVENT_REMIND_HOURS (24)
    observer = [(hub, ticket(cast["dn_engineer"])) for hub in hubs]
    registrant = [(hub, ticket(cast["qb_deputy"])) for hub in hubs]
    organiser = token_for(cast["qb_manager"])

    def is_created(frame: dict) -> bool:
        return frame["type"] == "event.changed" and frame["event"] == "created"

    async def scenario():
        streams = [await connect(f"{hub.ws}/ws/notifications/?ticket={t}") for hub, t in observer + registrant]
        for socket in streams:
            assert json.loads(await socket.recv())["type"] == "hello"
        made = await asyncio.to_thread(post_over_http, uvicorn, organiser, "/api/v1/events", {
            "title": "Hội thảo an toàn thông tin", "kind": "workshop", "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=3)).isoformat(), "place": "Đồng Hới"})
        created = [await frames_until(socket, is_created, 5) for socket in streams[:2]]
        from events.models import Event

        await asyncio.to_thread(lambda: register(Event.objects.get(pk=made["id"]), by=cast["qb_deputy"]))

        def is_reminder(frame: dict) -> bool:
            return frame["type"] == "event" and frame["event"] == "reminder" and frame["item"]["id"] == made["id"]

        await asyncio.to_thread(workers, 2)
        reminded = [await frames_until(socket, is_reminder, 60) for socket in streams[2:]]
        again = [await count_more(socket, is_reminder, 3) for socket in streams[2:]]
        for socket in streams:
            await socket.close()
        return made, created, reminded, again

    made, created, reminded, again = asyncio.run(scenario())
    assert [f["item"]["id"] for f in created] == [made["id"], made["id"]]
    assert reminded[0] == reminded[1]  # one publication, fanned out by each process
    assert again == [0, 0]  # exactly once on each process, however many workers looked
    assert Email.objects.filter(user=cast["qb_deputy"], type="event").count() == 1

"""Live delivery: an alert raised over HTTP reaches two connected centres at once over a real channel
layer (in-memory in the first pass, Redis in the second), and the same through real server processes."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from alerts.models import Alert, Escalation
from hub.models import WsTicket
from tests.alerts.conftest import alert_payload, listen, next_alert_frame
from tests.conftest import token_for
from tests.live import ROOT, database_url_of_test_db, start_hub
from tests.services import require


@pytest.mark.django_db(transaction=True)
async def test_an_alert_raised_over_http_reaches_two_connected_centres(cast, api_client):
    da_nang, quang_binh = await listen(cast.dn_manager), await listen(cast.qb_engineer)
    try:
        client = await sync_to_async(api_client)(cast.ht_security)
        response = await sync_to_async(client.post)(
            "/api/v1/alerts", alert_payload(tlp="green"), content_type="application/json")
        assert response.status_code == 201
        created = response.json()
        frames = [await next_alert_frame(da_nang), await next_alert_frame(quang_binh)]
        for frame in frames:
            assert frame["event"] == "raised"
            assert frame["alert"]["id"] == created["id"]
            assert frame["alert"]["title"] == created["title"]
            assert frame["alert"]["indicators"] == created["indicators"]
        assert frames[0] == frames[1]  # encoded once, the same bytes for every recipient
    finally:
        await da_nang.disconnect()
        await quang_binh.disconnect()


# --- real server processes (second pass: PostgreSQL + Redis) ------------------------------------

@pytest.fixture
def redis_url():
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    return settings.REDIS_URL


def http_post(url: str, token: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


async def next_alert(ws) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] == "alert":
            return frame


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_a_served_hub_delivers_an_amber_alert_to_two_centres_and_not_to_an_engineer(
    server, redis_url, cast, tmp_path
):
    from websockets.asyncio.client import connect

    hub = await asyncio.to_thread(start_hub, server, {"REDIS_URL": redis_url}, tmp_path)
    try:
        token = await sync_to_async(token_for)(cast.ht_security)
        people = [cast.dn_security, cast.qb_manager, cast.qb_engineer]
        tickets = [await sync_to_async(WsTicket.issue)(p) for p in people]
        sockets = [await connect(f"{hub.ws}/ws/notifications/?ticket={t}") for t in tickets]
        try:
            for ws in sockets:
                assert json.loads(await ws.recv())["type"] == "hello"
            status, amber = await asyncio.to_thread(
                http_post, hub.http + "/api/v1/alerts", token, alert_payload(tlp="amber", severity="critical"))
            assert status == 201
            status, public = await asyncio.to_thread(
                http_post, hub.http + "/api/v1/alerts", token, alert_payload(tlp="clear", title="Bản tin công khai"))
            assert status == 201
            dn, qb, engineer = sockets
            for ws in (dn, qb):
                assert (await next_alert(ws))["alert"]["id"] == amber["id"]
                assert (await next_alert(ws))["alert"]["id"] == public["id"]
            # An engineer is outside TLP:AMBER: the first alert it hears of is the public one.
            assert (await next_alert(engineer))["alert"]["id"] == public["id"]
        finally:
            for ws in sockets:
                await ws.close()
    finally:
        await asyncio.to_thread(hub.stop)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_worker_process_escalates_and_stops_gracefully_on_sigterm(cast, tmp_path):
    from alerts.services import raise_alert

    alert = raise_alert(by=cast.ht_security, **alert_payload(severity="critical", tlp="red", shared_with=["QB"]))
    Alert.objects.filter(pk=alert.pk).update(created_at=alert.created_at - timedelta(minutes=6))
    env = dict(os.environ, DATABASE_URL=database_url_of_test_db(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1",
               DJANGO_EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    env.pop("TEST_DB_NAME", None)
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen([sys.executable, "manage.py", "run_worker", "--interval", "0.2"], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not Escalation.objects.filter(alert=alert).exists() and worker.poll() is None:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0, log_path.read_text()
        finally:
            if worker.poll() is None:
                worker.kill()
    output = log_path.read_text()
    assert f"escalated alert {alert.pk} to QB (step 1): qb.manager" in output
    assert "To: qb.manager@example.vn" in output  # the console email backend printed the email
    assert "run_worker: stopped" in output
    assert Escalation.objects.get(alert=alert).step == 1  # exactly once, however many passes ran

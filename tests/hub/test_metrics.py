"""`GET /metrics` (hub/metrics.py): what operators see of a running hub, and who may see it.

The live test runs a real uvicorn process on PostgreSQL + Redis (tests/live.py), holds a topic socket
open, posts messages over HTTP, and reads the Prometheus text before and after: the numbers must
move as the messages flow. The refusal tests use Django's test client (pass 1 and 2).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from tests.conftest import token_for
from tests.factories import TopicFactory
from tests.live import start_hub
from tests.services import require

METRICS_TOKEN = "metrics-test-token-0123456789"
SLUG = "giam-sat-van-hanh"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The exposition as {(sample name, sorted labels): value}, parsed by prometheus_client itself."""
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def total(values: dict, name: str, **labels: str) -> float:
    """The sum over every label set that includes `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in values.items() if n == name and wanted <= set(ls))


def scrape(base: str, token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(base + "/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def post(base: str, path: str, token: str, payload: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, data=json.dumps(payload or {}).encode(), method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


# --- who may read --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_metrics_refused_without_the_token_or_an_allowed_address(client, settings):
    settings.HUB_METRICS_TOKEN = METRICS_TOKEN
    settings.HUB_METRICS_ALLOW_FROM = []
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {METRICS_TOKEN}").status_code == 403
    answered = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert answered.status_code == 200
    assert answered["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE hub_ws_open_sockets gauge" in answered.content.decode()


@pytest.mark.django_db
def test_metrics_readable_from_a_configured_network_only(client, settings):
    import ipaddress

    settings.HUB_METRICS_TOKEN = ""
    settings.HUB_METRICS_ALLOW_FROM = [ipaddress.ip_network("10.1.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    # With nothing configured nobody reads them, not even from loopback.
    settings.HUB_METRICS_ALLOW_FROM = []
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_an_address_behind_an_untrusted_header_is_not_believed(client, settings):
    """X-Forwarded-For is ignored unless the deployment declares its proxies (hub/lib/client_ip.py)."""
    import ipaddress

    settings.HUB_METRICS_TOKEN = ""
    settings.HUB_TRUSTED_PROXIES = 0
    settings.HUB_METRICS_ALLOW_FROM = [ipaddress.ip_network("10.1.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403


# --- a live hub -------------------------------------------------------------------------------------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_scraped_numbers_move_when_messages_flow(make_user, tmp_path):
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    TopicFactory.create(slug=SLUG)
    user = make_user("dn.metrics", centre="DN")
    token = token_for(user)
    hub = start_hub("uvicorn", {"REDIS_URL": settings.REDIS_URL, "HUB_METRICS_TOKEN": METRICS_TOKEN}, tmp_path)
    try:
        assert scrape(hub.http, token=None)[0] == 403
        assert scrape(hub.http, token="not-the-token")[0] == 403
        status, text = scrape(hub.http)
        assert status == 200
        before = samples(text)

        async def flow() -> int:
            _status, ticket = await asyncio.to_thread(post, hub.http, "/api/v1/ws-tickets", token)
            async with connect(f"{hub.ws}/ws/topics/{SLUG}/?ticket={ticket['ticket']}") as socket:
                assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "presence"
                mid = samples(await asyncio.to_thread(lambda: scrape(hub.http)[1]))
                assert value(mid, "hub_ws_open_sockets", kind="topic") == 1
                for n in range(5):
                    await asyncio.to_thread(post, hub.http, f"/api/v1/topics/{SLUG}/messages", token,
                                            {"body": f"Tin nhắn giám sát số {n}"})
                await socket.send(json.dumps({"type": "typing"}))
                received = 0
                while received < 5:
                    frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    received += frame["type"] == "message"
                return received

        assert asyncio.run(flow()) == 5
        deadline = time.monotonic() + 10
        while True:  # the server hears of the close a moment after the client
            status, text = scrape(hub.http)
            after = samples(text)
            if value(after, "hub_ws_open_sockets", kind="topic") == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        hub.stop()

    assert status == 200
    assert value(after, "hub_ws_open_sockets", kind="topic") == 0  # the socket closed
    assert value(after, "hub_ws_connections_total", kind="topic") - value(before, "hub_ws_connections_total",
                                                                          kind="topic") == 1
    assert value(after, "hub_ws_frames_received_total", type="typing") >= 1
    # Five messages published and received back from Redis, each handed to the one socket.
    assert value(after, "hub_events_published_total") - value(before, "hub_events_published_total") >= 5
    assert value(after, "hub_ws_deliveries_total") - value(before, "hub_ws_deliveries_total") >= 5
    lag = "hub_publish_to_deliver_seconds"
    lag_count = value(after, f"{lag}_count") - value(before, f"{lag}_count")
    assert lag_count >= 5
    lag_sum = value(after, f"{lag}_sum") - value(before, f"{lag}_sum")
    assert 0 <= lag_sum < 5 * 10
    # The posts are counted under their route pattern, not their path.
    route = "api/v1/topics/<slug>/messages"
    posts = total(after, "hub_http_request_seconds_count", route=route, method="POST", status="2xx")
    assert posts == 5
    assert not any(SLUG in dict(labels).get("route", "") for (_name, labels) in after)
    # The pool and the queues are read at scrape time.
    assert value(after, "hub_db_pool_max") >= 1
    assert ("hub_worker_queue_depth", (("queue", "emails"),)) in after


# --- the monitoring profile ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_monitoring_profile_scrapes_every_web_process_and_its_dashboard_reads_real_metrics(client, settings):
    """docker-compose's `monitoring` profile (no Docker here: its files are checked against the hub):
    Prometheus finds every `web` replica and sends the token; every hub metric the Grafana dashboard
    queries is one the hub exports."""
    import re

    import yaml

    from tests.live import ROOT

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("prometheus", "grafana"):
        service = compose["services"][name]
        assert service["profiles"] == ["monitoring"]
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    scrape_config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape_config["metrics_path"] == "/metrics"
    assert scrape_config["authorization"]["type"] == "Bearer"
    assert scrape_config["dns_sd_configs"][0]["names"] == ["web"]
    assert "location = /metrics" in (ROOT / "deploy" / "nginx.conf").read_text()  # never public

    settings.HUB_METRICS_TOKEN = METRICS_TOKEN
    exported = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()
    families = set(re.findall(r"^# TYPE (\w+) ", exported, flags=re.M))
    families |= {name.removesuffix("_total") for name in families}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "hub-dashboard.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b(hub_\w+|process_\w+)", target["expr"])}
    assert queried
    pool = {"hub_db_pool_size", "hub_db_pool_available", "hub_db_pool_waiting", "hub_db_pool_max"}
    for name in queried:
        base = re.sub(r"_(bucket|count|sum|total)$", "", name)
        if name in pool and not settings.IS_POSTGRES:
            continue  # the pool exists on PostgreSQL only
        assert base in families or name in families, f"{name} is on the dashboard but not exported"

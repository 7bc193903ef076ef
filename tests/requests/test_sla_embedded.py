"""Issue 22 §3 on `make run`'s set-up: one server process, the embedded in-memory channel layer, no
worker started by anyone. The SLA watch runs inside the server by itself and its `ticket.sla` frame
reaches the requester's open socket; the server links to itself from HOST/PORT."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_server_sends_the_breach_notice_by_itself_on_the_in_memory_layer(tmp_path, people, new_ticket):
    from websockets.asyncio.client import connect

    from hub.models import WsTicket
    from requests.models import Ticket
    from tests.live import start_hub

    if connection.vendor != "postgresql":
        pytest.skip("the server process shares the PostgreSQL test database")
    hub = await asyncio.to_thread(start_hub, "daphne", {
        "REDIS_URL": "", "HUB_TICKET_SLA_WATCH_SECONDS": "0.5", "HUB_JOBS_TICK_SECONDS": "0.1",
    }, tmp_path)
    try:
        ws_ticket = await sync_to_async(WsTicket.issue)(people.ht_engineer)
        async with connect(f"{hub.ws}/ws/notifications/?ticket={ws_ticket}") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"

            def overdue_request():
                ticket = new_ticket(priority="urgent")
                long_ago = ticket.created_at - timedelta(days=30)
                Ticket.objects.filter(pk=ticket.pk).update(first_response_due=long_ago, sla_response_soon_at=long_ago)
                return ticket

            ticket = await sync_to_async(overdue_request)()
            deadline = time.monotonic() + 20
            while True:
                assert time.monotonic() < deadline, hub.log()
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                if frame["type"] == "ticket.sla":
                    break
        assert (frame["event"], frame["clock"], frame["ticket"]["id"]) == ("breached", "first_response", ticket.pk)
    finally:
        await asyncio.to_thread(hub.stop)


def test_make_run_serves_with_the_jobs_on_and_its_own_address_for_links(monkeypatch):
    """`make run` = `HOST=… PORT=… python -m hub.server.serve`: the served process runs the periodic
    jobs (HUB_JOBS_IN_SERVER) and links in notifications and emails use HOST/PORT (HUB_PUBLIC_URL)
    unless a public address is given."""
    from hub.server import serve

    started: list[list[str]] = []
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: started.append(argv))
    for name in ("HUB_PUBLIC_URL", "HUB_JOBS_IN_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8123")
    serve.main()
    assert os.environ["HUB_PUBLIC_URL"] == "http://127.0.0.1:8123"
    assert os.environ["HUB_JOBS_IN_SERVER"] == "1"
    assert started and "8123" in " ".join(started[0])
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example.vn")
    serve.main()
    assert os.environ["HUB_PUBLIC_URL"] == "https://hub.example.vn"

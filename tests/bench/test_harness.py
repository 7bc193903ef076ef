"""The benchmark harness itself (bench/): it must count every delivery, and count wrong ones.

These drive the real load generator (node `ws` workers) against real server processes on Redis, so
they run in the services pass. They assert counts, never speed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from bench.fanout import Phase, ensure_node_modules, measure
from bench.targets import Context, Target
from tests.services import redis_problem, require

pytestmark = pytest.mark.services

FAULTY = str(Path(__file__).with_name("faulty_server.py"))
CLIENTS = 5


def context(tmp_path: Path) -> Context:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require(redis_problem(url))
    require(None if shutil.which("node") else "node is not installed (the load generator needs it)")
    ensure_node_modules()
    return Context(redis_url=url, database_url="", log_dir=tmp_path)


async def run(target: Target, tmp_path: Path, burst: bool = False):
    return await measure(target, context(tmp_path), clients=CLIENTS, senders=2, workers=2,
                         phases=[Phase("5/s", rate=5, messages=10, drain_s=5)], connect_concurrency=0,
                         burst=burst, log=lambda *_: None)


async def test_raw_reference_delivers_every_message_once_to_every_client(tmp_path):
    result = await run(Target("raw-1", "raw", "websockets", 1), tmp_path, burst=True)

    assert result.error is None
    assert result.connected == CLIENTS and not result.storm_failures
    fixed, burst = result.phases
    assert (fixed.expected, fixed.delivered, fixed.lost, fixed.dup) == (CLIENTS * 10, CLIENTS * 10, 0, 0)
    assert fixed.clean and 0 < fixed.p50_ms <= fixed.p99_ms
    assert burst.phase == "saturation"
    assert burst.delivered == burst.expected == CLIENTS * burst.messages
    assert burst.clean and burst.deliveries_per_s > 0
    assert result.rss_idle_mib > 0


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
async def test_bare_reference_delivers_every_message_once_under_each_server(server, tmp_path):
    """The servers' own ceiling (bench/reference/bare.py) is measured like the others: counted."""
    result = await run(Target(f"bare-{server}-1", "bare", server, 1), tmp_path)

    assert result.error is None
    assert result.connected == CLIENTS and not result.storm_failures
    (fixed,) = result.phases
    assert (fixed.expected, fixed.delivered, fixed.lost, fixed.dup) == (CLIENTS * 10, CLIENTS * 10, 0, 0)
    # per message: send → first receiver, then first → last receiver, each as (p50, max)
    assert 0 <= fixed.first_ms[0] <= fixed.first_ms[1] < fixed.max_ms + 1
    assert 0 <= fixed.spread_ms[0] <= fixed.spread_ms[1] <= fixed.max_ms


async def test_duplicates_are_counted_not_only_losses(tmp_path):
    faulty = Target("dup", "custom", "websockets", 1,
                    custom=[sys.executable, FAULTY, "--port", "{port}", "--mode", "dup"])

    (phase,) = (await run(faulty, tmp_path)).phases

    assert phase.delivered == CLIENTS * 10 and phase.lost == 0
    assert phase.dup == CLIENTS * 10
    assert not phase.clean


async def test_every_message_inside_a_batch_frame_is_counted_once(tmp_path):
    batching = Target("batch", "custom", "websockets", 1,
                      custom=[sys.executable, FAULTY, "--port", "{port}", "--mode", "batch"])

    (phase,) = (await run(batching, tmp_path)).phases

    assert (phase.expected, phase.delivered, phase.lost, phase.dup) == (CLIENTS * 10, CLIENTS * 10, 0, 0)
    assert phase.clean


async def test_messages_that_never_arrive_are_counted_as_lost(tmp_path):
    faulty = Target("drop", "custom", "websockets", 1,
                    custom=[sys.executable, FAULTY, "--port", "{port}", "--mode", "drop"])

    (phase,) = (await run(faulty, tmp_path)).phases

    assert phase.lost == CLIENTS * 5 and phase.delivered == CLIENTS * 5 and phase.dup == 0
    assert not phase.clean

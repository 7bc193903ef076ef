"""What one search request costs the process against one history page, in-process (issue 27, target 4).

    DJANGO_SETTINGS_MODULE=hub.settings DATABASE_URL=…/hub_search … \\
        .venv/bin/python -m bench.search_probe TOKEN [--rounds 3] [--profile search|history]

On a database seeded by `make bench-data` (bench/search_data.py), through Django's test client with
the bench user's API token (`bench-0000`, a security officer: the visibility rule, TLP and sharing in
every query): the twelve queries of the bench's search load and as many history pages deep in its
topic, alternated (one search, one page, …) so that a busy machine disturbs both alike. Per request:
CPU time of this process (`time.process_time`: Python, Django, the driver — not the database's own
work, which runs in PostgreSQL's processes), wall time, and SQL statements. Prints one JSON object:
medians per kind and per search query; with `--profile`, the cProfile of that kind's requests
(cumulative, top 40) on stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from urllib.parse import quote


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("token")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=["search", "history"])
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.http import HISTORY_TOPIC
    from bench.search_data import QUERIES
    from chat.models import Message, Topic

    topic = Topic.objects.get(slug=HISTORY_TOPIC)
    ids = Message.objects.filter(topic=topic).order_by("id").values_list("id", flat=True)
    first, last = ids.first(), ids.last()
    assert first is not None and last is not None, f"no messages in {HISTORY_TOPIC}: seed with bench.search_data"
    rng = random.Random(27)
    client = Client(HTTP_AUTHORIZATION=f"Token {args.token}")
    searches = [f"/api/v1/search?limit=50&q={quote(q)}" for q in QUERIES]
    pages = [f"/api/v1/topics/{HISTORY_TOPIC}/messages?before={rng.randint(first + 50, last)}&limit=50"
             for _ in QUERIES]
    for url in searches[:2] + pages[:2]:  # warm: imports, caches, connections
        assert client.get(url).status_code == 200, url
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    cpu: dict[str, list[float]] = {"search": [], "history": []}
    wall: dict[str, list[float]] = {"search": [], "history": []}
    queries: dict[str, list[int]] = {"search": [], "history": []}
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    per_query_wall: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(args.rounds):
        for q, search_url, page_url in zip(QUERIES, searches, pages, strict=True):
            for kind, url in (("search", search_url), ("history", page_url)):
                with CaptureQueriesContext(connection) as captured:
                    if profiler is not None and kind == args.profile:
                        profiler.enable()
                    c0, w0 = time.process_time(), time.perf_counter()
                    response = client.get(url)
                    c1, w1 = time.process_time(), time.perf_counter()
                    if profiler is not None and kind == args.profile:
                        profiler.disable()
                assert response.status_code == 200, (url, response.status_code)
                cpu[kind].append((c1 - c0) * 1000)
                wall[kind].append((w1 - w0) * 1000)
                queries[kind].append(len(captured))
                if kind == "search":
                    per_query[q].append((c1 - c0) * 1000)
                    per_query_wall[q].append((w1 - w0) * 1000)
    out = {kind: {"cpu_ms_median": round(statistics.median(cpu[kind]), 2),
                  "cpu_ms_mean": round(statistics.mean(cpu[kind]), 2),
                  "wall_ms_median": round(statistics.median(wall[kind]), 2),
                  "queries": sorted(set(queries[kind]))} for kind in cpu}
    out["search_by_query"] = {q: {"cpu_ms": round(statistics.median(v), 2),
                                  "wall_ms": round(statistics.median(per_query_wall[q]), 1)}
                              for q, v in per_query.items()}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("PROBE_SORT", "cumulative")).print_stats(40)


if __name__ == "__main__":
    main()

"""`make bench-data`: search and history over years of messages (issue 27, target 4), with its own time.

    .venv/bin/python -m bench.search_data                       # 1,000,000 messages
    .venv/bin/python -m bench.search_data --sizes 1000000,5000000

For each size (growing the same database): realistic Vietnamese messages — sentences with diacritics
built from a security team's vocabulary, CVE numbers, addresses, centre names — spread over three
years and the demo's topics, loaded with `INSERT … SELECT generate_series` (the search index dropped
for the load and built again after, as a restore would). Then one uvicorn hub process, and 16
concurrent keep-alive clients (bench/httpload.js) for a few seconds each on:
- search: `GET /api/v1/search?q=…&limit=50` over a mix of common words, rare words, several words,
  a CVE number and queries typed without diacritics, as a bench engineer (the visibility rule,
  TLP and sharing included: chat.selectors.search_messages), and
- history: `GET /api/v1/topics/{slug}/messages?before=ID&limit=50` deep in a large topic.
Reported: p50/p99 of each, the ratio search p99 / history p99 (target ≤ 2×), the ratio of the
largest size's search p99 to the first's (target ≤ 1.5×), the load average, and the query plans
(EXPLAIN ANALYZE of the search for one common and one rare word) written to
bench/results/search-<size>.txt for docs/benchmarks.md.

Then (with the first size) the ticket list's CSV export of 100,000 tickets (`--tickets`) downloaded
from that process while its RSS is sampled: constant memory means the peak does not grow with the
export (hub/server/http.py streams it part by part).

Needs PostgreSQL (BENCH_DATA_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/hub_bench_data —
dropped and recreated, unless `--keep`) and Redis (REDIS_URL). Does not run in `make bench` (its 10
minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import procstat
from bench.http import HISTORY_TOPIC, _load
from bench.targets import ROOT, Context, Target

# Vocabulary of the generated sentences (subject, verb, object, detail): a centre's daily traffic.
SUBJECTS = ["Trung tâm Hà Nội", "Đội ứng cứu Đà Nẵng", "Nhóm giám sát Huế", "Ca trực đêm", "Kỹ sư an toàn",
            "Bộ phận vận hành", "Trung tâm dữ liệu phía Nam", "Đội phân tích mã độc", "Quản trị hệ thống",
            "Nhóm mạng lõi", "Ca trực sáng", "Chuyên viên điều phối"]
VERBS = ["đã phát hiện", "đang theo dõi", "vừa cập nhật", "đề nghị kiểm tra", "đã chặn", "báo cáo",
         "cần hỗ trợ xử lý", "đã khôi phục", "đang phân tích", "xác nhận", "đã vá", "chuyển tiếp"]
OBJECTS = ["lưu lượng bất thường từ máy chủ thư", "bản vá bảo mật cho tường lửa", "chiến dịch lừa đảo qua thư điện tử",
           "mã độc tống tiền trên máy trạm", "lỗ hổng trên cổng VPN", "truy cập trái phép vào cơ sở dữ liệu",
           "tấn công từ chối dịch vụ vào cổng thông tin", "chứng chỉ sắp hết hạn", "sự cố mất kết nối đường truyền",
           "cấu hình sai trên bộ định tuyến", "tài khoản quản trị bị khoá", "nhật ký hệ thống bị xoá"]
DETAILS = ["theo yêu cầu của lãnh đạo", "trước giờ giao ca", "ngay trong đêm nay", "cần phối hợp gấp",
           "mức độ nghiêm trọng cao", "đã ghi nhận trong phiếu", "chờ xác nhận của đối tác",
           "ảnh hưởng khoảng hai trăm người dùng", "không ảnh hưởng dịch vụ", "đề nghị các trung tâm lưu ý"]
# What people search for: common words, a rare one, several words, a CVE, no diacritics.
QUERIES = ["bản vá", "mã độc", "tường lửa VPN", "lua dao thu dien tu", "CVE-2024-3400", "khoá tài khoản quản trị",
           "chứng chỉ", "đường truyền", "khôi phục", "ddos", "bo dinh tuyen", "nhật ký"]


def _sql_array(words: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def _pick(words: list[str]) -> str:
    return f"({_sql_array(words)})[1 + floor(random() * {len(words)})::int]"


def _env(ctx: Context) -> dict[str, str]:
    return dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)


def seed(total: int) -> dict:
    """Grow the database's messages to `total` (run in a Django process: `--seed N`)."""
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from chat.models import Message, Topic
    from hub.models import User

    have = Message.objects.count()
    missing = max(0, total - have)
    topics = list(Topic.objects.filter(kind="channel").order_by("id").values_list("id", flat=True))
    # The search index as its migration defines it (chat/migrations/0006_search_vector.py).
    index_migration = importlib.import_module("chat.migrations.0006_search_vector")
    drop_index, create_index = index_migration.BACKWARD[0], index_migration.FORWARD[-1]
    authors = list(User.objects.filter(username__startswith="bench-").order_by("id").values_list("id", flat=True))
    started = time.perf_counter()
    if missing:
        body = (f"{_pick(SUBJECTS)} || ' ' || {_pick(VERBS)} || ' ' || {_pick(OBJECTS)} || ', ' || {_pick(DETAILS)}"
                " || CASE WHEN g % 50 = 0 THEN ' (CVE-' || (2020 + g % 6) || '-' || (1000 + g % 9000) || ')' "
                "WHEN g % 7 = 0 THEN ' từ địa chỉ 10.' || (g % 255) || '.' || (g % 199) || '.' || (g % 97) "
                "ELSE '' END || '. Tin số ' || g")
        exprs = {
            "topic_id": f"(ARRAY[{', '.join(map(str, topics))}])[1 + (g % {len(topics)})]",
            "author_id": f"{authors[0]} + (g % {len(authors)})",
            "body": "b.body",
            "html": "'<p>' || b.body || '</p>'",
            "client_id": "NULL",
            # Three years, oldest first, ids growing with time as in a real hub.
            "created_at": f"now() - make_interval(secs => (({missing} - g)::float / {missing}) * 94608000)",
            "edited_at": "NULL", "deleted_at": "NULL", "changed_at": "NULL", "marked_at": "NULL", "version": "0",
            "audience": "NULL",
            "audience_centres": "NULL",
            "audience_roles": "NULL", "audience_users": "NULL", "prev_id": "NULL",
            "tlp": "'green'", "shared_with": "NULL", "promoted_to": "'[]'::jsonb", "files": "'[]'::jsonb",
            "reply_to_id": "NULL", "thread_root_id": "NULL", "also_channel": "false", "reply_count": "0",
            "last_reply_at": "NULL",
            "search_text": "' ' || trim(regexp_replace(lower(public.unaccent(b.body)), '[^a-z0-9]+', ' ', 'g')) || ' '",
        }
        columns = [f.column for f in Message._meta.concrete_fields if not f.primary_key and f.column]
        unknown = [c for c in columns if c not in exprs]
        if unknown:
            raise SystemExit(f"chat_message has columns this generator does not know: {unknown}")
        table = Message._meta.db_table
        with connection.cursor() as cursor:
            procstat.nice_database_backend(cursor)  # a shared machine: the load waits for others' work
            cursor.execute(drop_index)
            step = 500_000
            for start in range(1, missing + 1, step):
                end = min(missing, start + step - 1)
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs[c] for c in columns)} "
                    f"FROM generate_series({start}, {end}) AS g, LATERAL (SELECT {body} AS body) AS b")
                print(f"  {have + end:,} messages ({time.perf_counter() - started:.0f} s)", flush=True)
            loaded = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(create_index)
            indexed = time.perf_counter()
            cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"  search index built in {indexed - loaded:.0f} s", flush=True)
    topic = Topic.objects.get(slug=HISTORY_TOPIC)  # one every bench user reads (bench/http.py)
    ids = Message.objects.filter(topic=topic).order_by("id").values_list("id", flat=True)
    return {"messages": have + missing, "added": missing, "seed_s": time.perf_counter() - started,
            "history_messages": Message.objects.filter(topic=topic).aggregate(n=Count("id"))["n"],
            "history_topic": topic.slug, "first_id": ids.first(), "last_id": ids.last()}


def export_session(tickets: int) -> dict:
    """Grow the tickets to `tickets` (bench.seed_history) and sign in a hub administrator, who sees
    them all: the session cookie for the export (run in a Django process: `--export-session N`)."""
    import django

    django.setup()
    from django.test import Client

    from bench.seed_history import seed_tickets
    from hub.models import Centre, Role, User
    from requests.models import Category, Priority

    started = time.perf_counter()
    seeded = seed_tickets(tickets)
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={
        "role": Role.HUB_ADMIN, "centre": Centre.objects.order_by("code").first(), "display_name": "Bench admin"})
    client = Client()
    client.force_login(admin)
    # A filter that keeps about one request in 28 (the seeder cycles 7 categories and 4 priorities):
    # the small export the full one is compared with.
    small = f"category={Category.values[0]}&priority={Priority.values[0]}"
    return {**seeded, "seed_s": time.perf_counter() - started, "cookie": client.cookies["sessionid"].value,
            "small_filter": small}


def measure_export(ctx: Context, target: Target, cookie: str, path: str = "/tickets/export.csv") -> dict:
    """Download the ticket list's export (`path`: CSV or XLSX, with the list's filters; by default
    every ticket as CSV) from one process, reading it in 64 KiB pieces, and sample the server's RSS
    every 50 ms meanwhile: constant memory means the peak does not grow with the export's size."""
    import threading
    import urllib.request

    pid = target.pids[0]
    before = procstat.rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], procstat.rss_kib(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    request = urllib.request.Request(f"http://127.0.0.1:{target.ports[0]}{path}",
                                     headers={"Cookie": f"sessionid={cookie}"})
    started = time.perf_counter()
    size = rows = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        status = response.status
        while chunk := response.read(65536):
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"status": status, "bytes": size, "rows": rows - 1, "seconds": elapsed, "rss_before_kib": before,
            "rss_peak_kib": peak[0], "rss_after_kib": procstat.rss_kib(pid)}


def plans(username: str, words: list[str]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the page the API runs for each query (run in a Django process)."""
    import django

    django.setup()
    from chat.selectors import search_messages, search_transaction
    from hub.models import User

    user = User.objects.get(username=username)
    out = []
    for q in words:
        with search_transaction():  # as the API runs it (chat.selectors.search_page)
            qs = search_messages(user, q)[:51]
            out.append(f"-- search q={q!r} as {username}\n{qs.explain(analyze=True, buffers=True)}\n")
    return "\n".join(out)


def _django(ctx: Context, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.search_data", *args], cwd=ROOT, env=_env(ctx),
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    sys.stdout.write("".join(line + "\n" for line in done.stdout.splitlines() if line.startswith("  ")))
    return done.stdout


async def measure(ctx: Context, size: int, seconds: float, concurrency: int, tickets: int) -> dict:
    import random

    seeded = json.loads(_django(ctx, "--seed", str(size)).strip().splitlines()[-1])
    print(f"  {seeded['messages']:,} messages ({seeded['added']:,} added in {seeded['seed_s']:.0f} s)")
    username = "bench-0000"  # bench.seed_users: a security officer of the first centre, with ctx.tokens[0]
    plan_text = json.loads(_django(ctx, "--plans", username, "bản vá", "CVE-2024-3400").strip().splitlines()[-1])
    plan_path = ROOT / "bench" / "results" / f"search-{size}.txt"
    plan_path.write_text(plan_text)
    rng = random.Random(27)
    first, last = seeded["first_id"], seeded["last_id"]
    history = [f"/api/v1/topics/{seeded['history_topic']}/messages?before={rng.randint(first + 50, last)}&limit=50"
               for _ in range(300)]
    from urllib.parse import quote

    search = [f"/api/v1/search?limit=50&q={quote(q)}" for q in QUERIES]
    session = json.loads(_django(ctx, "--export-session", str(tickets)).strip().splitlines()[-1]) if tickets else None
    target = Target(f"data-{size}", "hub", "uvicorn", 1)
    out: dict = {"seeded": seeded, "plans": str(plan_path.relative_to(ROOT)), "load_average_before":
                 procstat.machine()["load_average"]}
    try:
        target.start(ctx)
        for kind, paths in (("history", history), ("search", search)):
            urls = [f"http://127.0.0.1:{target.ports[0]}{path}" for path in paths]
            result = await _load(ctx, f"data-{size}-{kind}", urls, concurrency, seconds)
            out[kind] = result
            print(f"  {kind}: {result['per_s']:,.0f} requests/s, p50 {result['p50_ms']:.1f} ms, "
                  f"p99 {result['p99_ms']:.1f} ms, statuses {result['statuses']}")
        if session:
            # A small export first, then all of them: the process's first export loads its modules,
            # catalogues and a chunk of rows once (docs/benchmarks.md, "Exports in constant memory"),
            # so constant memory is the full export's peak against the small one's, not against idle.
            for name, path in (("export_small", f"/tickets/export.csv?{session['small_filter']}"),
                               ("export", "/tickets/export.csv")):
                export = await asyncio.to_thread(measure_export, ctx, target, session["cookie"], path)
                out[name] = export
                print(f"  export of {export['rows']:,} tickets: {export['bytes'] / 2**20:.1f} MiB in "
                      f"{export['seconds']:.1f} s, server RSS {export['rss_before_kib'] / 1024:.0f} → peak "
                      f"{export['rss_peak_kib'] / 1024:.0f} MiB (status {export['status']})")
    finally:
        target.stop()
    out["load_average_after"] = procstat.machine()["load_average"]
    return out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def export_verdict(small: dict, full: dict) -> str:
    """Constant memory: the full export's RSS peak is above the small one's by less than a quarter
    of what the full file has more (a list or a workbook held whole would grow with it)."""
    more_mib = (full["bytes"] - small["bytes"]) / 2**20
    growth = (full["rss_peak_kib"] - small["rss_peak_kib"]) / 1024
    ok = growth < 0.25 * more_mib and full["status"] == small["status"] == 200
    return (f"{verdict(ok)} export of {full['rows']:,} tickets streams in constant memory: server RSS peak "
            f"{growth:+.1f} MiB against the export of {small['rows']:,} ({full['bytes'] / 2**20:.1f} vs "
            f"{small['bytes'] / 2**20:.1f} MiB of CSV)")


async def run(args: argparse.Namespace) -> int:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "bench" / "results" / f"data-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    # The export is a page signed in by session; the bench's administrator has no second factor.
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir,
                  hub_overrides={"HUB_2FA_REQUIRED_ROLES": ""})
    machine = procstat.machine()
    print(f"machine: {machine['cpus']} CPUs, load average {machine['load_average']}")
    started = time.monotonic()
    ctx.prepare_hub_database(users=20, fresh=not args.keep)
    results: dict[int, dict[str, Any]] = {}
    for size in args.sizes:
        print(f"{size:,} messages:")
        # The tickets (and their export) once, with the first size.
        results[size] = await measure(ctx, size, args.seconds, args.concurrency, args.tickets if not results else 0)
    lines = []
    for size, r in results.items():
        ratio = r["search"]["p99_ms"] / max(r["history"]["p99_ms"], 0.001)
        lines.append(f"{verdict(ratio <= 2)} search p99 at {args.concurrency} concurrent ≤ 2× history p99, "
                     f"{size:,} messages: {r['search']['p99_ms']:.1f} ms vs {r['history']['p99_ms']:.1f} ms "
                     f"({ratio:.2f}×; load average {r['load_average_before']} → {r['load_average_after']})")
    first = results[next(iter(results))]
    export, small = first.get("export"), first.get("export_small")
    if export and small:
        lines.append(export_verdict(small, export))
    sizes = list(results)
    if len(sizes) > 1:
        grow = results[sizes[-1]]["search"]["p99_ms"] / max(results[sizes[0]]["search"]["p99_ms"], 0.001)
        lines.append(f"{verdict(grow <= 1.5)} search p99 at {sizes[-1]:,} ≤ 1.5× at {sizes[0]:,}: {grow:.2f}×")
    elapsed = time.monotonic() - started
    print("\n" + "\n".join(lines) + f"\n(make bench-data took {elapsed:.0f} s)")
    (ROOT / "bench" / "results" / f"data-{stamp}.json").write_text(json.dumps(
        {"machine": machine, "elapsed_s": elapsed, "results": results, "lines": lines}, indent=1, default=str))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000_000])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets for the export (0: no export)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (grow what is there) instead of dropping and recreating it")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATA_DATABASE_URL")
                        or "postgres://postgres@127.0.0.1:5432/hub_bench_data")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # internal: runs in a Django process
    parser.add_argument("--plans", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--export-session", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        print(json.dumps(seed(args.seed)))
        return
    if args.export_session is not None:
        print(json.dumps(export_session(args.export_session)))
        return
    if args.plans:
        print(json.dumps(plans(args.plans[0], args.plans[1:])))
        return
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

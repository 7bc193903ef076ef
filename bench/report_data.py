"""`make bench-data`, part two: the managers' dashboard, the yearly cooperation report and the request
exports over three years of data (issue 27, target 5), with its own time.

    .venv/bin/python -m bench.report_data                    # seed (once; kept) and measure
    .venv/bin/python -m bench.report_data --requests 1000000 --messages 5000000

The data set is kept in its own database (BENCH_REPORT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/hub_data_big) and only grown, never dropped: seeding a million
requests and five million messages takes a quiet 2-core machine tens of minutes, so every later run
measures the same rows. Messages come from bench.search_data (the same Vietnamese sentences, three
years, the demo's channels); requests from `seed_requests` below, one `INSERT … SELECT
generate_series` per 200,000, with their history (created, accepted, in progress, resolved, closed,
rejected, reopened: what the dashboard's response times read), the SLA clocks' columns, and a public
comment on one request in twelve.

Then one uvicorn hub process, signed in as a manager of one centre (the visibility rule applies:
TLP-restricted requests of other centres are not counted) and as a hub administrator, and for each:
- the dashboard (`GET /dashboard/`) for every kind of filter: the default 90 days, one year, the
  whole three years, one centre, one category, centre and category together — each timed
  `--repeat` times (sequential requests; min / median / max);
- the yearly cooperation report's page and its PDF for the last full year;
- the ticket list's CSV and XLSX exports of about 100,000 requests (a category filter), read in
  64 KiB pieces while the server's RSS is sampled every 50 ms: constant memory means the peak's
  growth is a small fraction of the file and does not grow with it.
EXPLAIN (ANALYZE, BUFFERS) of the dashboard's and the report's heaviest queries goes to
bench/results/report-plans.txt (docs/benchmarks.md, "Dashboard and report over years").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

from bench import procstat
from bench.search_data import verdict
from bench.targets import ROOT, Context, Target

# A request's title: what centres ask each other for (with diacritics), and where.
ASKS = ["Đề nghị hỗ trợ rà soát", "Nhờ kiểm tra", "Đề nghị phối hợp xử lý", "Xin tư vấn về",
        "Đề nghị cung cấp tài liệu về",
        "Nhờ hỗ trợ khắc phục", "Đề nghị đánh giá", "Đăng ký tham gia khoá đào tạo về"]
SUBJECTS = ["lỗ hổng trên cổng thông tin điện tử", "mã độc trên máy trạm", "chứng chỉ số của hệ thống thư",
            "cấu hình tường lửa", "phần mềm quản lý văn bản", "hệ thống một cửa điện tử", "sao lưu cơ sở dữ liệu",
            "nhật ký truy cập bất thường", "chiến dịch lừa đảo qua thư điện tử", "an toàn thông tin cấp độ 3",
            "kết nối mạng truyền số liệu chuyên dùng", "ứng dụng di động của tỉnh"]
# Shares (per mille) of the categories, priorities and TLP markings of a real network's requests.
CATEGORIES = [("security", 350), ("software", 100), ("training", 150), ("consulting", 100),
              ("communications", 80), ("events", 70), ("other", 150)]
PRIORITIES = [("low", 200, 1, 24, 10), ("normal", 550, 2, 8, 5), ("high", 200, 3, 4, 3), ("urgent", 50, 4, 1, 1)]
TLPS = [("clear", 100), ("green", 300), ("amber", 550), ("amber+strict", 30), ("red", 20)]
THREE_YEARS_S = 3 * 365 * 86400


def _sql_text(words: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def _weighted(shares: list[tuple[Any, ...]], u: str) -> str:
    """A CASE picking the first field of `shares` by the per-mille weights in the second, from the
    uniform [0, 1) value `u`."""
    out, acc = [], 0
    for row in shares[:-1]:
        acc += row[1]
        out.append(f"WHEN {u} < {acc / 1000} THEN '{row[0]}'")
    return f"(CASE {' '.join(out)} ELSE '{shares[-1][0]}' END)"


def seed_requests(total: int, step: int = 200_000) -> dict[str, Any]:
    """Grow the requests to `total` over the three years before now (ids growing with time), each
    with a consistent life: status by age (older ones closed, resolved or rejected, a small
    backlog still open; recent ones spread over the workflow), both SLA clocks' due times and
    outcomes (about one in four answered or resolved late), acceptance and resolution moments, its
    history events and, for one in twelve, a comment. Run in a Django process."""
    from django.db import connection

    from hub.models import Centre, User
    from requests.models import Comment, Ticket, TicketEvent

    have = Ticket.objects.filter(reference__contains="-R").count()
    missing = max(0, total - have)
    started = time.perf_counter()
    if not missing:
        return {"requests": have, "added": 0, "seed_s": 0.0}
    # The centres with people, and four of each (the demo's engineer, security officer, manager …).
    centres: list[tuple[int, str]] = []
    people: list[list[int]] = []
    for centre_id, code in Centre.objects.order_by("code").values_list("id", "code"):
        ids = list(User.objects.filter(centre_id=centre_id, is_active=True).order_by("id").values_list("id", flat=True))
        if ids:
            centres.append((centre_id, code))
            people.append((ids * 4)[:4])
    if len(centres) < 2:
        raise SystemExit("requests need two centres with people: run `manage.py seed_demo` first")
    n = len(centres)
    centre_ids = "ARRAY[" + ", ".join(str(c) for c, _ in centres) + "]"
    codes = _sql_text([code for _, code in centres])
    people_sql = "ARRAY[" + ", ".join("ARRAY[" + ", ".join(map(str, p)) + "]" for p in people) + "]"
    ticket, event, comment = Ticket._meta.db_table, TicketEvent._meta.db_table, Comment._meta.db_table
    # One row of draws per request `g`; the life follows from them (a LATERAL chain, no PL/pgSQL).
    draws = f"""
        FROM generate_series(%(first)s, %(last)s) AS g,
        LATERAL (SELECT random() + 0 * g AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5,
                        random() AS u6, random() AS u7, random() AS u8) AS r,  -- `0 * g`: drawn per row
        LATERAL (SELECT now() - make_interval(secs => ((%(total)s - g)::float / %(total)s) * {THREE_YEARS_S}
                                                      + r.u8 * 600) AS created,
                        1 + floor({n} * power(r.u1, 1.4))::int AS req) AS c,
        LATERAL (SELECT 1 + mod(c.req + floor(r.u2 * {n - 1})::int, {n}) AS tgt,
                        {_weighted(PRIORITIES, 'r.u3')} AS priority,
                        {_weighted(CATEGORIES, 'r.u4')} AS category,
                        extract(epoch FROM now() - c.created) / 86400 AS age_days) AS d,
        LATERAL (SELECT CASE
                   WHEN d.age_days > 30 THEN (CASE WHEN r.u5 < 0.80 THEN 'closed' WHEN r.u5 < 0.88 THEN 'resolved'
                        WHEN r.u5 < 0.95 THEN 'rejected' WHEN r.u5 < 0.965 THEN 'in_progress'
                        WHEN r.u5 < 0.975 THEN 'waiting_for_requester' WHEN r.u5 < 0.985 THEN 'accepted'
                        WHEN r.u5 < 0.993 THEN 'reopened' ELSE 'new' END)
                   ELSE (CASE WHEN r.u5 < 0.15 THEN 'new' WHEN r.u5 < 0.30 THEN 'accepted'
                        WHEN r.u5 < 0.55 THEN 'in_progress' WHEN r.u5 < 0.65 THEN 'waiting_for_requester'
                        WHEN r.u5 < 0.68 THEN 'reopened' WHEN r.u5 < 0.85 THEN 'resolved'
                        WHEN r.u5 < 0.95 THEN 'closed' ELSE 'rejected' END) END AS status,
                        (CASE d.priority {' '.join(f"WHEN '{p}' THEN {rank}" for p, _, rank, _, _ in PRIORITIES)} END)
                            AS rank,
                        (CASE d.priority {' '.join(f"WHEN '{p}' THEN {h}" for p, _, _, h, _ in PRIORITIES)} END)
                            * interval '1 hour' AS respond_in,
                        (CASE d.priority {' '.join(f"WHEN '{p}' THEN {days}" for p, _, _, _, days in PRIORITIES)} END)
                            * interval '1 day' AS resolve_in) AS s,
        LATERAL (SELECT s.status NOT IN ('new', 'rejected') AS accepted,
                        s.status IN ('resolved', 'closed') AS resolved,
                        s.status = 'new' AND r.u6 < 0.4 AS unaddressed) AS f,
        LATERAL (SELECT least(now(), c.created + s.respond_in * (0.1 + 1.2 * r.u6)) AS first_response,
                        least(now(), c.created + s.resolve_in * (0.05 + 1.25 * r.u7)) AS resolution) AS t
    """
    ticket_cols = {
        "reference": f"({codes})[c.req] || '-' || extract(year FROM c.created)::int || '-R' || lpad(g::text, 7, '0')",
        "title": f"({_sql_text(ASKS)})[1 + floor(r.u7 * {len(ASKS)})::int] || ' ' || "
                 f"({_sql_text(SUBJECTS)})[1 + floor(r.u8 * {len(SUBJECTS)})::int]",
        "description": "'Kính gửi trung tâm bạn, chúng tôi cần hỗ trợ trong tuần này. Yêu cầu số ' || g || '.'",
        "description_html": "'<p>Kính gửi trung tâm bạn, chúng tôi cần hỗ trợ trong tuần này. Yêu cầu số ' || g "
                            "|| '.</p>'",
        "category": "d.category", "priority": "d.priority", "priority_rank": "s.rank", "status": "s.status",
        "due_at": "c.created + s.resolve_in", "version": "1",
        "created_at": "c.created",
        "updated_at": "greatest(c.created, CASE WHEN f.accepted THEN t.first_response END,"
                      " CASE WHEN f.resolved THEN t.resolution END)",
        "accepted_at": "CASE WHEN f.accepted THEN t.first_response END",
        "resolved_at": "CASE WHEN f.resolved THEN t.resolution END",
        "closed_at": "CASE WHEN s.status = 'closed' THEN t.resolution + interval '3 days' "
                     "WHEN s.status = 'rejected' THEN t.first_response END",
        "search_text": "''",  # filled below from the title, folded as the hub folds it
        "assignee_id": f"CASE WHEN f.accepted THEN ({people_sql})[d.tgt][1 + mod(g, 4)] END",
        "requested_by_id": f"({people_sql})[c.req][1 + mod(g, 4)]",
        "requesting_centre_id": f"({centre_ids})[c.req]",
        "target_centre_id": f"CASE WHEN f.unaddressed THEN NULL ELSE ({centre_ids})[d.tgt] END",
        "thread_id": "NULL", "origin": "NULL",
        "tlp": f"CASE WHEN f.unaddressed THEN 'amber' ELSE {_weighted(TLPS, 'r.u2')} END",
        "first_response_at": "CASE WHEN s.status NOT IN ('new') THEN t.first_response END",
        "first_response_due": "c.created + s.respond_in",
        "sla_paused_at": "CASE WHEN f.resolved THEN t.resolution WHEN s.status = 'rejected' THEN t.first_response"
                         " WHEN s.status = 'waiting_for_requester' THEN t.first_response + interval '1 hour' END",
        "sla_paused_seconds": "0",
        # Working minutes: about a third of the wall-clock time falls in working hours.
        "sla_resolution_minutes": "CASE WHEN f.resolved THEN "
                                  "(extract(epoch FROM t.resolution - c.created) / 180)::int END",
        "sla_resolution_soon_at": "c.created + s.resolve_in * 0.8",
        "sla_response_minutes": "CASE WHEN s.status NOT IN ('new') THEN "
                                "(extract(epoch FROM t.first_response - c.created) / 180)::int END",
        "sla_response_soon_at": "c.created + s.respond_in * 0.8",
        "merged_into_id": "NULL",
    }
    columns = [f.column for f in Ticket._meta.concrete_fields if not f.primary_key and f.column]
    unknown = [c for c in columns if c not in ticket_cols]
    if unknown:
        raise SystemExit(f"support_requests_ticket has columns this generator does not know: {unknown}")
    transition = ("INSERT INTO {event} (kind, field, before, after, note, internal, created_at, actor_id, ticket_id, "
                  "internal_to_id) SELECT 'transition', 'status', to_jsonb({before}::text), to_jsonb({after}::text), "
                  "'', false, {at}, {actor}, id, NULL FROM {ticket} WHERE id > %(after_id)s AND {where}")
    with connection.cursor() as cursor:
        procstat.nice_database_backend(cursor)  # a shared machine: the load waits for others' work
        cursor.execute("SELECT setseed(0.27)")
        for first in range(have + 1, have + missing + 1, step):
            last = min(have + missing, first + step - 1)
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {ticket}")
            after_id = cursor.fetchone()[0]
            cursor.execute(f"INSERT INTO {ticket} ({', '.join(columns)}) SELECT "
                           f"{', '.join(ticket_cols[c] for c in columns)} {draws}",
                           {"first": first, "last": last, "total": total})
            cursor.execute(f"UPDATE {ticket} SET search_text = ' ' || trim(regexp_replace(lower(public.unaccent("
                           f"reference || ' ' || title || ' ' || description)), '[^a-z0-9-]+', ' ', 'g')) || ' ' "
                           f"WHERE id > %s", [after_id])
            args = {"after_id": after_id}
            cursor.execute(f"INSERT INTO {event} (kind, field, before, after, note, internal, created_at, actor_id, "
                           f"ticket_id, internal_to_id) SELECT 'created', '', NULL, NULL, '', false, created_at, "
                           f"requested_by_id, id, NULL FROM {ticket} WHERE id > %(after_id)s", args)
            for before, after, at, actor, where in (
                ("'new'", "'accepted'", "accepted_at", "assignee_id", "accepted_at IS NOT NULL"),
                ("'accepted'", "'in_progress'", "accepted_at + interval '20 minutes'", "assignee_id",
                 "status NOT IN ('new', 'rejected', 'accepted')"),
                ("'in_progress'", "'waiting_for_requester'", "sla_paused_at", "assignee_id",
                 "status = 'waiting_for_requester'"),
                ("'in_progress'", "'resolved'", "coalesce(resolved_at, accepted_at + interval '1 day')",
                 "assignee_id", "status IN ('resolved', 'closed', 'reopened')"),
                ("'resolved'", "'reopened'", "accepted_at + interval '2 days'", "requested_by_id",
                 "status = 'reopened'"),
                ("'resolved'", "'closed'", "closed_at", "requested_by_id", "status = 'closed'"),
                ("'new'", "'rejected'", "closed_at", "requested_by_id", "status = 'rejected'"),
            ):
                cursor.execute(transition.format(event=event, ticket=ticket, before=before, after=after, at=at,
                                                 actor=actor, where=where), args)
            cursor.execute(f"INSERT INTO {comment} (body, html, internal, created_at, author_id, ticket_id, "
                           f"shared_with, tlp, internal_to_id) SELECT 'Chúng tôi đã tiếp nhận và đang xử lý.', "
                           f"'<p>Chúng tôi đã tiếp nhận và đang xử lý.</p>', false, first_response_at, assignee_id, "
                           f"id, NULL, tlp, NULL FROM {ticket} WHERE id > %(after_id)s AND mod(id, 12) = 0 "
                           f"AND assignee_id IS NOT NULL", args)
            print(f"  {last:,} requests ({time.perf_counter() - started:.0f} s)", flush=True)
        for table in (ticket, event, comment):  # VACUUM too (index-only scans), outside a transaction
            cursor.execute(f"{'' if connection.in_atomic_block else 'VACUUM '}ANALYZE {table}")
    return {"requests": have + missing, "added": missing, "seed_s": time.perf_counter() - started}



# --- measuring -------------------------------------------------------------------------------------------

MANAGER = "dn.manager"  # the demo's manager of Đà Nẵng (hub.demo): counted under the visibility rule
ADMIN = "bench-admin"  # a hub administrator: the complete view, and the export of every request


def filters(year: int, today: str, three_years_ago: str) -> dict[str, str]:
    """The dashboard's filters as a manager uses them: what the page offers (a period, a centre, a
    category, the years it links to) and the widest period there is."""
    return {
        "default (90 days)": "",
        "centre HT": "?centre=HT",
        "category security": "?category=security",
        "centre HT + category training": "?centre=HT&category=training",
        f"year {year}": f"?from={year}-01-01&to={year}-12-31",
        f"year {year}, centre DN": f"?from={year}-01-01&to={year}-12-31&centre=DN",
        "three years": f"?from={three_years_ago}&to={today}",
    }


def sessions() -> dict[str, Any]:
    """Session cookies of the manager and the hub administrator, the report's year (the last full
    one) and what the export's filter selects (run in a Django process)."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from hub.models import Centre, Role, User
    from requests.models import Ticket

    admin, _ = User.objects.get_or_create(username=ADMIN, defaults={
        "role": Role.HUB_ADMIN, "centre": Centre.objects.order_by("code").first(), "display_name": "Bench admin"})
    cookies = {}
    for user in (User.objects.get(username=MANAGER), admin):
        client = Client()
        client.force_login(user)
        cookies[user.username] = client.cookies["sessionid"].value
    today = timezone.localdate()
    # The export: the category whose requests number closest to 100,000 (no count of a whole table
    # at every run: the statistics' estimate picks it, the export counts its rows).
    counts = {c: Ticket.objects.filter(category=c).count() for c in ("software", "consulting", "training")}
    category = min(counts, key=lambda c: abs(counts[c] - 100_000))
    return {"cookies": cookies, "year": today.year - 1, "today": today.isoformat(),
            "three_years_ago": (today - timedelta(days=3 * 365)).isoformat(),
            "export_category": category, "export_count": counts[category]}


def explain_heaviest(year: int, top: int = 4) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest queries of the dashboard (default filters and the
    year) and of the yearly report, as the manager (run in a Django process)."""
    from django.db import connection

    from hub.models import User
    from reports.selectors import cooperation_report, dashboard, parse_filters

    user = User.objects.get(username=MANAGER)
    out = []
    for name, build in (
        ("dashboard, default filters", lambda: dashboard(user, parse_filters({}))),
        (f"dashboard, year {year}", lambda: dashboard(user, parse_filters({"from": f"{year}-01-01",
                                                                          "to": f"{year}-12-31"}))),
        (f"cooperation report {year}", lambda: cooperation_report(year, user)),
    ):
        timed: list[tuple[float, str, Any]] = []

        def clock(execute, sql, params, many, context, timed=timed):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timed.append((time.perf_counter() - started, sql, params))

        with connection.execute_wrapper(clock):
            build()
        total = sum(t for t, _, _ in timed)
        out.append(f"==== {name}: {len(timed)} queries, {total * 1000:.0f} ms in the database")
        for seconds, sql, params in sorted(timed, key=lambda x: -x[0])[:top]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            out.append(f"-- {seconds * 1000:.0f} ms: {sql[:400]}{'…' if len(sql) > 400 else ''}\n{plan}\n")
    return "\n".join(out)


def profile(year: int, repeat: int = 2, who: str = MANAGER) -> str:
    """In-process: each dashboard filter's page and the yearly report's page and PDF, `repeat` times
    (after one untimed warm-up), every query timed with an execute wrapper — where the seconds go,
    query by query, and what rendering adds (run in a Django process: `--profile YEAR`)."""
    from datetime import timedelta

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from hub.models import User
    from reports.selectors import years_with_data

    user = User.objects.get(username=who)
    today = timezone.localdate()
    client = Client()
    client.force_login(user)
    out = []
    cases: list[tuple[str, Any]] = []
    for name, query in filters(year, today.isoformat(), (today - timedelta(days=3 * 365)).isoformat()).items():
        cases.append((f"dashboard, {name}", lambda query=query: client.get("/dashboard/" + query)))
    cases.append((f"report {year} (HTML)", lambda: client.get(f"/reports/cooperation/{year}/")))
    cases.append((f"report {year} (PDF)", lambda: client.get(f"/reports/cooperation/{year}.pdf")))
    cases.append(("years with data", lambda: years_with_data(user)))
    for name, build in cases:
        warm = build()  # warm-up: the templates, catalogues and the database's caches
        status = getattr(warm, "status_code", 200)
        if status != 200:  # a redirect (two-factor enrolment) would be timed as if it were the page
            raise SystemExit(f"{name}: status {status} — run with HUB_2FA_REQUIRED_ROLES= (empty), as the "
                             "bench's server runs, and the bench's data set")
        for attempt in range(repeat):
            timed: list[tuple[float, str]] = []

            def clock(execute, sql, params, many, context, timed=timed):
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    timed.append((time.perf_counter() - started, sql))

            started = time.perf_counter()
            with connection.execute_wrapper(clock):
                build()
            wall = time.perf_counter() - started
            db = sum(t for t, _ in timed)
            line = (f"{name} #{attempt + 1}: {wall * 1000:.0f} ms, {len(timed)} queries {db * 1000:.0f} ms "
                    f"(load {os.getloadavg()[0]:.1f})")
            out.append(line)
            print("  " + line, flush=True)
            if attempt == repeat - 1:
                for seconds, sql in sorted(timed, key=lambda x: -x[0])[:6]:
                    if seconds >= 0.01:
                        out.append(f"      {seconds * 1000:7.0f} ms  {' '.join(sql.split())[:300]}")
    return "\n".join(out)


def _get(url: str, cookie: str) -> tuple[int, int, float]:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={cookie}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        size = len(response.read())
        status = response.status
    return status, size, time.perf_counter() - started


def time_pages(base: str, cookie: str, paths: dict[str, str], repeat: int) -> dict[str, dict[str, Any]]:
    """Each page `repeat` times, one after another (after one untimed warm-up each): min, median,
    max in ms and the statuses."""
    out = {}
    for name, path in paths.items():
        _get(base + path, cookie)
        runs = [_get(base + path, cookie) for _ in range(repeat)]
        ms = [t * 1000 for _, _, t in runs]
        out[name] = {"path": path, "min_ms": min(ms), "median_ms": statistics.median(ms), "max_ms": max(ms),
                     "statuses": sorted({s for s, _, _ in runs}), "bytes": runs[-1][1]}
        print(f"    {name}: median {out[name]['median_ms']:.0f} ms (min {min(ms):.0f}, max {max(ms):.0f}, "
              f"{len(ms)} runs, status {out[name]['statuses']})", flush=True)
    return out


def _env(ctx: Context) -> dict[str, str]:
    return dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)


def _django(ctx: Context, *args: str) -> Any:
    """Run this module in a Django process with the bench's settings; its last line is JSON."""
    done = subprocess.run([sys.executable, "-m", "bench.report_data", *args], cwd=ROOT, env=_env(ctx),
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    sys.stdout.write("".join(line + "\n" for line in done.stdout.splitlines() if line.startswith("  ")))
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    from bench.search_data import measure_export

    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "bench" / "results" / f"report-data-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir,
                  hub_overrides={"HUB_2FA_REQUIRED_ROLES": ""})
    machine = procstat.machine()
    print(f"machine: {machine['cpus']} CPUs, load average {machine['load_average']}")
    started = time.monotonic()
    ctx.prepare_hub_database(users=20, fresh=False)  # kept: migrated, demo and bench users, never dropped
    seeded = {"messages": _django(ctx, "--seed-messages", str(args.messages)),
              "requests": _django(ctx, "--seed-requests", str(args.requests))}
    info = _django(ctx, "--sessions")
    year = info["year"]
    if not args.exports_only:
        plans = _django(ctx, "--plans", str(year))
        (ROOT / "bench" / "results" / "report-plans.txt").write_text(plans)
    results: dict[str, Any] = {"seeded": seeded, "load_average_before": procstat.machine()["load_average"]}
    target = Target("report-data", "hub", "uvicorn", 1)
    try:
        target.start(ctx)
        base = f"http://127.0.0.1:{target.ports[0]}"
        pages = {f"dashboard, {name}": "/dashboard/" + query
                 for name, query in filters(year, info["today"], info["three_years_ago"]).items()}
        pages[f"report {year} (HTML)"] = f"/reports/cooperation/{year}/"
        pages[f"report {year} (PDF)"] = f"/reports/cooperation/{year}.pdf"
        for who in ([] if args.exports_only else args.who):
            print(f"  as {who}:")
            results[who] = time_pages(base, info["cookies"][who], pages, args.repeat)
        # Each format twice: about 5,000 requests (urgent ones of the category), then about 100,000:
        # in constant memory the second's peak is no higher than the first's, whatever it had to read.
        for fmt in ("csv", "xlsx"):
            runs = {}
            for size, query in (("small", f"?category={info['export_category']}&priority=urgent"),
                                ("large", f"?category={info['export_category']}")):
                runs[size] = measure_export(ctx, target, info["cookies"][ADMIN], f"/tickets/export.{fmt}{query}")
                export = runs[size]
                print(f"  {fmt.upper()} export, {size}: {export['bytes'] / 2**20:.1f} MiB in "
                      f"{export['seconds']:.1f} s, server RSS {export['rss_before_kib'] / 1024:.1f} → peak "
                      f"{export['rss_peak_kib'] / 1024:.1f} MiB (status {export['status']})", flush=True)
            results[f"export_{fmt}"] = runs
    finally:
        target.stop()
    results["load_average_after"] = procstat.machine()["load_average"]
    lines = []
    for who in ([] if args.exports_only else args.who):
        board = {k: v for k, v in results[who].items() if k.startswith("dashboard")}
        worst = max(board, key=lambda k: board[k]["median_ms"])
        lines.append(f"{verdict(board[worst]['median_ms'] < 300)} dashboard < 300 ms for any filter, as {who}: "
                     f"slowest {worst!r} median {board[worst]['median_ms']:.0f} ms (max {board[worst]['max_ms']:.0f})")
        html, pdf = results[who][f"report {year} (HTML)"], results[who][f"report {year} (PDF)"]
        lines.append(f"{verdict(html['median_ms'] < 2000)} report {year} HTML < 2 s, as {who}: median "
                     f"{html['median_ms']:.0f} ms (max {html['max_ms']:.0f})")
        lines.append(f"{verdict(pdf['median_ms'] < 10000)} report {year} PDF < 10 s, as {who}: median "
                     f"{pdf['median_ms']:.0f} ms (max {pdf['max_ms']:.0f})")
    for fmt in ("csv", "xlsx"):
        small, large = results[f"export_{fmt}"]["small"], results[f"export_{fmt}"]["large"]
        base_kib = small["rss_before_kib"]
        small_growth, large_growth = [(r["rss_peak_kib"] - base_kib) / 1024 for r in (small, large)]
        size = large["bytes"] / 2**20
        ok = small["status"] == large["status"] == 200 and large_growth - small_growth < 0.1 * size
        lines.append(f"{verdict(ok)} {fmt.upper()} export of {info['export_count']:,} requests in constant memory: "
                     f"server RSS peak +{large_growth:.1f} MiB for a {size:.1f} MiB file, +{small_growth:.1f} MiB "
                     f"for {small['bytes'] / 2**20:.1f} MiB ({large['seconds']:.0f} s)")
    elapsed = time.monotonic() - started
    print("\n" + "\n".join(lines) + f"\n(bench.report_data took {elapsed:.0f} s; load average "
          f"{results['load_average_before']} → {results['load_average_after']})")
    (ROOT / "bench" / "results" / f"report-data-{stamp}.json").write_text(json.dumps(
        {"machine": machine, "elapsed_s": elapsed, "results": results, "lines": lines}, indent=1, default=str))
    return 0

def _django_main(args: argparse.Namespace) -> None:
    import django

    django.setup()
    if args.seed_requests is not None:
        print(json.dumps(seed_requests(args.seed_requests)))
    elif args.seed_messages is not None:
        from bench.search_data import seed

        print(json.dumps(seed(args.seed_messages)))
    elif args.sessions:
        print(json.dumps(sessions()))
    elif args.plans or args.profile:
        from django.test import override_settings

        # Both time each query through the connection's execute wrapper: the dashboard's reads stay on
        # this one connection (no helper threads, reports.selectors.concurrently), so every query is
        # seen and timed alone. The pages' wall time is then the sequential one.
        with override_settings(HUB_REPORT_CONNECTIONS=1):
            if args.plans:
                print(json.dumps(explain_heaviest(args.plans)))
            else:
                print(profile(args.profile, repeat=args.repeat, who=args.who[0]))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per page (after a warm-up)")
    parser.add_argument("--who", type=lambda s: s.split(","), default=[MANAGER],
                        help=f"whose pages to time: {MANAGER} (a centre's manager), {ADMIN} (a hub admin), or both")
    parser.add_argument("--exports-only", action="store_true", help="measure the exports alone")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_REPORT_DATABASE_URL")
                        or "postgres://postgres@127.0.0.1:5432/hub_data_big")
    # Internal: each runs in a Django process with the bench's settings.
    parser.add_argument("--seed-requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed-messages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sessions", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plans", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=int, metavar="YEAR",
                        help="in-process, in this process's database (DATABASE_URL): every dashboard filter and "
                             "the YEAR's report, each query timed (docs/benchmarks.md, target 5)")
    args = parser.parse_args()
    if (args.seed_requests is not None or args.seed_messages is not None or args.sessions or args.plans
            or args.profile):
        _django_main(args)
        return
    sys.exit(run(args))


if __name__ == "__main__":
    main()

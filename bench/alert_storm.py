"""Alert storm (issue 9): N alerts raised by token in a burst; how long until every centre has them all.

Against a fresh hub process per server (daphne, uvicorn), with nothing else connected:
- one `/ws/notifications/` socket per centre (a bench security officer of each of the 15 centres,
  tickets from `POST /api/v1/ws-tickets`), each waiting for its `hello`;
- then `POST /api/v1/alerts` N times from other bench security officers' tokens, over `LANES`
  keep-alive HTTP/1.1 connections (a small asyncio client: one request at a time per lane, the next
  as soon as the answer is read). Every alert is TLP:CLEAR or TLP:GREEN, so every centre must receive
  every one, and its title carries the run id and a sequence number, so each listener counts, per
  alert, how often it arrived.
Measured: alerts/s raised and every HTTP status (anything but 201 is a problem), the time from the
first POST to the moment every centre's stream has every alert answered 201, per-delivery latency
(POST sent → frame received, in this one process), alerts lost (answered 201, missing on some stream
`DRAIN_S` after the last answer), duplicated (twice on one stream) and delivered without a 201, and
the server's CPU and RSS over the storm.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench import procstat
from bench.fanout import redis_cpu_seconds
from bench.targets import Context, Target

LANES = 24  # concurrent keep-alive POST connections
MIN_USERS = 48  # bench users the storm wants: one listener per centre (15) + the raisers
DRAIN_S = 30.0  # after the last answer, how long a missing alert is waited for before it counts as lost
RAISE_LIMIT_S = 90.0  # no POST is started after this long (a wedged server must not stall `make bench`)
REQUEST_TIMEOUT_S = 30.0


# --- a minimal keep-alive HTTP/1.1 client (no dependency: aiohttp/httpx are not installed) ------------
class HttpLane:
    """One keep-alive connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, token, body), REQUEST_TIMEOUT_S)
        except BaseException:
            await self.close()  # the connection's state is unknown: the next request opens a new one
            raise

    async def _request(self, method: str, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader = self.reader
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Token {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode("latin-1") + body)
        await self.writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(await reader.readexactly(size))
                await reader.readline()
            payload = b"".join(parts)
        else:
            payload = await reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, payload


# --- listeners ----------------------------------------------------------------------------------------
@dataclass
class Listener:
    centre: str
    username: str
    token: str
    prefix: str  # alert titles of this run start with it
    arrivals: dict[int, float] = field(default_factory=dict)  # seq → first arrival (perf_counter)
    dups: dict[int, int] = field(default_factory=dict)  # seq → extra copies
    other_frames: dict[str, int] = field(default_factory=dict)
    closed: str | None = None
    missing: set[int] | None = None  # set once the answers are known; emptied as alerts arrive
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, frame: dict, now: float) -> None:
        alert = frame.get("alert") if frame.get("type") == "alert" else None
        title = alert.get("title", "") if isinstance(alert, dict) else ""
        if not title.startswith(self.prefix) or frame.get("event") != "raised":
            kind = f"{frame.get('type')}" + (f".{frame.get('code') or frame.get('event')}"
                                               if frame.get("type") in ("error", "alert") else "")
            self.other_frames[kind] = self.other_frames.get(kind, 0) + 1
            return
        seq = int(title[len(self.prefix):])
        if seq in self.arrivals:
            self.dups[seq] = self.dups.get(seq, 0) + 1
            return
        self.arrivals[seq] = now
        if self.missing is not None:
            self.missing.discard(seq)
            if not self.missing:
                self.done.set()

    def expect(self, seqs: set[int]) -> None:
        self.missing = set(seqs) - set(self.arrivals)
        if not self.missing:
            self.done.set()


async def _listen(listener: Listener, ws) -> None:
    try:
        async for raw in ws:
            listener.note(orjson.loads(raw), time.perf_counter())
    except Exception as exc:  # a close with an error code, or a broken frame
        listener.closed = f"{type(exc).__name__}: {exc}"[:200]
    else:
        listener.closed = listener.closed or f"closed by the server ({ws.close_code})"


async def _open_listener(listener: Listener, host: str, port: int):
    lane = HttpLane(host, port)
    try:
        status, body = await lane.request("POST", "/api/v1/ws-tickets", listener.token)
    finally:
        await lane.close()
    if status != 201:
        raise RuntimeError(f"ticket for {listener.username}: HTTP {status} {body[:200]!r}")
    ticket = urllib.parse.quote(orjson.loads(body)["ticket"])
    ws = await connect(f"ws://{host}:{port}/ws/notifications/?ticket={ticket}", max_size=1 << 22,
                       compression=None, open_timeout=15)
    hello = orjson.loads(await asyncio.wait_for(ws.recv(), 15))
    if hello.get("type") != "hello":
        await ws.close()
        raise RuntimeError(f"{listener.username}: expected hello, got {hello}")
    return ws


# --- who listens, who raises ------------------------------------------------------------------------------
def _bench_users(ctx: Context) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(centre, username, token) of one bench user per centre, every centre covered, and the tokens of
    the other bench users (the raisers). Bench user i is `bench-{i:04d}` and owns ctx.tokens[i]."""
    import psycopg

    dsn = ctx.database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        centres = [row[0] for row in conn.execute("SELECT code FROM hub_centre ORDER BY code")]
        where: dict[str, str] = dict(conn.execute(
            "SELECT u.username, c.code FROM hub_user u JOIN hub_centre c ON c.id = u.centre_id "
            "WHERE u.username LIKE 'bench-%' AND u.is_active"
        ).fetchall())
    listeners: dict[str, tuple[str, str, str]] = {}
    for index, token in enumerate(ctx.tokens):
        username = f"bench-{index:04d}"
        centre = where.get(username)
        if centre is not None and centre not in listeners:
            listeners[centre] = (centre, username, token)
    missing = [c for c in centres if c not in listeners]
    if missing:
        raise RuntimeError(f"no bench user in centre(s) {', '.join(missing)} (need ≥ {len(centres)} bench users)")
    taken = {token for _, _, token in listeners.values()}
    raisers = [t for t in ctx.tokens if t not in taken] or list(taken)
    return [listeners[c] for c in centres], raisers


def _payload(prefix: str, seq: int) -> bytes:
    return orjson.dumps({
        "title": f"{prefix}{seq}",
        "severity": "medium",  # medium never escalates: nothing else runs during the storm
        "tlp": "clear" if seq % 2 else "green",
        "description": f"Bench alert storm, alert **{seq}**: every centre must receive it exactly once.",
        "indicators": [{"type": "ipv4", "value": f"198.51.100.{seq % 254 + 1}"},
                       {"type": "domain", "value": f"storm-{seq}.example[.]com"}],
        "affected_systems": ["bench"],
        "recommended_actions": "None: this is a benchmark.",
    })


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, int(q * len(ranked) + 0.999999) - 1))]


# --- one server -------------------------------------------------------------------------------------------
async def _storm(ctx: Context, server: str, alerts: int, lanes: int, drain_s: float, log,
                 processes: int = 1) -> dict:
    label = server if processes == 1 else f"{server}-{processes}"
    target = Target(f"alerts-{label}", "hub", server, processes)
    sockets: list = []
    tasks: list[asyncio.Task] = []
    http_lanes: list[HttpLane] = []
    try:
        chosen, raisers = _bench_users(ctx)
        target.start(ctx)
        # With several processes (a deployment's answer to a burst, behind a proxy spreading the
        # connections), listeners and raising lanes are spread over them in turn: an alert raised on
        # one process reaches the listeners of the other through Redis.
        host, ports, pids = "127.0.0.1", target.ports, target.pids
        prefix = f"Bench storm {ctx.run_id}-{label} #"
        listeners = [Listener(centre, username, token, prefix) for centre, username, token in chosen]
        sockets = await asyncio.gather(*(_open_listener(li, host, ports[i % len(ports)])
                                         for i, li in enumerate(listeners)))
        tasks = [asyncio.create_task(_listen(li, ws)) for li, ws in zip(listeners, sockets, strict=True)]

        sent: dict[int, float] = {}
        answers: dict[int, tuple[int | str, float]] = {}  # seq → (status or error, answered at)
        queue = iter(range(alerts))
        lanes = max(1, min(lanes, alerts))
        http_lanes = [HttpLane(host, ports[i % len(ports)]) for i in range(lanes)]
        deadline = time.perf_counter() + RAISE_LIMIT_S
        cpu0 = sum(procstat.cpu_seconds(pid) for pid in pids)
        redis0, client0 = redis_cpu_seconds(ctx.redis_url), time.process_time()
        t0 = time.perf_counter()

        async def lane(index: int) -> None:
            token = raisers[index % len(raisers)]
            for seq in queue:
                if time.perf_counter() > deadline:
                    answers[seq] = ("not sent: raise time limit", time.perf_counter())
                    continue
                body = _payload(prefix, seq)
                sent[seq] = time.perf_counter()
                try:
                    status, _ = await http_lanes[index].request("POST", "/api/v1/alerts", token, body)
                    answers[seq] = (status, time.perf_counter())
                except Exception as exc:
                    answers[seq] = (type(exc).__name__, time.perf_counter())

        await asyncio.gather(*(lane(i) for i in range(lanes)))
        t_answered = time.perf_counter()
        ok = {seq for seq, (status, _) in answers.items() if status == 201}
        for li in listeners:
            li.expect(ok)
        drained = True
        try:
            await asyncio.wait_for(asyncio.gather(*(li.done.wait() for li in listeners)), drain_s)
        except TimeoutError:
            drained = False
        t_done = time.perf_counter()
        cpu1 = sum(procstat.cpu_seconds(pid) for pid in pids)
        redis1, client1 = redis_cpu_seconds(ctx.redis_url), time.process_time()
        rss = sum(procstat.rss_kib(pid) for pid in pids) / 1024
        await asyncio.sleep(1.0)  # late duplicates still count
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in sockets:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except Exception:
                pass
        for http_lane in http_lanes:
            await http_lane.close()
        target.stop()

    statuses: dict[str, int] = {}
    for status, _ in answers.values():
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    latencies = [(li.arrivals[seq] - sent[seq]) * 1000 for li in listeners for seq in ok if seq in li.arrivals]
    # How long after its 201 answer a frame reached a centre (negative: before), free of the HTTP queueing
    # that dominates the POST → frame latency of a burst.
    after_answer = [(li.arrivals[seq] - answers[seq][1]) * 1000 for li in listeners for seq in ok if seq in li.arrivals]
    post_ms = [(answers[seq][1] - sent[seq]) * 1000 for seq in sent if seq in answers]
    lost_by_centre = {li.centre: len(ok - set(li.arrivals)) for li in listeners}
    dup_by_centre = {li.centre: sum(li.dups.values()) for li in listeners}
    unanswered = {li.centre: len(set(li.arrivals) - ok) for li in listeners}
    complete = [li.arrivals[seq] for li in listeners for seq in ok if seq in li.arrivals]
    raise_s = max((at for _, at in answers.values()), default=t0) - t0
    wall = t_done - t0
    result: dict[str, Any] = {
        "server": label,
        "processes": processes,
        "alerts": alerts,
        "lanes": lanes,
        "centres": len(listeners),
        "listeners": {li.centre: li.username for li in listeners},
        "statuses": statuses,
        "created": len(ok),
        "raise_s": raise_s,
        "alerts_per_s": len(ok) / raise_s if raise_s > 0 else 0.0,
        "post_p50_ms": _pct(post_ms, 0.50),
        "post_p99_ms": _pct(post_ms, 0.99),
        # first POST → every centre has every alert answered 201 (None: some never arrived)
        "all_delivered_s": (max(complete) - t0) if drained and complete else None,
        "answers_done_s": t_answered - t0,
        "expected": len(ok) * len(listeners),
        "delivered": len(latencies),
        "lost": sum(lost_by_centre.values()),
        "dup": sum(dup_by_centre.values()),
        "received_by_centre": {li.centre: len(ok & set(li.arrivals)) for li in listeners},
        "lost_by_centre": {c: n for c, n in lost_by_centre.items() if n},
        "dup_by_centre": {c: n for c, n in dup_by_centre.items() if n},
        "delivered_without_201": sum(unanswered.values()),
        "p50_ms": _pct(latencies, 0.50),
        "p95_ms": _pct(latencies, 0.95),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": max(latencies, default=0.0),
        "after_answer_p50_ms": _pct(after_answer, 0.50),
        "after_answer_p99_ms": _pct(after_answer, 0.99),
        "deliveries_per_s": len(latencies) / (max(complete) - t0) if complete and max(complete) > t0 else 0.0,
        "server_cpu_pct": 100 * (cpu1 - cpu0) / wall if wall > 0 else 0.0,
        "redis_cpu_pct": 100 * (redis1 - redis0) / wall if wall > 0 else 0.0,
        "client_cpu_pct": 100 * (client1 - client0) / wall if wall > 0 else 0.0,
        "server_rss_mib": rss,
        "other_frames": {k: v for li in listeners for k, v in li.other_frames.items()},
        "closed": {li.centre: li.closed for li in listeners if li.closed},
        "drained": drained,
    }
    errors = []
    if set(statuses) != {"201"}:
        errors.append(f"answers other than 201: {', '.join(f'{n}× {s}' for s, n in sorted(statuses.items()))}")
    if result["lost"]:
        errors.append(f"{result['lost']} deliveries lost {result['lost_by_centre']}")
    if result["dup"]:
        errors.append(f"{result['dup']} deliveries duplicated {result['dup_by_centre']}")
    if result["closed"]:
        errors.append(f"listeners closed early: {result['closed']}")
    if any(k.startswith("error") for k in result["other_frames"]):
        errors.append(f"error frames: {result['other_frames']}")
    result["error"] = "; ".join(errors) or None
    return result


async def measure_alert_storm(ctx: Context, alerts: int, servers=("daphne", "uvicorn"), lanes: int = LANES,
                              drain_s: float = DRAIN_S, log=print, processes: int = 1) -> dict:
    """Raise `alerts` alerts in a burst against fresh hub processes (`processes` of them, one by default)
    per server; see the module doc. A run of several processes is named `uvicorn-2` and so on."""
    out: dict = {"alerts": alerts, "lanes": lanes, "runs": {}}
    errors = []
    for name in servers:
        server = name if processes == 1 else f"{name}-{processes}"
        t0 = time.perf_counter()
        try:
            r = await _storm(ctx, name, alerts, lanes, drain_s, log, processes=processes)
        except Exception as exc:
            r = {"server": server, "error": f"{type(exc).__name__}: {exc}"[:1000], "failed": True}
            log(f"  {server}: ERROR {r['error']}")
        else:
            done = f"{r['all_delivered_s']:.2f} s" if r["all_delivered_s"] is not None else "never"
            log(f"  {server}: {r['created']:,}/{alerts:,} alerts answered 201 at {r['alerts_per_s']:,.0f}/s; "
                f"every centre ({r['centres']}) had every alert after {done}; delivery p50 {r['p50_ms']:.0f} ms, "
                f"p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms (after the 201: p50 "
                f"{r['after_answer_p50_ms']:.0f} ms, p99 {r['after_answer_p99_ms']:.0f} ms); lost {r['lost']}, "
                f"dup {r['dup']}; "
                f"server CPU {r['server_cpu_pct']:.0f}%")
            if r["error"]:
                log(f"  {server}: PROBLEM {r['error']}")
        r["elapsed_s"] = time.perf_counter() - t0
        out["runs"][server] = r
        if r.get("error"):
            errors.append(f"{server}: {r['error']}")
    out["error"] = "; ".join(errors) or None
    return out

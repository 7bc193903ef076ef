"""The fan-out measurement: C clients in one room, S senders at a fixed total rate, per target.

The orchestrator (this module) never touches a socket. It starts W node workers (bench/loadgen.js),
gives each its share of the clients, and tells all of them to start a phase at the same monotonic
instant. Each worker counts, per client and per message, how often it arrived (so duplicates are
counted, not only losses) and keeps a mergeable latency histogram; the orchestrator merges them and
samples the server's and the workers' CPU and RSS from /proc around each phase.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import procstat
from bench.targets import ROOT, Context, Target

LOADGEN = ROOT / "bench" / "loadgen.js"
# The threads-and-reactions row (Target.mix, issue 26 "Done means"): of every MIX_EVERY messages, one
# is a threaded reply to one root (each also a `thread.updated` frame to every client) and one is
# followed by its sender toggling a reaction on that root over HTTP (a `message.reactions` frame to
# every client). Deliveries and latencies count the messages, as in every row; the other frames are
# the extra fan-out whose cost the row shows beside the plain hub-uvicorn-1.
MIX_EVERY = 3


@dataclass
class Phase:
    name: str  # "5/s", "25/s", "saturation"
    rate: float  # messages/s offered (all senders together)
    messages: int  # messages sent in the phase
    drain_s: float  # how long after the last send to wait for stragglers before counting losses


@dataclass
class PhaseResult:
    target: str
    design: str
    server: str
    processes: int
    layer: str
    phase: str
    clients: int
    rate: float
    messages: int
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    dup: int = 0
    deliveries_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu_pct: float = 0.0
    # Each server process's share of server_cpu_pct (a target of several processes: where the CPU went).
    server_cpu_by_process: list[float] = field(default_factory=list)
    server_rss_mib: float = 0.0
    gen_cpu_pct: float = 0.0
    redis_cpu_pct: float = 0.0
    # Each Redis server's share of redis_cpu_pct (a target over two: how the layer's work split).
    redis_cpu_by_server: list[float] = field(default_factory=list)
    max_send_lag_ms: float = 0.0
    error_frames: dict = field(default_factory=dict)
    error_sample: str | None = None
    closes: dict = field(default_factory=dict)
    send_failures: int = 0
    reactions: int = 0  # reactions toggled during the phase (the threads-and-reactions row only)
    # WebSocket frames the clients received (each one write of the server to a socket), and of the
    # threads-and-reactions row the `message.reactions` frames among them (state frames: a newer
    # one replaces an older one waiting, hub/realtime/receiver.py).
    frames: int = 0
    reaction_frames: int = 0
    # Per message: send → its first receiver (the path through the server before any fan-out) and
    # first → last receiver (the fan-out itself), as (p50, max) over the phase's messages.
    first_ms: tuple[float, float] | None = None
    spread_ms: tuple[float, float] | None = None

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.dup == 0 and self.send_failures == 0 and not self.error_frames


@dataclass
class TargetResult:
    target: str
    design: str
    server: str
    processes: int
    layer: str
    clients: int
    connected: int = 0
    connect_failures: dict = field(default_factory=dict)  # still failing after the retry rounds
    storm_failures: dict = field(default_factory=dict)  # refused while every client connected at once
    connect_s: float = 0.0
    connect_cpu_s: float = 0.0  # the server processes' CPU (user + system) while every client connected
    rss_base_mib: float = 0.0
    rss_idle_mib: float = 0.0
    rss_per_conn_kib: float = 0.0
    phases: list[PhaseResult] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


HIST_LIMITS_MS = [(b + 1) * 0.1 for b in range(1000)] + [100 + (b + 1) * 10 for b in range(990)] + [
    10000 + (b + 1) * 1000 for b in range(111)
]


def percentile(hist: list[int], q: float) -> float:
    """Upper bound of the histogram bucket holding the q-quantile (0.1 ms resolution below 100 ms)."""
    total = sum(hist)
    if total == 0:
        return 0.0
    rank = max(1, int(q * total + 0.999999))
    seen = 0
    for bucket, count in enumerate(hist):
        seen += count
        if seen >= rank:
            return HIST_LIMITS_MS[bucket]
    return HIST_LIMITS_MS[-1]


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.senders: list[list[int]] = []  # [local client index, global sender index]

    async def read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None and self.proc.stderr is not None  # started with PIPEs
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            err = (await self.proc.stderr.read()).decode(errors="replace")[-2000:]
            raise RuntimeError(f"load generator exited: {err}")
        return json.loads(line)

    async def command(self, cmd: dict[str, Any]) -> None:
        assert self.proc.stdin is not None  # started with a PIPE
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()


def ensure_node_modules() -> None:
    import subprocess

    if not (ROOT / "bench" / "node_modules" / "ws").exists():
        subprocess.run(["npm", "ci", "--prefix", str(ROOT / "bench"), "--no-audit", "--no-fund", "--silent"],
                       check=True)


async def measure(target: Target, ctx: Context, clients: int, senders: int, workers: int,
                  phases: list[Phase], connect_concurrency: int, burst: bool = True, log=print) -> TargetResult:
    result = TargetResult(target.name, target.design, target.server, target.processes, target.layer, clients)
    target.start(ctx)
    procs: list[Worker] = []
    try:
        time.sleep(0.5)
        result.rss_base_mib = sum(procstat.rss_kib(p) for p in target.pids) / 1024
        shares: list[list[dict]] = [[] for _ in range(workers)]
        sender_of: list[list[list[int]]] = [[] for _ in range(workers)]
        for i in range(clients):
            w = i % workers
            if i < senders:
                sender_of[w].append([len(shares[w]), i])
            shares[w].append(target.client(ctx, i))
        per_worker = max(1, (connect_concurrency or clients) // workers)
        for w in range(workers):
            cfg = ctx.log_dir / f"{target.name}-worker{w}.json"
            cfg.write_text(json.dumps({"clients": shares[w], "handshake_concurrency": per_worker,
                                       "connect_deadline_ms": 90_000, "retry_concurrency": 20}))
            proc = await asyncio.create_subprocess_exec(
                "node", str(LOADGEN), str(cfg), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=1 << 24,
            )
            worker = Worker(proc)
            worker.senders = sender_of[w]
            procs.append(worker)
        cpu0 = sum(procstat.cpu_seconds(p) for p in target.pids)
        t0 = time.monotonic()
        connected = await asyncio.gather(*(w.read(timeout=150) for w in procs))
        result.connect_s = time.monotonic() - t0
        result.connect_cpu_s = sum(procstat.cpu_seconds(p) for p in target.pids) - cpu0
        result.connected = sum(c["open"] for c in connected)
        for c in connected:
            for reason, n in c["failures"].items():
                result.connect_failures[reason] = result.connect_failures.get(reason, 0) + n
            for reason, n in c["storm_failures"].items():
                result.storm_failures[reason] = result.storm_failures.get(reason, 0) + n
        log(f"  {target.name}: {result.connected}/{clients} connected in {result.connect_s:.1f}s"
            + (f"; {sum(result.storm_failures.values())} refused in the storm {result.storm_failures}"
               if result.storm_failures else "")
            + (f", failures {result.connect_failures}" if result.connect_failures else ""))
        await asyncio.sleep(1.0)
        result.rss_idle_mib = sum(procstat.rss_kib(p) for p in target.pids) / 1024
        if result.connected:
            result.rss_per_conn_kib = (result.rss_idle_mib - result.rss_base_mib) * 1024 / result.connected
        mix = thread_root(target, ctx) if target.mix else None
        spies = start_py_spy(target, ctx)
        for number, phase in enumerate(phases, start=1):
            if result.phases and result.phases[-1].lost:
                log(f"  {target.name}: {phase.name} skipped, the previous phase did not drain")
                burst = False
                break
            result.phases.append(await run_phase(target, procs, number, phase, clients, senders,
                                                 target.redis_urls(ctx), mix))
            r = result.phases[-1]
            log(f"  {target.name} {phase.name}: {r.deliveries_per_s:,.0f} deliveries/s, p50 {r.p50_ms:.1f} ms, "
                f"p99 {r.p99_ms:.1f} ms, max {r.max_ms:.0f} ms, lost {r.lost}, dup {r.dup}, "
                f"server CPU {r.server_cpu_pct:.0f}%{_by_process(r)}, Redis {r.redis_cpu_pct:.0f}%{_by_server(r)}, "
                f"generator CPU {r.gen_cpu_pct:.0f}%"
                + (f", errors {r.error_frames} {r.error_sample}" if r.error_frames else "")
                + (f", closes {r.closes}" if r.closes else "")
                + (f", {r.reactions} reactions" if mix else "")
                + (f", {r.frames / max(1, r.delivered):.2f} socket writes per delivery"
                   + (f" ({r.reaction_frames / max(1, r.clients):.1f} reaction frames per client)"
                      if mix else "") if r.frames else "")
                + (f"; per message: send → first receiver p50 {r.first_ms[0]:.1f} / max {r.first_ms[1]:.1f} ms, "
                   f"first → last receiver p50 {r.spread_ms[0]:.1f} / max {r.spread_ms[1]:.1f} ms"
                   if r.first_ms and r.spread_ms else ""))
            await asyncio.sleep(0.5)
        if burst and result.phases and not result.phases[-1].lost:
            phase = burst_after(result.phases[-1], clients)
            result.phases.append(await run_phase(target, procs, len(phases) + 1, phase, clients, senders,
                                                 target.redis_urls(ctx), mix))
            r = result.phases[-1]
            log(f"  {target.name} {phase.name} ({phase.messages} messages): {r.deliveries_per_s:,.0f} deliveries/s, "
                f"lost {r.lost}, dup {r.dup}, server CPU {r.server_cpu_pct:.0f}%{_by_process(r)}, "
                f"generator CPU {r.gen_cpu_pct:.0f}%")
        stop_py_spy(spies)
    except Exception as exc:  # one broken target must not hide the others' figures
        result.error = f"{type(exc).__name__}: {exc}"
        log(f"  {target.name}: ERROR {result.error}")
    finally:
        for worker in procs:
            try:
                await worker.command({"cmd": "close"})
                await asyncio.wait_for(worker.proc.wait(), 10)
            except Exception:
                worker.proc.kill()
        target.stop()
    return result


def _by_process(r: PhaseResult) -> str:
    """Each process's CPU, " (58 + 55)", for a target of several processes."""
    if len(r.server_cpu_by_process) < 2:
        return ""
    return " (" + " + ".join(f"{cpu:.0f}" for cpu in r.server_cpu_by_process) + ")"


def _by_server(r: PhaseResult) -> str:
    """Each Redis server's CPU, for a target over two."""
    if len(r.redis_cpu_by_server) < 2:
        return ""
    return " (" + " + ".join(f"{cpu:.1f}" for cpu in r.redis_cpu_by_server) + ")"


def thread_root(target: Target, ctx: Context) -> dict[str, Any]:
    """The message the threads-and-reactions row replies to and reacts on, posted over HTTP."""
    import urllib.request

    from bench.targets import TOPIC

    request = urllib.request.Request(
        f"http://127.0.0.1:{target.ports[0]}/api/v1/topics/{TOPIC}/messages", method="POST",
        data=json.dumps({"body": "bench thread root"}).encode(),
        headers={"Authorization": f"Token {ctx.tokens[0]}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        root = json.loads(response.read())["id"]
    return {"root": root, "every": MIX_EVERY, "topic": TOPIC}


def redis_cpu_seconds(url: str) -> float:
    """Redis' own CPU (INFO cpu): the layer's cost is part of each design's cost."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        info = client.info("cpu")
        client.close()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:
        return 0.0


def burst_after(last: PhaseResult, clients: int) -> Phase:
    """A saturating burst: messages offered far faster than any design fans them out, sized from the
    previous phase's achieved message rate so that draining it takes roughly 8 seconds whatever the
    design (a fixed size would take minutes on the slowest and milliseconds on the fastest). Its
    throughput is the deliveries/s sustained while the backlog drains."""
    achieved = last.deliveries_per_s / clients if clients else last.rate
    messages = max(30, min(400, int(8 * achieved)))
    return Phase("saturation", rate=max(1000.0, 200_000 / clients), messages=messages, drain_s=45)


def start_py_spy(target: Target, ctx: Context) -> list:
    """With BENCH_PY_SPY=<py-spy binary>, sample each server process through the phases (profiling
    is how a missed target gets explained); collapsed stacks land beside the run's logs."""
    import os
    import subprocess

    binary = os.environ.get("BENCH_PY_SPY")
    if not binary:
        return []
    return [subprocess.Popen([binary, "record", "-p", str(pid), "-f", "raw", "-r", "200", "--nonblocking",
                              "-o", str(ctx.log_dir / f"{target.name}-{i}.pyspy.txt")],
                             stdout=subprocess.DEVNULL,
                             stderr=open(ctx.log_dir / f"{target.name}-{i}.pyspy.err", "wb"))
            for i, pid in enumerate(target.pids)]


def stop_py_spy(spies: list) -> None:
    import signal

    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        spy.wait(30)


async def run_phase(target: Target, procs: list[Worker], number: int, phase: Phase, clients: int,
                    senders: int, redis_urls: list[str], mix: dict[str, Any] | None = None) -> PhaseResult:
    r = PhaseResult(target.name, target.design, target.server, target.processes, target.layer, phase.name,
                    clients, phase.rate, phase.messages)
    start_at_us = (time.monotonic_ns() // 1000) + 500_000
    per_process0 = [procstat.cpu_seconds(p) for p in target.pids]
    server_cpu0 = sum(per_process0)
    gen_cpu0 = sum(procstat.cpu_seconds(w.proc.pid) for w in procs)
    redis_cpu0 = [redis_cpu_seconds(url) for url in redis_urls]
    wall0 = time.monotonic()
    rss_peak = 0.0
    for w in procs:
        await w.command({
            "cmd": "run", "phase": number, "start_at_us": start_at_us, "rate": phase.rate,
            "total": phase.messages, "senders": w.senders, "S": senders, "drain_ms": phase.drain_s * 1000,
            # Reactions at the fixed rates only: in the saturating burst they would be hundreds of HTTP
            # requests a second, a benchmark of the HTTP path (bench.http has its own), not of the fan-out.
            **({"mix": {**mix, "react": phase.name != "saturation"}} if mix else {}),
        })
    budget = phase.messages / phase.rate + phase.drain_s + 30
    pending = [asyncio.ensure_future(w.read(timeout=budget)) for w in procs]
    while not all(p.done() for p in pending):
        await asyncio.wait(pending, timeout=0.5)
        rss_peak = max(rss_peak, sum(procstat.rss_kib(p) for p in target.pids) / 1024)
    outs = [p.result() for p in pending]
    # CPU over the phase itself: from the common start to the last result, less the workers' settle.
    wall = max(0.1, time.monotonic() - wall0 - 0.5 - 0.3)
    per_process = [procstat.cpu_seconds(p) for p in target.pids]
    r.server_cpu_pct = 100 * (sum(per_process) - server_cpu0) / wall
    r.server_cpu_by_process = [100 * (b - a) / wall for a, b in zip(per_process0, per_process, strict=True)]
    r.gen_cpu_pct = 100 * (sum(procstat.cpu_seconds(w.proc.pid) for w in procs) - gen_cpu0) / wall
    r.redis_cpu_by_server = [100 * (redis_cpu_seconds(url) - before) / wall
                             for url, before in zip(redis_urls, redis_cpu0, strict=True)]
    r.redis_cpu_pct = sum(r.redis_cpu_by_server)
    r.server_rss_mib = rss_peak
    hist = [0] * len(outs[0]["hist"])
    first: list[float | None] = [None] * phase.messages
    last: list[float] = [0.0] * phase.messages
    last_recv = 0.0
    for out in outs:
        if out.get("event") != "result":
            raise RuntimeError(f"load generator answered {out}")
        r.expected += out["expected"]
        r.delivered += out["unique"]
        r.lost += out["lost"]
        r.dup += out["dup"]
        r.send_failures += out["send_failures"]
        r.reactions += out.get("reactions", 0)
        r.frames += out.get("frames", 0)
        r.reaction_frames += out.get("reaction_frames", 0)
        r.max_ms = max(r.max_ms, out["max_ms"])
        r.max_send_lag_ms = max(r.max_send_lag_ms, out["max_send_lag_ms"])
        last_recv = max(last_recv, out["last_recv_us"])
        for code, n in out["error_frames"].items():
            r.error_frames[code] = r.error_frames.get(code, 0) + n
        for code, n in out["closes"].items():
            r.closes[code] = r.closes.get(code, 0) + n
        r.error_sample = r.error_sample or out["error_sample"]
        hist = [a + b for a, b in zip(hist, out["hist"], strict=False)]
        for g, (f, la) in enumerate(zip(out.get("first_ms", []), out.get("last_ms", []), strict=False)):
            if f is not None:
                first[g] = f if first[g] is None else min(first[g], f)
                last[g] = max(last[g], la)
    arrived = [(f, last[g] - f) for g, f in enumerate(first) if f is not None]
    if arrived:
        firsts, spreads = sorted(a for a, _ in arrived), sorted(b for _, b in arrived)
        r.first_ms = (firsts[len(firsts) // 2], firsts[-1])
        r.spread_ms = (spreads[len(spreads) // 2], spreads[-1])
    # Counted over the clients connected when the phase began (a client that could not connect at all
    # is reported, and fails the run, as a connect failure); one that drops mid-phase loses messages.
    r.clients = sum(o["open_at_start"] for o in outs)
    if last_recv > start_at_us:
        # A fixed-rate phase lasts messages/rate seconds however fast the server is; a burst lasts
        # until its last delivery, so there this is the throughput the server sustained.
        span = max(phase.messages / phase.rate, (last_recv - start_at_us) / 1e6)
        r.deliveries_per_s = r.delivered / span
    r.p50_ms, r.p95_ms, r.p99_ms = (percentile(hist, q) for q in (0.50, 0.95, 0.99))
    return r

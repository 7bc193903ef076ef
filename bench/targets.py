"""The servers `make bench` measures: the hub as deployed and the two reference designs.

Every target is started as real server processes on free ports (P processes → P ports, clients split
between them round-robin, all on one Redis) and stopped with SIGTERM. Each knows how a client
reaches it: the references take any connection, the hub wants a single-use ticket from
`POST /api/v1/ws-tickets` (the load generator fetches one per connection, as scripts do).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from hub.server import serve

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "an-toan-thong-tin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode}):\n{tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not listen within {timeout}s:\n{tail(log)}")


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy within {timeout}s:\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Target:
    """One row of the table: a design, its server, its number of processes."""

    name: str
    design: str  # "hub" | "tutorial" | "raw" | "bare"
    server: str  # "daphne" | "uvicorn" | "websockets"
    processes: int = 1
    layer: str = "pubsub"
    # The hub with threads and reactions mixed into the fan-out (bench.fanout.MIX_EVERY): of every three
    # messages one is a threaded reply and one is followed by a reaction toggled over HTTP.
    mix: bool = False
    # The hub's channel layer over this many Redis servers (HUB_CHANNEL_REDIS_URLS: the run's Redis and
    # Context.second_redis_url; docs/deployment.md, "Past one Redis"). Rate limits and presence stay on
    # the run's Redis, as in a deployment.
    redis_servers: int = 1
    # Any other server speaking the same frames: its command line, "{port}" replaced (harness tests).
    custom: list[str] | None = None
    procs: list[subprocess.Popen] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self, ctx: Context) -> None:
        for index in range(self.processes):
            port = free_port()
            log = ctx.log_dir / f"{self.name}-{index}.log"
            cmd, env = self.command(ctx, port)
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
            self.procs.append(proc)
            self.ports.append(port)
            self.logs.append(log)
        for proc, port, log in zip(self.procs, self.ports, self.logs, strict=False):
            if self.design == "hub":
                wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
            else:
                wait_tcp(port, proc, log)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def command(self, ctx: Context, port: int) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ, PYTHONUNBUFFERED="1", REDIS_URL=ctx.redis_url)
        if self.custom:
            return [part.replace("{port}", str(port)) for part in self.custom], env
        if self.design == "raw":
            return [sys.executable, "-m", "bench.reference.raw", "--port", str(port),
                    "--redis", ctx.redis_url, "--prefix", self.name + "-" + ctx.run_id], env
        if self.design == "bare":  # the same server command line as the hub's, another application
            env["BENCH_PREFIX"] = self.name + "-" + ctx.run_id
            return serve.command(self.server, "127.0.0.1", str(port), app="bench.reference.bare:application"), env
        if self.design == "tutorial":
            env.update(DJANGO_SETTINGS_MODULE="bench.reference.tutorial.settings", BENCH_LAYER=self.layer,
                       BENCH_PREFIX=self.name + "-" + ctx.run_id)
            return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                    "bench.reference.tutorial.asgi:application"], env
        env.update(ctx.hub_env())
        env.update(ASGI_SERVER=self.server, HOST="127.0.0.1", PORT=str(port), HUB_CHANNEL_LAYER=self.layer,
                   HUB_CHANNEL_PREFIX=f"{self.name}-{ctx.run_id}")
        if self.redis_servers > 1:
            env["HUB_CHANNEL_REDIS_URLS"] = ",".join(self.redis_urls(ctx))
        return [sys.executable, "-m", "hub.server.serve"], env

    def redis_urls(self, ctx: Context) -> list[str]:
        """The Redis servers this target's channel layer uses (whose CPU its rows count)."""
        if self.redis_servers == 1:
            return [ctx.redis_url]
        if ctx.second_redis_url is None:
            raise RuntimeError("this target needs a second Redis server (--second-redis-url)")
        return [ctx.redis_url, ctx.second_redis_url]

    # --- what the load generator needs ----------------------------------------------------------
    def client(self, ctx: Context, index: int) -> dict:
        port = self.ports[index % len(self.ports)]
        client = {"url": f"ws://127.0.0.1:{port}/ws/topics/{TOPIC}/"}
        if self.design == "hub":
            if ctx.batch:  # as the web UI does: events that arrive together come as one frame
                client["url"] += "?batch=1"
            client["ticket_url"] = f"http://127.0.0.1:{port}/api/v1/ws-tickets"
            client["token"] = ctx.tokens[index % len(ctx.tokens)]
        return client


@dataclass
class Context:
    """What every target of one run shares: Redis, the hub's bench database and its users."""

    redis_url: str
    database_url: str
    log_dir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    tokens: list[str] = field(default_factory=list)
    rate_limit: int = 100000
    hub_overrides: dict[str, str] = field(default_factory=dict)  # --hub-env, for experiments
    batch: bool = True  # hub clients ask for `batch` frames (--no-batch: one frame per message)
    second_redis_url: str | None = None  # for targets over two Redis servers (Target.redis_servers)

    def hub_env(self) -> dict[str, str]:
        # Production-like: DEBUG off (DEBUG keeps every SQL query in memory), real secret, no HTTPS
        # redirect on loopback. The per-user rate limits (post, write, alert) are raised so that the
        # offered rate, not the limiter, decides what is sent (the limiter is covered by the hub's tests).
        return {
            "DATABASE_URL": self.database_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + self.run_id + "-not-a-production-secret-key-0123456789",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HUB_HTTPS": "0",
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_RATE_LIMIT_PER_SECOND": str(self.rate_limit),
            "HUB_RATE_LIMIT_BURST": str(self.rate_limit),
            "HUB_WRITE_LIMIT_PER_SECOND": str(self.rate_limit),
            "HUB_WRITE_LIMIT_BURST": str(self.rate_limit),
            "HUB_ALERT_LIMIT_PER_MINUTE": str(self.rate_limit * 60),
            "HUB_ALERT_LIMIT_BURST": str(self.rate_limit),
            "HUB_REDIS_MAX_CONNECTIONS": "1000",
        } | self.hub_overrides

    # --- the hub's database -----------------------------------------------------------------------
    def prepare_hub_database(self, users: int, fresh: bool = True) -> None:
        """Create the bench database, migrate it, seed the demo data and `users` bench users."""
        import psycopg

        dsn = self.database_url.replace("postgres://", "postgresql://", 1)
        base, _, name = dsn.rpartition("/")
        if fresh:
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        env = dict(os.environ, **self.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings")
        env["REDIS_URL"] = self.redis_url
        py = sys.executable
        for cmd in ([py, "manage.py", "migrate", "--noinput"], [py, "manage.py", "seed_demo"]):
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{' '.join(cmd[1:])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        out = self.log_dir / "tokens.json"
        done = subprocess.run([py, "-m", "bench.seed_users", "--count", str(users), "--out", str(out)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"seeding bench users failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        self.tokens = json.loads(out.read_text())

"""Real hub server processes for end-to-end tests (daphne or uvicorn, on free ports).

The server runs `python -m hub.server.serve` — the very command `make run` and docker-compose use — against
the test database of the running test session, so tests must use `transactional_db` (data committed,
visible to the server process).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of a server process, from /proc (no psutil)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def database_url_of_test_db() -> str:
    """The URL of the database the test session is using right now (the test database)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@dataclass
class HubServer:
    port: int
    process: subprocess.Popen
    server: str
    log_path: Path
    env: dict = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_hub(server: str = "daphne", extra_env: dict | None = None, tmp_dir: Path | None = None,
              timeout: float = 30) -> HubServer:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "ASGI_SERVER": server,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": database_url_of_test_db(),
            "DJANGO_DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("TEST_DB_NAME", None)
    env.update(extra_env or {})
    log_dir = tmp_dir or Path("/tmp")
    log_path = log_dir / f"hub-{server}-{port}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.server.serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    hub = HubServer(port=port, process=process, server=server, log_path=log_path, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server} exited early:\n{hub.log()}")
        try:
            with urllib.request.urlopen(hub.http + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return hub
        except OSError:
            time.sleep(0.2)
    hub.stop(signal.SIGKILL)
    raise RuntimeError(f"{server} did not become healthy within {timeout}s:\n{hub.log()}")

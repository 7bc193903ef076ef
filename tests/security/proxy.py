"""The shipped nginx configuration (deploy/nginx.conf), run in front of a test hub: its `server` block
unchanged — the headers it sets are what is under test — with only the upstream (Docker's DNS name)
pointed at the hub's port and the listen address moved to a free loopback port."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.live import ROOT, free_port

SHIPPED = ROOT / "deploy" / "nginx.conf"


def nginx_problem() -> str | None:
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return None
    return "nginx is not installed (the Makefile installs nginx-light when run as root)"


def config_for(upstream_port: int, listen_port: int, folder: Path) -> str:
    """deploy/nginx.conf's `server` block, listening on `listen_port`, proxying to the hub."""
    shipped = SHIPPED.read_text()
    server = shipped[shipped.index("server {"):]
    server = re.sub(r"listen\s+80;", f"listen 127.0.0.1:{listen_port};", server)
    server = server.replace("/srv/static/", str(folder / "static") + "/")
    return f"""
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    upstream hub {{ server 127.0.0.1:{upstream_port}; }}
    {server}
}}
"""


@dataclass
class Proxy:
    port: int
    process: subprocess.Popen

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_nginx(upstream_port: int, folder: Path) -> Proxy:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "static").mkdir(exist_ok=True)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(config_for(upstream_port, port, folder))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([binary, "-c", str(config), "-p", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proxy = Proxy(port, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nginx exited: " + (folder / "error.log").read_text(errors="replace"))
        try:
            with urllib.request.urlopen(proxy.http + "/healthz", timeout=2):
                return proxy
        except OSError:
            time.sleep(0.2)
    proxy.stop()
    raise RuntimeError("nginx did not answer")

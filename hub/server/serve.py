"""Start the hub under the chosen ASGI server with the same limits for both.

`python -m hub.server.serve` (what `make run` and docker-compose call). `ASGI_SERVER` picks `daphne` (the
default) or `uvicorn`; `HOST`/`PORT` the address. Both get the same WebSocket limits — maximum
message and frame size, ping interval and timeout, handshake timeout — the same compression (none:
see `per_message_deflate`) and the same proxy-header handling: none. Neither server rewrites the
client's address from `X-Forwarded-For` (daphne's `--proxy-headers` believed any client's header);
the hub decides it from the proxies the deployment declares (`HUB_TRUSTED_PROXIES`,
hub/lib/client_ip.py). The application itself never imports either.
"""

from __future__ import annotations

import os
import sys


def limits() -> dict[str, float]:
    max_message = int(os.environ.get("HUB_WS_MAX_MESSAGE_BYTES", 64 * 1024))
    return {
        "max_message": max_message,
        "max_frame": int(os.environ.get("HUB_WS_MAX_FRAME_BYTES", max_message)),
        "ping_interval": float(os.environ.get("HUB_WS_PING_INTERVAL", 20)),
        "ping_timeout": float(os.environ.get("HUB_WS_PING_TIMEOUT", 20)),
        "handshake_timeout": float(os.environ.get("HUB_WS_HANDSHAKE_TIMEOUT", 10)),
        "backlog": int(os.environ.get("HUB_LISTEN_BACKLOG", 2048)),
    }


def per_message_deflate() -> bool:
    """Whether sockets may negotiate permessage-deflate (`HUB_WS_PER_MESSAGE_DEFLATE=1`); off by default.

    Every browser offers it, and uvicorn accepted it (daphne never did): each such socket then kept a
    zlib compressor and decompressor for its whole life — ~35 KiB of an idle socket of the bare
    application, ~45 KiB of the hub's, whose sockets get presence frames (bench/memory.py
    `--deflate`, docs/benchmarks.md "Compression off") — and the fan-out, which encodes a frame once,
    compressed it again for every socket (its context is the socket's own). The bench's clients never
    offered it, so neither cost was in its figures. A deployment whose clients sit behind a slow
    link may turn it on for uvicorn and pay both."""
    return os.environ.get("HUB_WS_PER_MESSAGE_DEFLATE", "0").strip().lower() in {"1", "true", "yes", "on"}


APPLICATION = "hub.asgi:application"


def command(server: str, host: str, port: str, app: str = APPLICATION) -> list[str]:
    """The server's command line; `app` lets the bench serve its bare reference with the same flags."""
    lim = limits()
    if server == "daphne":
        # An endpoint string rather than -b/-p, for its listen backlog: Twisted's default is 50, so
        # a thousand clients connecting at once overflowed the accept queue and waited for SYN
        # retransmits (1, 3, 7 s…) past their timeouts. uvicorn's default is 2048; so is ours.
        interface = host.strip("[]").replace(":", "\\:")
        cmd = [
            sys.executable, "-m", "daphne",
            "-e", f"tcp:port={int(port)}:interface={interface}:backlog={lim['backlog']}",
            "--websocket-max-message-size", str(lim["max_message"]),
            "--websocket-max-frame-size", str(lim["max_frame"]),
            "--ping-interval", str(int(lim["ping_interval"])),
            "--ping-timeout", str(int(lim["ping_timeout"])),
            "--websocket_connect_timeout", str(int(lim["handshake_timeout"])),
            "--application-close-timeout", "10",
        ]  # daphne (autobahn) accepts no permessage-deflate offer: per_message_deflate() is uvicorn's only
        return cmd + [app]  # no --proxy-headers: see the module's docstring
    if server == "uvicorn":
        cmd = [
            sys.executable, "-m", "uvicorn", "--host", host, "--port", port,
            "--loop", "uvloop", "--ws", "websockets-sansio",
            "--ws-max-size", str(lim["max_message"]),
            "--ws-per-message-deflate", "true" if per_message_deflate() else "false",
            "--ws-ping-interval", str(lim["ping_interval"]),
            "--ws-ping-timeout", str(lim["ping_timeout"]),
            "--timeout-graceful-shutdown", "10",
            "--backlog", str(lim["backlog"]),
            "--no-access-log",
        ]
        cmd.append("--no-proxy-headers")  # the hub reads X-Forwarded-For itself (hub/lib/client_ip.py)
        return cmd + [app]
    raise SystemExit(f"ASGI_SERVER must be 'daphne' or 'uvicorn', not {server!r}")


def public_url(host: str, port: str) -> str:
    """The address links in notifications use when HUB_PUBLIC_URL is not given: this server's own
    (a wildcard address means "this machine", reachable as 127.0.0.1)."""
    host = host.strip("[]")
    if host in {"", "0.0.0.0", "::"}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(port)}"


def main() -> None:
    server = os.environ.get("ASGI_SERVER", "daphne")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    cmd = command(server, host, port)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    # A served hub runs the periodic jobs itself (hub/jobs.py) unless told not to, and links to itself.
    os.environ.setdefault("HUB_JOBS_IN_SERVER", "1")
    if not os.environ.get("HUB_PUBLIC_URL"):
        os.environ["HUB_PUBLIC_URL"] = public_url(host, port)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()

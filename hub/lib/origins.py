"""Web origins (scheme, host, port), compared whole (issue 20, class 8).

A browser's `Origin` header names the page that opened a WebSocket. The hub used to compare only its
host name with `ALLOWED_HOSTS`, so a page served by anything else on the same machine
(`http://127.0.0.1:9999`) or the same name over another scheme (`https://localhost:1234`) could open
a socket with the user's cookie. Now the whole origin must be one of the hub's own public origins
(`HUB_PUBLIC_ORIGINS`, hub/settings.py). Pure functions: settings import this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
Origin = tuple[str, str, int]


def parse_origin(text: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin or URL — host in lower case, the default port made
    explicit — or None for anything else ("null", file:, a bare name, a path with no host)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def origin_text(origin: Origin, scheme: str | None = None) -> str:
    """`http://host:port` (default port left out; IPv6 in brackets), optionally with another scheme
    (ws/wss for the same place)."""
    own_scheme, host, port = origin
    scheme = scheme or own_scheme
    if ":" in host:
        host = f"[{host}]"
    default = DEFAULT_PORTS[own_scheme]
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def websocket_origins(origins: Iterable[str]) -> list[str]:
    """The ws:// or wss:// twin of each http(s) origin (for the CSP's connect-src). An IPv6 literal
    (`[::1]`) is left out: CSP's host-source grammar has no form for it, and chromium reports the
    whole source as invalid on every page. Nothing is lost: CSP Level 3's `'self'` (always in
    connect-src) matches the page's own origin over ws/wss too."""
    result = []
    for text in origins:
        origin = parse_origin(text)
        if origin is not None and ":" not in origin[1]:
            result.append(origin_text(origin, "wss" if origin[0] == "https" else "ws"))
    return list(dict.fromkeys(result))


def derive_public_origins(hosts: Iterable[str], *, https: bool, port: int | None) -> list[str]:
    """The origins a hub serving `hosts` (ALLOWED_HOSTS) is reached at: `make run`'s default when
    HUB_PUBLIC_ORIGINS is not given. Wildcards and leading-dot domains name no single origin and are
    skipped; `port` None means the scheme's default (a hub behind a proxy on 80/443)."""
    scheme = "https" if https else "http"
    result = []
    for host in hosts:
        host = host.strip()
        if not host or host == "*" or host.startswith(".") or "*" in host:
            continue
        origin = parse_origin(f"{scheme}://{host}")
        if origin is not None:
            result.append(origin_text((scheme, origin[1], port if port is not None else DEFAULT_PORTS[scheme])))
    return list(dict.fromkeys(result))

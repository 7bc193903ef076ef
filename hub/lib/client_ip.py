"""The client's address, from the proxies the deployment declares and nothing else (issue 20, class 4).

`X-Forwarded-For` is a list anyone can start: a client writes its own first entry, and each proxy
appends the address it received the request from. Only the entries added by the deployment's own
proxies can be believed — the last `HUB_TRUSTED_PROXIES` of them — so with N trusted proxies the
client is the N-th entry from the right; with none (the default: the hub serves clients directly)
it is the connection's peer and the header is ignored. Before, the ASGI server's `--proxy-headers`
took the header's first entry from anyone, and eight wrong passwords each sent with another
`X-Forwarded-For` all escaped the login lockout.

`ClientAddressMiddleware` (first in MIDDLEWARE) puts the result in `REMOTE_ADDR` for everything after
it — django-axes' lockout, logs — and keeps the peer in `HUB_PEER_ADDR`.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

PEER_KEY = "HUB_PEER_ADDR"


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as the declared proxies saw it (the peer's with none declared)."""
    meta = request.META
    peer = meta.get(PEER_KEY) or meta.get("REMOTE_ADDR")
    trusted = settings.HUB_TRUSTED_PROXIES
    if trusted <= 0:
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < trusted:
        # Not through every declared proxy (the hub's port reached directly): nothing to believe.
        return peer
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


class ClientAddressMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if PEER_KEY not in request.META:
            request.META[PEER_KEY] = request.META.get("REMOTE_ADDR", "")
            request.META["REMOTE_ADDR"] = client_address(request) or ""
        return self.get_response(request)

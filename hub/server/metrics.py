"""`GET /metrics`: this process's Prometheus metrics (hub/metrics.py), for the configured scrapers only.

Who may read: a request with `Authorization: Bearer <HUB_METRICS_TOKEN>`, or one from an address in
`HUB_METRICS_ALLOW_FROM` (addresses or networks; the client's address as hub/lib/client_ip.py
decides it, so a proxy's own address never stands in for its clients). Neither configured: nobody —
the figures tell an attacker how loaded the hub is and which routes exist. Refused: 403 with the
API's error body. docker-compose's proxy does not forward `/metrics` at all (deploy/nginx.conf):
Prometheus scrapes each web process directly.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from hub import metrics
from hub.errors import FORBIDDEN, HubError


def allowed(request: HttpRequest) -> bool:
    """The token (compared in constant time) or the client's address."""
    token = settings.HUB_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    if not settings.HUB_METRICS_ALLOW_FROM:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.HUB_METRICS_ALLOW_FROM)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        error = HubError(FORBIDDEN, _("Metrics are readable only with the metrics token or from the configured "
                                      "addresses."))
        return JsonResponse(error.body(), status=error.http_status)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)

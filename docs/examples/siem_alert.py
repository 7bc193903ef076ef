#!/usr/bin/env python3
"""Raise a hub alert from a SIEM (docs/notifications.md, "Incoming"), standard library only.

    HUB_URL=https://hub.example.vn HUB_TOKEN=... siem_alert.py "title" high amber 203.0.113.7 [description]

Prints the alert's address; exits 1 with the hub's error (code, detail) when it is refused.
"""

import json
import os
import sys
import urllib.error
import urllib.request

HUB = os.environ.get("HUB_URL", "http://127.0.0.1:8000").rstrip("/")


def raise_alert(title: str, severity: str, tlp: str, ip: str = "", description: str = "") -> dict:
    body = {"title": title, "severity": severity, "tlp": tlp, "description": description,
            "indicators": [{"type": "ipv4", "value": ip}] if ip else []}
    request = urllib.request.Request(
        f"{HUB}/api/v1/alerts", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Token {os.environ['HUB_TOKEN']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    try:
        alert = raise_alert(*sys.argv[1:6])
    except urllib.error.HTTPError as exc:
        error = json.load(exc).get("error", {})
        sys.exit(f"refused ({exc.code} {error.get('code')}): {error.get('detail')}")
    print(f"alert #{alert['id']}: {HUB}/alerts/{alert['id']}/")

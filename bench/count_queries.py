"""SQL queries one API request costs, counted in-process (Django's test client on the bench database).

    DJANGO_SETTINGS_MODULE=hub.settings python -m bench.count_queries TOKEN URL [URL …]
Prints {"url": queries, …} as JSON.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    token, urls = sys.argv[1], sys.argv[2:]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    out = {}
    for url in urls:
        client.get(url)  # warm: caches, prepared statements
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        out[url] = {"queries": len(captured), "status": response.status_code}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

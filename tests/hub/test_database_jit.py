"""The hub's PostgreSQL connections run without JIT compilation (hub/settings.py, HUB_DB_JIT): on the
project's 2-core machines compiling the dashboard's message count over 5M messages took 2.0-3.3 s
of a 4.5 s query (issue 27, docs/benchmarks.md)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.services


def test_connections_have_jit_off(db):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"

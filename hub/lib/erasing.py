"""The one sanctioned way to empty append-only tables on SQLite: `manage.py flush`.

On PostgreSQL the append-only tables (hub.lib.migration_ops.append_only) refuse row UPDATE/DELETE
outright and `flush` empties them with TRUNCATE, which row triggers do not see. SQLite has no
TRUNCATE: `flush` deletes rows, so its DELETE trigger asks `hub_erasing()`, which every Django SQLite
connection defines (hub.signals) and which answers true only inside `erasing()` — used by the
`flush` command (hub/management/commands/flush.py), which the test suite's teardown runs too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0


def is_erasing() -> int:
    return 1 if _depth else 0


@contextmanager
def erasing() -> Iterator[None]:
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def define_sqlite_function(connection) -> None:
    """Give a new SQLite connection `hub_erasing()` (hub.signals, on `connection_created`)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("hub_erasing", 0, is_erasing)

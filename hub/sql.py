"""Querysets compiled to SQL once per process, for the few small queries on the hottest paths.

Building a query's SQL is most of what a small query costs in Django: the access re-check that runs
before every WebSocket frame spent 1.15 ms of its 1.43 ms of CPU compiling its two queries, and the
database answered each in about 0.1 ms (docs/benchmarks.md, "The message path"). A `CompiledQuery`
keeps the ORM as the one place that knows tables, joins and quoting, but builds the SQL once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# Stand-ins for the arguments while the SQL is built: unlikely values, so that a constant of the
# query itself is never mistaken for one of them.
_PLACEHOLDERS = (-7_340_021, -7_340_022, -7_340_023, -7_340_024)


class CompiledQuery:
    """A queryset of fixed shape whose SQL is built on first use (per database) and then run with new
    argument values, returning the database's raw rows: no model instances, no field converters —
    a JSON column is text on SQLite and a list on PostgreSQL, a boolean 0/1 or False/True. Use the
    rows as numbers, or compare them with rows of the same query; never show them.

    `build` receives integer placeholders and must pass each one to the queryset as a parameter
    (a filter value), not use it for the query's shape."""

    def __init__(self, build: Callable[..., QuerySet], arity: int = 1, using: str = "default") -> None:
        if not 1 <= arity <= len(_PLACEHOLDERS):
            raise ValueError(f"arity must be 1 to {len(_PLACEHOLDERS)}")
        self._build = build
        self._arity = arity
        self._using = using
        # vendor → (SQL, for each parameter: the index of the argument or the constant itself)
        self._compiled: dict[str, tuple[str, list[tuple[bool, Any]]]] = {}

    def _compile(self, vendor: str) -> tuple[str, list[tuple[bool, Any]]]:
        compiled = self._compiled.get(vendor)
        if compiled is None:
            placeholders = _PLACEHOLDERS[: self._arity]
            queryset = self._build(*placeholders)
            sql, params = queryset.query.get_compiler(using=self._using).as_sql()
            slots = [(True, placeholders.index(p)) if p in placeholders else (False, p) for p in params]
            missing = set(range(self._arity)) - {index for is_arg, index in slots if is_arg}
            if missing:
                raise ValueError(f"the query does not use argument(s) {sorted(missing)} as parameters")
            compiled = self._compiled[vendor] = (sql, slots)
        return compiled

    def rows(self, *args: Any) -> list[tuple]:
        """Run the query with `args` in place of the placeholders, in this thread's connection (and
        its transaction, if one is open)."""
        connection = connections[self._using]
        sql, slots = self._compile(connection.vendor)
        params = [args[value] if is_arg else value for is_arg, value in slots]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

"""Querysets compiled to SQL once per process, for the few small queries on the hottest paths.

Building a query's SQL is most of what a small query costs in Django: the access re-check that runs
before every WebSocket frame spent 1.15 ms of its 1.43 ms of CPU compiling its two queries, and the
database answered each in about 0.1 ms (docs/benchmarks.md, "The message path"). A `CompiledQuery`
keeps the ORM as the one place that knows tables, joins, quoting and value conversion, but builds
the SQL once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet

# Stand-ins for the arguments while the SQL is built: unlikely values, so that a constant of the
# query itself is never mistaken for one of them.
INT_PLACEHOLDERS = (-7_340_021, -7_340_022, -7_340_023, -7_340_024)
TEXT_PLACEHOLDERS = ("\x00hub.sql.0", "\x00hub.sql.1", "\x00hub.sql.2", "\x00hub.sql.3")


class _Compiled:
    __slots__ = ("sql", "slots", "compiler", "converters")

    def __init__(self, sql: str, slots: list[tuple[bool, Any]], compiler: Any, converters: dict) -> None:
        self.sql = sql
        self.slots = slots  # per parameter: (True, index of the argument) or (False, the constant)
        self.compiler = compiler
        self.converters = converters


class CompiledQuery:
    """A `values_list` queryset of fixed shape whose SQL is built on first use (per database vendor)
    and then run with new argument values. Rows come back as `values_list` would give them (the
    fields' converters applied), as tuples.

    `build` receives placeholders — integers, or strings with `placeholders=TEXT_PLACEHOLDERS` —
    and must pass each one to the queryset as a parameter (a filter value), not use it for the
    query's shape."""

    def __init__(self, build: Callable[..., QuerySet], arity: int = 1,
                 placeholders: Sequence[Any] = INT_PLACEHOLDERS, using: str = "default") -> None:
        if not 1 <= arity <= len(placeholders):
            raise ValueError(f"arity must be 1 to {len(placeholders)}")
        self._build = build
        self._placeholders = tuple(placeholders[:arity])
        self._using = using
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, vendor: str) -> _Compiled:
        compiled = self._compiled.get(vendor)
        if compiled is None:
            queryset = self._build(*self._placeholders)
            compiler = queryset.query.get_compiler(using=self._using)
            sql, params = compiler.as_sql()
            slots = [(True, self._placeholders.index(p)) if p in self._placeholders else (False, p) for p in params]
            missing = set(range(len(self._placeholders))) - {index for is_arg, index in slots if is_arg}
            if missing:
                raise ValueError(f"the query does not use argument(s) {sorted(missing)} as parameters")
            converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
            compiled = self._compiled[vendor] = _Compiled(sql, slots, compiler, converters)
        return compiled

    def rows(self, *args: Any) -> list[tuple]:
        """Run the query with `args` in place of the placeholders, in this thread's connection (and
        its transaction, if one is open)."""
        connection = connections[self._using]
        compiled = self._compile(connection.vendor)
        params = [args[value] if is_arg else value for is_arg, value in compiled.slots]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters or not rows:
            return rows
        return [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]


def model_fields(model: type[Model], prefix: str = "") -> list[str]:
    """The names to `values_list` for all of `model`'s columns (through `prefix`, a relation path)."""
    return [prefix + field.name for field in model._meta.concrete_fields]


def model_from_row(model: type[Model], row: Sequence[Any], using: str = "default") -> Model:
    """An instance of `model` from the values of `model_fields(model)`, as the ORM would load it."""
    return model.from_db(using, [field.attname for field in model._meta.concrete_fields], list(row))

"""Querysets compiled to SQL once per process, for the few small queries on the hottest paths.

Building a query's SQL is most of what a small query costs in Django: the access re-check that runs
before every WebSocket frame spent 1.15 ms of its 1.43 ms of CPU compiling its two queries, and the
database answered each in about 0.1 ms (docs/benchmarks.md, "The message path"). A `CompiledQuery`
keeps the ORM as the one place that knows tables, joins, quoting and value conversion, but builds
the SQL once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import DEFERRED, Model, QuerySet


def _stand_in(kind: type, n: int) -> Any:
    """The n-th stand-in of a kind for an argument while the SQL is built: an unlikely value, so that
    a constant of the query itself is never mistaken for one of them."""
    return f"\x00hub.sql.{n}" if kind is str else -7_340_021 - n


# The placeholder kinds `CompiledQuery` takes (their first four stand-ins; list arguments get more).
INT_PLACEHOLDERS = tuple(_stand_in(int, n) for n in range(4))
TEXT_PLACEHOLDERS = tuple(_stand_in(str, n) for n in range(4))


class _Compiled:
    __slots__ = ("sql", "slots", "compiler", "converters")

    def __init__(self, sql: str, slots: list[tuple[bool, Any]], compiler: Any, converters: dict) -> None:
        self.sql = sql
        # per parameter: (True, (argument, item or None)) or (False, the constant)
        self.slots = slots
        self.compiler = compiler
        self.converters = converters


_NO_ROWS = _Compiled("", [], None, {})  # the ORM proved the query empty (`pk__in=[]`): run nothing


class CompiledQuery:
    """A `values_list` queryset of fixed shape whose SQL is built on first use (per database vendor)
    and then run with new argument values. Rows come back as `values_list` would give them (the
    fields' converters applied), as tuples.

    `build` receives placeholders — integers, or strings with `placeholders=TEXT_PLACEHOLDERS` —
    and must pass each one to the queryset as a parameter (a filter value), not use it for the
    query's shape. An argument given as a list (`pk__in=ids`) reaches `build` as a list of as many
    placeholders: the SQL is built once per vendor and list length (`IN (%s, %s, …)` differs with
    the length on every database). `kinds` gives each argument its own kind (`(int, str, str)`: a
    centre id, then text lists) where the arguments are not all of one."""

    def __init__(self, build: Callable[..., QuerySet], arity: int = 1,
                 placeholders: Sequence[Any] = INT_PLACEHOLDERS, using: str = "default",
                 kinds: Sequence[type] | None = None) -> None:
        if kinds is not None:
            arity = len(kinds)
            if any(kind not in (int, str) for kind in kinds):
                raise ValueError("kinds: int or str")
        elif not 0 <= arity <= len(placeholders):
            raise ValueError(f"arity must be 0 to {len(placeholders)}")
        self._build = build
        self._arity = arity
        self._kinds = tuple(kinds) if kinds is not None else (type(placeholders[0]),) * arity
        self._using = using
        self._compiled: dict[tuple, _Compiled] = {}

    def _compile(self, vendor: str, shape: tuple) -> _Compiled:
        key = (vendor, shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            stand_ins: dict[Any, tuple[int, int | None]] = {}
            arguments: list[Any] = []
            for index, length in enumerate(shape):
                kind = self._kinds[index]
                if length is None:
                    value = _stand_in(kind, len(stand_ins))
                    stand_ins[value] = (index, None)
                    arguments.append(value)
                else:
                    items = [_stand_in(kind, len(stand_ins) + item) for item in range(length)]
                    stand_ins.update({value: (index, item) for item, value in enumerate(items)})
                    arguments.append(items)
            queryset = self._build(*arguments)
            compiler = queryset.query.get_compiler(using=self._using)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:
                compiled = self._compiled[key] = _NO_ROWS
                return compiled
            slots = [(True, stand_ins[p]) if p in stand_ins else (False, p) for p in params]
            missing = set(stand_ins.values()) - {where for is_arg, where in slots if is_arg}
            if missing:
                raise ValueError(f"the query does not use argument(s) {sorted({m[0] for m in missing})} "
                                 "as parameters")
            converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
            compiled = self._compiled[key] = _Compiled(sql, slots, compiler, converters)
        return compiled

    def rows(self, *args: Any) -> list[tuple]:
        """Run the query with `args` in place of the placeholders, in this thread's connection (and
        its transaction, if one is open)."""
        return self.rows_within("", (), "", *args)

    def rows_within(self, before: str, before_params: Sequence[Any], after: str, *args: Any,
                    after_params: Sequence[Any] = ()) -> list[tuple]:
        """`rows(*args)` of the query's SQL written between `before` (whose placeholders take
        `before_params`) and `after` (`after_params`) — a data-modifying `WITH` and a `SELECT * FROM (`
        … `) AS q WHERE …` around it, say, so that a write and this read are one round trip
        (ApiToken.authenticate, WsTicket.redeem). The rows still come back as `values_list` gives them."""
        if len(args) != self._arity:
            raise TypeError(f"{self._arity} argument(s) expected, {len(args)} given")
        connection = connections[self._using]
        shape = tuple(len(a) if isinstance(a, (list, tuple)) else None for a in args)
        compiled = self._compile(connection.vendor, shape)
        if compiled is _NO_ROWS:
            return []
        params = [(args[where[0]] if where[1] is None else args[where[0]][where[1]]) if is_arg else where
                  for is_arg, where in compiled.slots]
        with connection.cursor() as cursor:
            cursor.execute(before + compiled.sql + after, [*before_params, *params, *after_params])
            rows = cursor.fetchall()
        if not compiled.converters or not rows:
            return rows
        return [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]


def model_fields(model: type[Model], prefix: str = "") -> list[str]:
    """The names to `values_list` for all of `model`'s columns (through `prefix`, a relation path)."""
    return [prefix + field.name for field in model._meta.concrete_fields]


M = TypeVar("M", bound=Model)


def model_from_row(model: type[M], row: Sequence[Any], using: str = "default",
                   attnames: Sequence[str] | None = None) -> M:
    """An instance of `model` from the values of `model_fields(model)` — or of the columns
    `attnames` only, the others deferred as `.only()` leaves them — as the ORM would load it."""
    fields = model._meta.concrete_fields
    if attnames is None:
        return model.from_db(using, [field.attname for field in fields], list(row))
    given = dict(zip(attnames, row, strict=True))  # from_db wants the model's column order
    return model.from_db(using, list(attnames), [given.get(field.attname, DEFERRED) for field in fields])


# --- PostgreSQL timestamps parsed in C --------------------------------------------------------------


@lru_cache
def _timestamptz_loader(timezone: tzinfo | None) -> type | None:
    """A text `timestamptz` loader that parses with psycopg's C loader and then does what Django's
    own does (`django.db.backends.postgresql.psycopg_any.BaseTzLoader`: set the connection's
    zone). Django's subclasses the pure-Python loader, because the C one cannot be subclassed, so
    every timestamp a query returned was parsed in Python: ~3.8 µs against ~0.9 µs, 150 of them in
    a page of 50 tickets (Django ticket #36960, psycopg issue #1273). None without the C
    implementation (psycopg without its binary package): Django's loader stays."""
    from psycopg import adapters, pq
    from psycopg.adapt import Loader
    from psycopg.postgres import types

    found = adapters.get_loader(types["timestamptz"].oid, pq.Format.TEXT)
    if found is None or found.__module__.startswith("psycopg."):
        return None
    optimised = found

    class TimestamptzLoader(Loader):
        # Django compares this with the connection's zone before each cursor and registers its own
        # loader on the cursor when they differ.
        timezone: tzinfo | None = None

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = optimised(oid, context).load

        def load(self, data: Any) -> datetime:
            return self._parse(data).replace(tzinfo=self.timezone)

    TimestamptzLoader.timezone = timezone
    return TimestamptzLoader


def parse_timestamps_in_c(connection: Any) -> None:
    """Give a new PostgreSQL connection the C-parsing `timestamptz` loader (`connection_created`).
    A pooled connection keeps it: the check makes the call on each checkout cheap."""
    if connection.vendor != "postgresql":
        return
    loader = _timestamptz_loader(connection.timezone)
    if loader is None:
        return
    from psycopg import pq
    from psycopg.postgres import types

    adapters = connection.connection.adapters
    if adapters.get_loader(types["timestamptz"].oid, pq.Format.TEXT) is not loader:
        adapters.register_loader("timestamptz", loader)

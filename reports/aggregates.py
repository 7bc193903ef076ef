"""Database-side arithmetic the reports need and the ORM does not ship: seconds between two timestamps
and percentiles, with one implementation per backend.

PostgreSQL computes percentiles with the ordered-set aggregate `percentile_cont`. SQLite has no such
aggregate, so there the same definition (linear interpolation between the two closest ranks, exactly
what `percentile_cont` does) is computed with window functions: the database ranks the values of each
group and returns only the two rows around each wanted rank, so Python never sees more than a few rows
per group whatever the number of tickets.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Aggregate, CharField, F, FloatField, Func, QuerySet, Value


class SecondsBetween(Func):
    """`end - start` in seconds (a float), for two datetime expressions."""

    arity = 2
    output_field = FloatField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(F(start) if isinstance(start, str) else start, F(end) if isinstance(end, str) else end)

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:  # pragma: no cover (PG, SQLite)
        raise NotImplementedError(f"SecondsBetween is not implemented for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        start, end = self.source_expressions
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        # date_part() is float8 arithmetic; EXTRACT() returns numeric since PostgreSQL 14, whose
        # per-row arithmetic was a measurable part of a percentile query over a year of requests.
        return f"date_part('epoch', {end_sql} - {start_sql})", [*end_params, *start_params]

    def as_sqlite(self, compiler, connection, **extra):
        start, end = self.source_expressions
        start_sql, start_params = compiler.compile(start)
        end_sql, end_params = compiler.compile(end)
        return f"((julianday({end_sql}) - julianday({start_sql})) * 86400.0)", [*end_params, *start_params]


class Percentile(Aggregate):
    """`percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)` — PostgreSQL only (callers keep
    `percentiles_by_group` for SQLite). As an aggregate it goes into the same grouped query as the
    counts beside it, with its own FILTER: one read of the rows for every figure of a table."""

    function = "percentile_cont"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction is between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentiles_by_group(
    qs: QuerySet, group: str | None, value: str, fractions: tuple[float, ...] = (0.5, 0.9)
) -> dict[Any, dict[str | float, Any]]:
    """{group value: {"count": n, fraction: percentile, ...}} for `value` (a field or annotation of
    `qs`, which may itself be an aggregate — e.g. a ticket's first acceptance) grouped by `group` (a
    field path; None = one group for the whole set, keyed None). NULL values are ignored.

    `qs` becomes a sub-select of (grp, val) rows and the grouping happens around it, in one query.
    """
    grp = F(group) if group else Value(None, output_field=CharField())
    inner = qs.annotate(grp=grp, val=F(value)).filter(val__isnull=False).values("grp", "val").order_by()
    inner_sql, params = inner.query.sql_with_params()
    if connection.vendor == "postgresql":
        return _percentiles_postgresql(inner_sql, params, fractions)
    return _percentiles_window(inner_sql, params, fractions)


def percentiles_with_total(
    qs: QuerySet, group: str, value: str, fractions: tuple[float, ...] = (0.5, 0.9)
) -> tuple[dict[Any, dict[str | float, Any]], dict[str | float, Any] | None]:
    """(`percentiles_by_group(qs, group, value)`, the same figures over the whole set — None when it
    is empty). On PostgreSQL one query, `GROUP BY GROUPING SETS ((grp), ())`, reads the rows once
    for both; elsewhere two queries."""
    if connection.vendor != "postgresql":
        whole = percentiles_by_group(qs, None, value, fractions).get(None)
        return percentiles_by_group(qs, group, value, fractions), whole
    inner = qs.annotate(grp=F(group), val=F(value)).filter(val__isnull=False).values("grp", "val").order_by()
    inner_sql, params = inner.query.sql_with_params()
    picks = ", ".join("percentile_cont(%s) WITHIN GROUP (ORDER BY val)" for _ in fractions)
    sql = (f"SELECT GROUPING(grp), grp, COUNT(*) AS n, {picks} FROM ({inner_sql}) AS v "
           "GROUP BY GROUPING SETS ((grp), ())")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fractions, *params])
        rows = cursor.fetchall()
    groups: dict[Any, dict[str | float, Any]] = {}
    total: dict[str | float, Any] | None = None
    for row in rows:
        figures: dict[str | float, Any] = {"count": row[2], **{f: row[3 + i] for i, f in enumerate(fractions)}}
        if row[0]:
            total = figures
        else:
            groups[row[1]] = figures
    return groups, total


def distinct_years(sources: list[tuple[QuerySet, str]], tz: str) -> set[int]:
    """The years (in time zone `tz`) of the `field` values of each (queryset, field) — without
    reading every row on PostgreSQL: a recursive query jumps from each year's first value to the
    next year's through the field's index (a loose index scan), so the cost is a few index probes
    per year whatever the table's size. Elsewhere the values' years are grouped (small databases)."""
    from django.db.models.functions import ExtractYear

    if connection.vendor != "postgresql":  # one UNION query, duplicates removed
        first, *others = [qs.order_by().annotate(year=ExtractYear(field)).values_list("year", flat=True)
                          for qs, field in sources]
        return {int(year) for year in first.union(*others) if year is not None}
    parts: list[str] = []
    params: list[Any] = []
    for qs, field in sources:
        try:
            inner_sql, inner_params = qs.order_by().annotate(at=F(field)).values("at").query.sql_with_params()
        except EmptyResultSet:  # e.g. no visible topic: nothing to look for
            continue
        n = len(parts)
        parts.append(
            f"y{n}(at) AS (SELECT (SELECT min(v.at) FROM ({inner_sql}) AS v) UNION ALL "
            f"SELECT (SELECT min(v.at) FROM ({inner_sql}) AS v WHERE v.at >= "
            f"(date_trunc('year', y{n}.at AT TIME ZONE %s) + interval '1 year') AT TIME ZONE %s) "
            f"FROM y{n} WHERE y{n}.at IS NOT NULL)")
        params += [*inner_params, *inner_params, tz, tz]
    if not parts:
        return set()
    union = " UNION ".join(f"SELECT at FROM y{n}" for n in range(len(parts)))
    sql = (f"WITH RECURSIVE {', '.join(parts)} SELECT DISTINCT extract(year FROM at AT TIME ZONE %s)::int "
           f"FROM ({union}) AS found WHERE at IS NOT NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tz])
        return {row[0] for row in cursor.fetchall()}


def _percentiles_postgresql(inner_sql: str, params, fractions) -> dict[Any, dict[str | float, Any]]:
    """The ordered-set aggregate `percentile_cont(f) WITHIN GROUP (ORDER BY val)`."""
    picks = ", ".join("percentile_cont(%s) WITHIN GROUP (ORDER BY val)" for _ in fractions)
    sql = f"SELECT grp, COUNT(*) AS n, {picks} FROM ({inner_sql}) AS v GROUP BY grp"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fractions, *params])
        rows = cursor.fetchall()
    return {row[0]: {"count": row[1], **{f: row[2 + i] for i, f in enumerate(fractions)}} for row in rows}


def _percentiles_window(inner_sql: str, params, fractions) -> dict[Any, dict[str | float, Any]]:
    """percentile_cont through ROW_NUMBER()/COUNT() windows (SQLite, or any backend without it)."""
    picks = []
    pick_params: list[Any] = []
    for i, fraction in enumerate(fractions):
        # rank (0-based) of the lower neighbour: floor(fraction * (n - 1)); the upper one is +1 when the
        # position is not a whole number.
        pos = "(%s * (n - 1))"
        lo = f"CAST({pos} AS INTEGER)"
        picks.append(f"MAX(CASE WHEN rn = {lo} THEN val END) AS lo{i}")
        picks.append(f"MAX(CASE WHEN rn = {lo} + ({pos} > {lo}) THEN val END) AS hi{i}")
        pick_params += [fraction] * 4
    sql = (
        f"SELECT grp, MAX(n) AS n, {', '.join(picks)} FROM ("
        "SELECT grp, val, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY val) - 1 AS rn, "
        "COUNT(*) OVER (PARTITION BY grp) AS n "
        f"FROM ({inner_sql}) AS v) AS ranked GROUP BY grp"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pick_params, *params])  # the picks come first in the text
        rows = cursor.fetchall()
    out: dict[Any, dict[str | float, Any]] = {}
    for row in rows:
        grp, n = row[0], row[1]
        entry: dict[str | float, Any] = {"count": n}
        for i, fraction in enumerate(fractions):
            lo_val, hi_val = row[2 + 2 * i], row[3 + 2 * i]
            pos = fraction * (n - 1)
            entry[fraction] = lo_val + (pos - int(pos)) * (hi_val - lo_val)
        out[grp] = entry
    return out

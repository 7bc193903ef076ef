"""Database-side arithmetic the reports need and the ORM does not ship: seconds between two timestamps
and percentiles, with one implementation per backend.

PostgreSQL computes percentiles with the ordered-set aggregate `percentile_cont`, every fraction of a
group from one call (`percentile_cont(float8[])`: the group's values are ordered once). SQLite has no such
aggregate, so there the same definition (linear interpolation between the two closest ranks, exactly
what `percentile_cont` does) is computed with window functions: the database ranks the values of each
group and returns only the two rows around each wanted rank, so Python never sees more than a few rows
per group whatever the number of tickets.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Aggregate, CharField, F, FloatField, Func, IntegerField, QuerySet, Value


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


class PeriodIndex(Func):
    """Which of consecutive periods `expression` falls in: 0 before `boundaries[0]`, i for
    [boundaries[i-1], boundaries[i]), len(boundaries) from the last one on — PostgreSQL's
    `width_bucket(value, sorted array)`, a binary search in C. The SLA table groups its requests by
    local month this way (the boundaries are the local month starts, computed once in Python): the same
    months as `date_trunc('month', created_at AT TIME ZONE tz)`, without a time zone conversion and a
    truncation per row — ~13 % of that query's CPU over a year of requests (docs/benchmarks.md)."""

    output_field = IntegerField()

    def __init__(self, expression: Any, boundaries: list[Any]) -> None:
        super().__init__(F(expression) if isinstance(expression, str) else expression)
        self.boundaries = list(boundaries)

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **extra: Any) -> Any:  # pragma: no cover (PG)
        raise NotImplementedError(f"PeriodIndex is not implemented for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"width_bucket({sql}, %s::timestamptz[])", [*params, self.boundaries]


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
    if connection.vendor == "postgresql":
        return _percentiles_postgresql(*_pairs_sql(qs, grp, value), fractions)
    inner = qs.annotate(grp=grp, val=F(value)).filter(val__isnull=False).values("grp", "val").order_by()
    inner_sql, params = inner.query.sql_with_params()
    return _percentiles_window(inner_sql, params, fractions)


# PostgreSQL: every fraction from ONE ordered-set aggregate, `percentile_cont(float8[])`, which orders
# the group's values once and returns an array — the same floats, to the last bit, as one
# `percentile_cont(f)` per fraction (compared on 1M requests), for ~15 % less CPU over a year of
# requests (docs/benchmarks.md, issue 27 target 5, fourth pass). NULL values are skipped by the
# aggregate itself, and COUNT(val) counts the others, so the rows need no `val IS NOT NULL` filter,
# which computed each value a second time.
_PICKS = "percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY val)"


def _pairs_sql(qs: QuerySet, grp: Any, value: str) -> tuple[str, Any]:
    """The (grp, val) rows of `qs` as SQL and parameters (PostgreSQL; NULL values kept)."""
    return qs.annotate(grp=grp, val=F(value)).values("grp", "val").order_by().query.sql_with_params()


def _figures(n: int, picked: list[float | None] | None, fractions: tuple[float, ...]) -> dict[str | float, Any]:
    """{"count": n, fraction: percentile, …} from COUNT(val) and percentile_cont's array (NULL when the
    group has no value)."""
    return {"count": n, **{f: (picked[i] if picked is not None else None) for i, f in enumerate(fractions)}}


def percentiles_with_total(
    qs: QuerySet, group: str, value: str, fractions: tuple[float, ...] = (0.5, 0.9)
) -> tuple[dict[Any, dict[str | float, Any]], dict[str | float, Any] | None]:
    """(`percentiles_by_group(qs, group, value)`, the same figures over the whole set — None when it
    is empty). On PostgreSQL one query, `GROUP BY GROUPING SETS ((grp), ())`, reads the rows once
    for both; elsewhere two queries."""
    if connection.vendor != "postgresql":
        whole = percentiles_by_group(qs, None, value, fractions).get(None)
        return percentiles_by_group(qs, group, value, fractions), whole
    inner_sql, params = _pairs_sql(qs, F(group), value)
    # HAVING: a group whose values are all NULL is left out, as the rows' filter used to leave it out
    # (the whole set's row, GROUPING(grp) = 1, is always there).
    sql = (f"SELECT GROUPING(grp), grp, COUNT(val) AS n, {_PICKS} FROM ({inner_sql}) AS v "
           "GROUP BY GROUPING SETS ((grp), ()) HAVING COUNT(val) > 0 OR GROUPING(grp) = 1")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(fractions), *params])
        rows = cursor.fetchall()
    groups: dict[Any, dict[str | float, Any]] = {}
    total: dict[str | float, Any] | None = None
    for row in rows:
        figures = _figures(row[2], row[3], fractions)
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
    """The ordered-set aggregate `percentile_cont(fractions) WITHIN GROUP (ORDER BY val)`; groups
    without a value are left out."""
    sql = (f"SELECT grp, COUNT(val) AS n, {_PICKS} FROM ({inner_sql}) AS v GROUP BY grp "
           "HAVING COUNT(val) > 0")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(fractions), *params])
        rows = cursor.fetchall()
    return {row[0]: _figures(row[1], row[2], fractions) for row in rows}


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

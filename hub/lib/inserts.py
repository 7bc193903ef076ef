"""New rows as parts of one SQL statement: several INSERTs of one action in one round trip.

`Model.save()` builds each INSERT's SQL anew (Django's insert compiler) and sends it alone. Raising
an alert wrote its row, its indicators and its record's first entry that way: three round trips,
and building their SQL was a tenth of the raise's CPU (docs/benchmarks.md, "Alert bursts"). On
PostgreSQL a data-modifying WITH writes all three in one statement (`alerts.services`); this module
gives such a statement each row's column list, values and parameters as `save()` would have them:
the model's own fields with a column (`_meta.get_fields()`), `Field.pre_save(add=True)` (defaults of
`auto_now_add` and `auto_now` are set on the instance, as a save sets them) and
`Field.get_db_prep_save` (each field's conversion to the database's value), and `pre_save` /
`post_save` sent as `save()` sends them (hub/signals.py checks every row's text on `pre_save`).
After the statement, `saved` records the primary key and marks the instance as stored.

Only for new rows of plain values: a value that is an expression (`F()`, a subquery) is refused,
and a column can instead be given as SQL (`given`: the id a WITH just returned).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save


@functools.cache
def _columns(model: type[Model], using: str) -> tuple[tuple[Field[Any, Any], ...], dict[str, str]]:
    """The fields an INSERT of a new `model` row writes (its own concrete fields but an automatic
    primary key, as Django's `_save_table`), and each field's quoted column by name."""
    # Documented `_meta` and field API only (Model _meta API, Field attribute reference): the model's own
    # fields with a column, but a primary key the database gives (`db_returning`: an AutoField).
    fields = tuple(f for f in model._meta.get_fields(include_parents=False)
                   if isinstance(f, Field) and f.concrete and not f.many_to_many
                   and not (f.primary_key and f.db_returning))
    quote = connections[using].ops.quote_name
    return fields, {f.name: quote(str(f.column)) for f in fields}


def quoted_table(model: type[Model], using: str = "default") -> str:
    return connections[using].ops.quote_name(model._meta.db_table)


def quoted_column(model: type[Model], name: str, using: str = "default") -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return connections[using].ops.quote_name(field.column)


def row(instance: Model, *, given: Mapping[str, str] | None = None, using: str = "default",
        signal: bool = True) -> tuple[str, str, list[Any]]:
    """A new row of `instance` as (its columns, its values' SQL, their parameters): the values are
    placeholders, but a field named in `given` takes that SQL instead (and no parameter). `signal`:
    send `pre_save` first, as `save()` does (`bulk_create` does not)."""
    connection = connections[using]
    model = type(instance)
    if signal:
        pre_save.send(sender=model, instance=instance, raw=False, using=using, update_fields=None)
    fields, columns = _columns(model, using)
    given = given or {}
    names: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for field in fields:
        names.append(columns[field.name])
        if field.name in given:
            values.append(given[field.name])
            # The attribute is set from what the statement returns (`saved`), not from here.
            continue
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):
            raise ValueError(f"{model.__name__}.{field.name}: an expression; save() this row")
        values.append("%s")
        params.append(field.get_db_prep_save(value, connection=connection))
    return ", ".join(names), ", ".join(values), params


def saved(instance: Model, pk: Any, *, using: str = "default", signal: bool = True, **attributes: Any) -> None:
    """After the statement that inserted `instance`: its primary key (and the attributes a `given`
    column took), the instance marked as stored in `using`, and `post_save` sent as `save()` sends it."""
    instance.pk = pk
    for name, value in attributes.items():
        setattr(instance, name, value)
    instance._state.adding = False
    instance._state.db = using
    if signal:
        post_save.send(sender=type(instance), instance=instance, created=True, update_fields=None, raw=False,
                       using=using)

"""What a transaction has just written, held on its instance as `prefetch_related` would hold it.

A service that creates a row and its related rows (an alert, its indicators, the centres it is shared
with) and then serialises it reads them back through the related managers (`alert.indicators.all()`).
Reading back what it just wrote cost a raise three queries — a sixth of its CPU (issue 27, target 3,
docs/benchmarks.md) — so the service hands the related managers the objects it wrote instead: exactly
what `QuerySet.prefetch_related` leaves on an instance after its own queries (Django's
`prefetch_one_level`), no more. A later write through the manager (`add`, `set`, `remove`) drops
what is held, as it drops a prefetch. A departure from Django (docs/departures.md, section 7; guard
in tests/hub/test_departures.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Model


def hold_prefetched(instance: Model, name: str, objects: Iterable[Model]) -> None:
    """`getattr(instance, name).all()` answers `objects` (in this order) without a query, until the
    relation is written through its manager. `name` is a reverse foreign key or a many-to-many
    relation, as `prefetch_related(name)` takes it."""
    manager = getattr(instance, name)
    queryset = manager.get_queryset()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    instance._prefetched_objects_cache[_cache_name(manager, name)] = queryset  # type: ignore[attr-defined]


def _cache_name(manager: object, name: str) -> str:
    """The key Django's own prefetch stores under: a many-to-many manager's `prefetch_cache_name`,
    a reverse foreign key's `field.remote_field.cache_name` (both are `name` for the relations here)."""
    found = getattr(manager, "prefetch_cache_name", None)
    if found is None:
        found = manager.field.remote_field.cache_name  # type: ignore[attr-defined]
    return found

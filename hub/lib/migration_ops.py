"""Migration operations the apps share.

Kept small and stable on purpose: migrations import it, so changing what it does changes history.
"""

from __future__ import annotations

from django.db import migrations


def postgres_only(forward: list[str], backward: list[str]) -> migrations.RunPython:
    """Raw SQL that only PostgreSQL has (extensions, functional indexes, extended statistics), run in
    order on PostgreSQL and skipped on every other database, which keeps its portable fallback."""

    def run(statements: list[str], schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return migrations.RunPython(lambda apps, editor: run(forward, editor),
                                lambda apps, editor: run(backward, editor))

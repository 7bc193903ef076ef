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


# --- append-only tables -----------------------------------------------------------------------------
# A record that must never be rewritten (an alert's timeline, a ticket's history) is protected by the
# database itself, so neither a bug, a script with the hub's credentials, nor the admin can change it:
# PostgreSQL refuses UPDATE and DELETE of its rows with a trigger; SQLite the same with two triggers.
# TRUNCATE (which needs the table's owner, and which the test suite's flush uses on PostgreSQL) is
# not a row operation and is not refused. On SQLite, `manage.py flush` (hub/management/commands/
# flush.py, also what the test suite's flush calls) is the one way to empty the tables: the DELETE
# trigger asks `hub_erasing()`, a function each of Django's SQLite connections defines
# (hub.signals), which is true only while that command runs.
# Note for later migrations: SQLite rebuilds a table to alter it, which drops its triggers; a
# migration that alters one of these tables must call `append_only` again (tests/hub/
# test_append_only.py fails otherwise).

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION hub_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only: rows of % are never updated or deleted; add a new entry instead',
        TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def append_only(table: str) -> migrations.RunPython:
    """Make `table` append-only in the database (see above)."""

    def forward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(APPEND_ONLY_FUNCTION, params=None)  # its % are plpgsql's, not parameters
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            schema_editor.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                  "FOR EACH ROW EXECUTE FUNCTION hub_refuse_rewrite()")
        elif vendor == "sqlite":
            message = f"append-only: rows of {table} are never updated or deleted; add a new entry instead"
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            schema_editor.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                                  f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
            schema_editor.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                                  f"WHEN NOT hub_erasing() BEGIN SELECT RAISE(ABORT, '{message}'); END")

    def backward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")

    return migrations.RunPython(forward, backward)

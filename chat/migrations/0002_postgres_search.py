"""PostgreSQL full-text search over message bodies, insensitive to Vietnamese diacritics.

`unaccent()` is only STABLE, so it cannot be used in an index; `chat_unaccent` wraps it with the
dictionary named explicitly as an IMMUTABLE function (the documented idiom), and a GIN index over
`to_tsvector('simple', chat_unaccent(body))` serves `chat.selectors.search_messages`. On other
databases this migration does nothing (they use the stored `search_text` fallback).
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
    CREATE OR REPLACE FUNCTION chat_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
    """,
    "CREATE INDEX IF NOT EXISTS chat_message_body_fts ON chat_message "
    "USING gin (to_tsvector('simple', chat_unaccent(body)))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS chat_message_body_fts",
    "DROP FUNCTION IF EXISTS chat_unaccent(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]

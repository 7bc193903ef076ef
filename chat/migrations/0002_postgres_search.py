"""PostgreSQL full-text search over message bodies, insensitive to Vietnamese diacritics.

`unaccent()` is only STABLE, so it cannot be used in an index; `chat_unaccent` wraps it with the
dictionary named explicitly as an IMMUTABLE function (the documented idiom), and a GIN index over
`to_tsvector('simple', chat_unaccent(body))` serves `chat.selectors.search_messages`. On other
databases this migration does nothing (they use the stored `search_text` fallback).
"""

from django.db import migrations

from hub.lib.migration_ops import postgres_only

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


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]
    operations = [postgres_only(FORWARD, BACKWARD)]

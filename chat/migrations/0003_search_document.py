"""Tokenise the PostgreSQL search document like the query: unaccent, then punctuation as spaces.

PostgreSQL's parser keeps "CVE-2024-3400" as a hyphenated word with signed-number parts ("-2024"),
which a query built from the words "cve 2024 3400" cannot match; `chat_search_document(body)`
turns punctuation into spaces after unaccent so both sides see the same words. Indexed (GIN).
"""

from django.db import migrations

from hub.lib.migration_ops import postgres_only

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    r"""
    CREATE OR REPLACE FUNCTION chat_search_document(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT to_tsvector('simple'::regconfig, regexp_replace(
        public.unaccent('public.unaccent'::regdictionary, $1), '[[:punct:][:space:]]+', ' ', 'g')) $$
    """,
    "DROP INDEX IF EXISTS chat_message_body_fts",
    "CREATE INDEX IF NOT EXISTS chat_message_search_document ON chat_message USING gin (chat_search_document(body))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS chat_message_search_document",
    "DROP FUNCTION IF EXISTS chat_search_document(text)",
]


class Migration(migrations.Migration):
    dependencies = [("chat", "0002_postgres_search")]
    operations = [postgres_only(FORWARD, BACKWARD)]

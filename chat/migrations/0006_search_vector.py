"""The search document as a stored column: `search_vector`, generated from the body by
`chat_search_document` (migration 0003: unaccent, punctuation as spaces, the 'simple'
configuration), with the GIN index on the column instead of on the expression.

With the index on the expression, PostgreSQL had to compute the document again for every row it
checked outside the index: a common word over a large history was answered by walking the newest
messages backwards (the primary key) and running unaccent, a regular expression and to_tsvector on
each — about 0.15 ms a row, the largest cost of a search page (docs/benchmarks.md, "Search over
years"). Stored, the check is a comparison of the stored vector, whichever plan is chosen. PostgreSQL
maintains the column on every insert and edit; the model does not declare it (Django never writes it).
"""

from django.db import migrations

from hub.lib.migration_ops import postgres_only

FORWARD = [
    "ALTER TABLE chat_message ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (chat_search_document(body)) STORED",
    "DROP INDEX IF EXISTS chat_message_search_document",
    "CREATE INDEX IF NOT EXISTS chat_message_search_vector ON chat_message USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS chat_message_search_vector",
    "ALTER TABLE chat_message DROP COLUMN IF EXISTS search_vector",
    "CREATE INDEX IF NOT EXISTS chat_message_search_document ON chat_message USING gin (chat_search_document(body))",
]


class Migration(migrations.Migration):
    dependencies = [("chat", "0005_message_tlp_scope_promotion")]
    operations = [postgres_only(FORWARD, BACKWARD)]

"""The words of the search index, each once: `chat_search_word` (PostgreSQL only).

A search word is a prefix ("lua" finds "lửa", "lừa", "luật"), and PostgreSQL answers a prefix
(`'lua':*`) through the GIN index by collecting every matching message into a bitmap before it can
intersect the words; a whole word (`'lua'`) it reads from its posting list, skipping what the other
words rule out. Over a million messages the prefix form cost ten times the whole-word form for the
same rows ("tường lửa VPN": 760–920 ms against 70 ms, load ~14; docs/benchmarks.md, "Search over
years"). With the index's words listed here, a search turns each prefix into the few whole words that
start with it (`('lua' | 'luat')`), which is the same set of messages (chat.selectors._search_query).

Kept by PostgreSQL: a statement trigger adds the words of the inserted messages (one statement for
a bulk load too), a row trigger those of a message whose body an edit changed (only then: the other
updates of a message, a reply count or a deletion, do not run it); a word is never removed (a word no message has any more matches
nothing). The table is not a Django model: only the search reads it.
"""

from django.db import migrations

from hub.lib.migration_ops import postgres_only

ADD_WORDS = """
CREATE OR REPLACE FUNCTION chat_search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_search_word (word)
    SELECT DISTINCT w FROM new_rows, unnest(tsvector_to_array(new_rows.search_vector)) AS w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""

ADD_EDITED_WORDS = """
CREATE OR REPLACE FUNCTION chat_search_words_edited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_search_word (word) SELECT unnest(tsvector_to_array(NEW.search_vector))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""

FORWARD = [
    # COLLATE "C": a prefix is a range of the index (word >= 'lua' AND word < 'lub').
    "CREATE TABLE IF NOT EXISTS chat_search_word (word text COLLATE \"C\" PRIMARY KEY)",
    ADD_WORDS,
    "DROP TRIGGER IF EXISTS chat_search_words_insert ON chat_message",
    "CREATE TRIGGER chat_search_words_insert AFTER INSERT ON chat_message REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION chat_search_words_add()",
    "DROP TRIGGER IF EXISTS chat_search_words_update ON chat_message",
    ADD_EDITED_WORDS,
    "CREATE TRIGGER chat_search_words_update AFTER UPDATE OF body ON chat_message FOR EACH ROW "
    "WHEN (OLD.body IS DISTINCT FROM NEW.body) EXECUTE FUNCTION chat_search_words_edited()",
    "INSERT INTO chat_search_word (word) SELECT DISTINCT w FROM chat_message, "
    "unnest(tsvector_to_array(chat_message.search_vector)) AS w ON CONFLICT DO NOTHING",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS chat_search_words_update ON chat_message",
    "DROP TRIGGER IF EXISTS chat_search_words_insert ON chat_message",
    "DROP FUNCTION IF EXISTS chat_search_words_edited()",
    "DROP FUNCTION IF EXISTS chat_search_words_add()",
    "DROP TABLE IF EXISTS chat_search_word",
]


class Migration(migrations.Migration):
    dependencies = [("chat", "0012_public_messages_by_time")]
    operations = [postgres_only(FORWARD, BACKWARD)]

"""The rollups' upkeep: triggers (PostgreSQL and SQLite) that keep `reports.models.MessageDay` equal to
counting the rows, in the same transaction as each write, and the rebuild from the rows.

Why triggers rather than calls in `chat.services`: a count is exact only if EVERY write that changes
it also changes the rollup — posting, deleting, an audience set or cleared, a message moved, a
topic's cascade, the admin, a bulk load (bench/search_data.py) and the tests' own fixtures. The
database sees all of them; a service call would see only its own. The triggers are the same kind
the append-only tables use (hub/lib/migration_ops.py), and the same caveat holds: SQLite rebuilds a
table to alter it, dropping its triggers, so a migration that alters chat_message must call
`message_day_triggers()` again (tests/reports/test_rollups.py fails otherwise).

Days are local days in ROLLUP_TIME_ZONE (the hub's TIME_ZONE; no daylight saving time), so a period
of whole local days is a range of days. `reports.selectors` reads the rollup only when the current
time zone is that one and the period's bounds are local midnights; otherwise it counts the rows.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.db import connection, transaction

ROLLUP_TIME_ZONE = "Asia/Ho_Chi_Minh"
_OFFSET_HOURS = 7  # Asia/Ho_Chi_Minh: UTC+7 all year since 1975 (SQLite's date() needs a fixed offset)

# Counted: visible to every reader of the topic, not deleted.
_COUNTED = "{row}.deleted_at IS NULL AND {row}.audience IS NULL"
_CHANGED = (f"(({_COUNTED.format(row='OLD')}) IS NOT ({_COUNTED.format(row='NEW')}) "
            "OR OLD.created_at IS NOT NEW.created_at OR OLD.topic_id IS NOT NEW.topic_id "
            "OR OLD.author_id IS NOT NEW.author_id)")

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_message_day_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND {_COUNTED.format(row='OLD')} THEN
        UPDATE reports_messageday SET n = n - 1
         WHERE day = (OLD.created_at AT TIME ZONE '{ROLLUP_TIME_ZONE}')::date
           AND topic_id = OLD.topic_id AND author_id = OLD.author_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND {_COUNTED.format(row='NEW')} THEN
        INSERT INTO reports_messageday (day, topic_id, author_id, n)
        VALUES ((NEW.created_at AT TIME ZONE '{ROLLUP_TIME_ZONE}')::date, NEW.topic_id, NEW.author_id, 1)
        ON CONFLICT (day, topic_id, author_id) DO UPDATE SET n = reports_messageday.n + 1;
    END IF;
    RETURN NULL;
END
$$
"""
# A bulk INSERT … SELECT (a restore, the bench's seeding) adds one grouped row per cell, not one
# upsert per message: a statement trigger over the inserted rows.
PG_INSERT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_message_day_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_messageday (day, topic_id, author_id, n)
    SELECT (created_at AT TIME ZONE '{ROLLUP_TIME_ZONE}')::date AS d, topic_id, author_id, count(*)
      FROM inserted WHERE {_COUNTED.format(row='inserted')}
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (day, topic_id, author_id) DO UPDATE SET n = reports_messageday.n + EXCLUDED.n;
    RETURN NULL;
END
$$
"""
PG_FORWARD = [
    PG_FUNCTION,
    PG_INSERT_FUNCTION,
    "DROP TRIGGER IF EXISTS reports_message_day_ins ON chat_message",
    "DROP TRIGGER IF EXISTS reports_message_day_upd ON chat_message",
    "DROP TRIGGER IF EXISTS reports_message_day_del ON chat_message",
    "CREATE TRIGGER reports_message_day_ins AFTER INSERT ON chat_message REFERENCING NEW TABLE AS inserted "
    "FOR EACH STATEMENT EXECUTE FUNCTION reports_message_day_insert()",
    f"CREATE TRIGGER reports_message_day_upd AFTER UPDATE ON chat_message FOR EACH ROW "
    f"WHEN {_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')} EXECUTE FUNCTION reports_message_day_apply()",
    "CREATE TRIGGER reports_message_day_del AFTER DELETE ON chat_message FOR EACH ROW "
    f"WHEN ({_COUNTED.format(row='OLD')}) EXECUTE FUNCTION reports_message_day_apply()",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS reports_message_day_ins ON chat_message",
    "DROP TRIGGER IF EXISTS reports_message_day_upd ON chat_message",
    "DROP TRIGGER IF EXISTS reports_message_day_del ON chat_message",
    "DROP FUNCTION IF EXISTS reports_message_day_apply()",
    "DROP FUNCTION IF EXISTS reports_message_day_insert()",
]

_SQLITE_DAY = "date({row}.created_at, '+" + str(_OFFSET_HOURS) + " hours')"
_SQLITE_ADD = ("INSERT INTO reports_messageday (day, topic_id, author_id, n) "
               f"VALUES ({_SQLITE_DAY.format(row='NEW')}, NEW.topic_id, NEW.author_id, 1) "
               "ON CONFLICT (day, topic_id, author_id) DO UPDATE SET n = n + 1;")
_SQLITE_REMOVE = (f"UPDATE reports_messageday SET n = n - 1 WHERE day = {_SQLITE_DAY.format(row='OLD')} "
                  "AND topic_id = OLD.topic_id AND author_id = OLD.author_id;")
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS reports_message_day_ins",
    "DROP TRIGGER IF EXISTS reports_message_day_upd",
    "DROP TRIGGER IF EXISTS reports_message_day_del",
    f"CREATE TRIGGER reports_message_day_ins AFTER INSERT ON chat_message FOR EACH ROW "
    f"WHEN {_COUNTED.format(row='NEW')} BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER reports_message_day_upd AFTER UPDATE ON chat_message FOR EACH ROW WHEN {_CHANGED} BEGIN "
    f"{_SQLITE_REMOVE.replace('WHERE', 'WHERE ' + _COUNTED.format(row='OLD') + ' AND', 1)} "
    f"INSERT INTO reports_messageday (day, topic_id, author_id, n) "
    f"SELECT {_SQLITE_DAY.format(row='NEW')}, NEW.topic_id, NEW.author_id, 1 WHERE {_COUNTED.format(row='NEW')} "
    "ON CONFLICT (day, topic_id, author_id) DO UPDATE SET n = n + 1; END",
    f"CREATE TRIGGER reports_message_day_del AFTER DELETE ON chat_message FOR EACH ROW "
    f"WHEN {_COUNTED.format(row='OLD')} BEGIN {_SQLITE_REMOVE} END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS reports_message_day_ins",
    "DROP TRIGGER IF EXISTS reports_message_day_upd",
    "DROP TRIGGER IF EXISTS reports_message_day_del",
]


# --- requests: made and first accepted per local month (reports.models.TicketMonth) -----------------

_RESTRICTED = "({row}.tlp IN ('amber+strict', 'red'))"  # requests.selectors.PARTY_ONLY
_TICKET_CHANGED = ("OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.accepted_at IS DISTINCT FROM NEW.accepted_at "
                   "OR OLD.requesting_centre_id IS DISTINCT FROM NEW.requesting_centre_id "
                   "OR OLD.target_centre_id IS DISTINCT FROM NEW.target_centre_id "
                   f"OR {_RESTRICTED.format(row='OLD')} IS DISTINCT FROM {_RESTRICTED.format(row='NEW')}")
_TICKET_KEY = "(kind, month, requesting, target, restricted)"


def _pg_month(column: str) -> str:
    return f"date_trunc('month', {column} AT TIME ZONE '{ROLLUP_TIME_ZONE}')::date"


def _pg_ticket_cell(row: str, kind: int, column: str) -> str:
    return (f"kind = {kind} AND month = {_pg_month(f'{row}.{column}')} AND requesting = {row}.requesting_centre_id "
            f"AND target = coalesce({row}.target_centre_id, 0) AND restricted = {_RESTRICTED.format(row=row)}")


PG_TICKET_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_ticket_month_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE reports_ticketmonth SET n = n - 1 WHERE {_pg_ticket_cell('OLD', 1, 'created_at')};
        IF OLD.accepted_at IS NOT NULL THEN
            UPDATE reports_ticketmonth SET n = n - 1 WHERE {_pg_ticket_cell('OLD', 2, 'accepted_at')};
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO reports_ticketmonth (kind, month, requesting, target, restricted, n)
        SELECT k.kind, {_pg_month('k.at')}, NEW.requesting_centre_id, coalesce(NEW.target_centre_id, 0),
               {_RESTRICTED.format(row='NEW')}, 1
          FROM (VALUES (1, NEW.created_at), (2, NEW.accepted_at)) AS k(kind, at) WHERE k.at IS NOT NULL
        ON CONFLICT {_TICKET_KEY} DO UPDATE SET n = reports_ticketmonth.n + 1;
    END IF;
    RETURN NULL;
END
$$
"""
PG_TICKET_INSERT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_ticket_month_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_ticketmonth (kind, month, requesting, target, restricted, n)
    SELECT k.kind, {_pg_month('k.at')}, i.requesting_centre_id, coalesce(i.target_centre_id, 0),
           {_RESTRICTED.format(row='i')}, count(*)
      FROM inserted AS i CROSS JOIN LATERAL (VALUES (1, i.created_at), (2, i.accepted_at)) AS k(kind, at)
     WHERE k.at IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT {_TICKET_KEY} DO UPDATE SET n = reports_ticketmonth.n + EXCLUDED.n;
    RETURN NULL;
END
$$
"""
_TICKET_TRIGGERS = ("reports_ticket_month_ins", "reports_ticket_month_upd", "reports_ticket_month_del")
PG_TICKET_FORWARD = [
    PG_TICKET_FUNCTION,
    PG_TICKET_INSERT_FUNCTION,
    *[f"DROP TRIGGER IF EXISTS {name} ON support_requests_ticket" for name in _TICKET_TRIGGERS],
    "CREATE TRIGGER reports_ticket_month_ins AFTER INSERT ON support_requests_ticket REFERENCING NEW TABLE AS "
    "inserted FOR EACH STATEMENT EXECUTE FUNCTION reports_ticket_month_insert()",
    f"CREATE TRIGGER reports_ticket_month_upd AFTER UPDATE ON support_requests_ticket FOR EACH ROW "
    f"WHEN ({_TICKET_CHANGED}) EXECUTE FUNCTION reports_ticket_month_apply()",
    "CREATE TRIGGER reports_ticket_month_del AFTER DELETE ON support_requests_ticket FOR EACH ROW "
    "EXECUTE FUNCTION reports_ticket_month_apply()",
]
PG_TICKET_BACKWARD = [
    *[f"DROP TRIGGER IF EXISTS {name} ON support_requests_ticket" for name in _TICKET_TRIGGERS],
    "DROP FUNCTION IF EXISTS reports_ticket_month_apply()",
    "DROP FUNCTION IF EXISTS reports_ticket_month_insert()",
]


def _sqlite_month(column: str) -> str:
    return f"date({column}, '+{_OFFSET_HOURS} hours', 'start of month')"


def _sqlite_ticket_add(kind: int, column: str) -> str:
    # `WHERE`: a NULL moment counts nowhere (and SQLite needs a WHERE before an upsert's ON CONFLICT).
    return ("INSERT INTO reports_ticketmonth (kind, month, requesting, target, restricted, n) "
            f"SELECT {kind}, {_sqlite_month(f'NEW.{column}')}, NEW.requesting_centre_id, "
            f"coalesce(NEW.target_centre_id, 0), {_RESTRICTED.format(row='NEW')}, 1 WHERE NEW.{column} IS NOT NULL "
            f"ON CONFLICT {_TICKET_KEY} DO UPDATE SET n = n + 1;")


def _sqlite_ticket_remove(kind: int, column: str) -> str:
    return (f"UPDATE reports_ticketmonth SET n = n - 1 WHERE OLD.{column} IS NOT NULL AND kind = {kind} "
            f"AND month = {_sqlite_month(f'OLD.{column}')} AND requesting = OLD.requesting_centre_id "
            f"AND target = coalesce(OLD.target_centre_id, 0) AND restricted = {_RESTRICTED.format(row='OLD')};")


_SQLITE_TICKET_ADD = _sqlite_ticket_add(1, "created_at") + " " + _sqlite_ticket_add(2, "accepted_at")
_SQLITE_TICKET_REMOVE = _sqlite_ticket_remove(1, "created_at") + " " + _sqlite_ticket_remove(2, "accepted_at")
SQLITE_TICKET_FORWARD = [
    *[f"DROP TRIGGER IF EXISTS {name}" for name in _TICKET_TRIGGERS],
    f"CREATE TRIGGER reports_ticket_month_ins AFTER INSERT ON support_requests_ticket FOR EACH ROW "
    f"BEGIN {_SQLITE_TICKET_ADD} END",
    f"CREATE TRIGGER reports_ticket_month_upd AFTER UPDATE ON support_requests_ticket FOR EACH ROW "
    f"WHEN {_TICKET_CHANGED.replace(' IS DISTINCT FROM ', ' IS NOT ')} "
    f"BEGIN {_SQLITE_TICKET_REMOVE} {_SQLITE_TICKET_ADD} END",
    f"CREATE TRIGGER reports_ticket_month_del AFTER DELETE ON support_requests_ticket FOR EACH ROW "
    f"BEGIN {_SQLITE_TICKET_REMOVE} END",
]
SQLITE_TICKET_BACKWARD = [f"DROP TRIGGER IF EXISTS {name}" for name in _TICKET_TRIGGERS]


def install_ticket_triggers(schema_editor) -> None:
    """Create (or re-create) the triggers that keep TicketMonth — what reports 0002 runs, and what a
    later migration that rebuilds support_requests_ticket on SQLite must run again."""
    statements = {"postgresql": PG_TICKET_FORWARD, "sqlite": SQLITE_TICKET_FORWARD}.get(
        schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop_ticket_triggers(schema_editor) -> None:
    statements = {"postgresql": PG_TICKET_BACKWARD, "sqlite": SQLITE_TICKET_BACKWARD}.get(
        schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)


def _ticket_months_sql(conn) -> str:
    """TicketMonth's definition, counted from the rows."""
    month = _pg_month if conn.vendor == "postgresql" else _sqlite_month
    parts = [f"SELECT {kind} AS kind, {month(column)} AS month, requesting_centre_id AS requesting, "
             f"coalesce(target_centre_id, 0) AS target, {_RESTRICTED.format(row='support_requests_ticket')} "
             f"AS restricted, COUNT(*) AS n FROM support_requests_ticket WHERE {column} IS NOT NULL "
             "GROUP BY 1, 2, 3, 4, 5" for kind, column in ((1, "created_at"), (2, "accepted_at"))]
    return " UNION ALL ".join(parts)


def rebuild_ticket_months(using_connection=None) -> int:
    """Recompute TicketMonth from the rows, the table locked against writers meanwhile (as
    `rebuild_message_days`). Returns the number of rollup rows."""
    conn = using_connection or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("LOCK TABLE support_requests_ticket IN SHARE MODE")
        cursor.execute("DELETE FROM reports_ticketmonth")
        cursor.execute(f"INSERT INTO reports_ticketmonth {_TICKET_KEY[:-1]}, n) {_ticket_months_sql(conn)}")
        cursor.execute("SELECT COUNT(*) FROM reports_ticketmonth")
        return cursor.fetchone()[0]


def ticket_months_differing() -> int:
    """How many cells of TicketMonth differ from counting the rows (0: equal)."""
    counted = _ticket_months_sql(connection)
    rolled = "SELECT kind, month, requesting, target, restricted, n FROM reports_ticketmonth WHERE n <> 0"
    return _differing(counted, rolled)


def whole_months(start: datetime, end: datetime, tz_name: str) -> tuple[date, date] | None:
    """(first day of the first month, first day after the last month) when [start, end) is whole local
    months of the rollups' time zone (a calendar year, say); None otherwise."""
    days = whole_days(start, end, tz_name)
    if days is None or days[0].day != 1 or days[1].day != 1:
        return None
    return days


def install_triggers(schema_editor) -> None:
    """Create (or re-create) the triggers on this database — what the migration runs, and what a later
    migration that rebuilds chat_message on SQLite must run again."""
    statements = {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)  # plpgsql's own text, not parameters


def drop_triggers(schema_editor) -> None:
    statements = {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)


def _day_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE '{ROLLUP_TIME_ZONE}')::date"
    return f"date({column}, '+{_OFFSET_HOURS} hours')"


def rebuild_message_days(using_connection=None) -> int:
    """Recompute the message rollup from the rows (`manage.py rebuild_report_rollups`, and the
    migration that creates it): the table is locked against writers meanwhile, so nothing is missed
    or counted twice. Returns the number of rollup rows."""
    conn = using_connection or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("LOCK TABLE chat_message IN SHARE MODE")
        cursor.execute("DELETE FROM reports_messageday")
        cursor.execute(
            f"INSERT INTO reports_messageday (day, topic_id, author_id, n) SELECT {_day_sql('created_at')}, "
            f"topic_id, author_id, COUNT(*) FROM chat_message WHERE {_COUNTED.format(row='chat_message')} "
            "GROUP BY 1, 2, 3")
        cursor.execute("SELECT COUNT(*) FROM reports_messageday")
        return cursor.fetchone()[0]


def whole_days(start: datetime, end: datetime, tz_name: str) -> tuple[date, date] | None:
    """(first day, day after the last) when [start, end) is whole local days of the rollups' time
    zone and the current zone is that one; None otherwise (then the rows are counted)."""
    if tz_name != ROLLUP_TIME_ZONE:
        return None
    tz = ZoneInfo(ROLLUP_TIME_ZONE)
    first, last = start.astimezone(tz), end.astimezone(tz)
    if any(moment.timetz().replace(tzinfo=None) != time.min for moment in (first, last)):
        return None
    return first.date(), last.date()


def message_days_differing() -> int:
    """How many (day, topic, author) cells of the rollup differ from counting the rows (0: equal)."""
    counted = (f"SELECT {_day_sql('created_at')} AS day, topic_id, author_id, COUNT(*) AS n FROM chat_message "
               f"WHERE {_COUNTED.format(row='chat_message')} GROUP BY 1, 2, 3")
    rolled = "SELECT day, topic_id, author_id, n FROM reports_messageday WHERE n <> 0"
    return _differing(counted, rolled)


def _differing(counted: str, rolled: str) -> int:
    """Rows of either query missing from the other. Two statements: SQLite takes no parenthesised
    compound SELECT (`(a EXCEPT b) UNION ALL (b EXCEPT a)` is a syntax error there)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT * FROM ({counted}) AS c EXCEPT {rolled}) AS a")
        missing = cursor.fetchone()[0]
        cursor.execute(f"SELECT COUNT(*) FROM ({rolled} EXCEPT SELECT * FROM ({counted}) AS c) AS b")
        return missing + cursor.fetchone()[0]

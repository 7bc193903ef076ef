"""Fill the bench database for the HTTP benchmark: N messages in one topic and M tickets.

    DJANGO_SETTINGS_MODULE=hub.settings python -m bench.seed_history --messages 1000000 --tickets 100000 \
        --topic phat-trien-phan-mem

Messages are inserted by one `INSERT … SELECT generate_series` (a million rows through the ORM would
take minutes); the columns come from the model, so a field the chat app adds later is either given
its default here or makes this fail loudly. Tickets go through `bulk_create`. Idempotent per run:
only what is missing is added. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time


def message_columns(*, topic_id: int, first_author: int, authors: int, count: int) -> dict[str, str]:
    """The SQL expression of each `chat_message` column for row `g` of `generate_series(1, count)`.
    A column the chat app adds must be given here (tests/bench/test_bench_parts.py checks it)."""
    return {
        "topic_id": str(topic_id),
        # bench users were created together, so their ids are consecutive
        "author_id": f"{first_author} + (g % {authors})",
        "body": "'Lịch sử #' || g || ': cập nhật bản vá cho hệ thống ' || (g % 97)",
        "html": "'<p>Lịch sử #' || g || ': cập nhật bản vá cho hệ thống ' || (g % 97) || '</p>'",
        "client_id": "NULL",
        "created_at": f"now() - make_interval(secs => {count} - g)",
        "edited_at": "NULL",
        "deleted_at": "NULL",
        "changed_at": "NULL",
        "marked_at": "NULL",  # never re-marked
        "version": "0",
        "audience": "NULL",
        "audience_centres": "NULL",
        "audience_roles": "NULL",
        "audience_users": "NULL",
        "prev_id": "NULL",  # chat: null for rows bulk-loaded without it
        "reply_to_id": "NULL", "thread_root_id": "NULL", "also_channel": "false",  # not thread replies
        "reply_count": "0", "last_reply_at": "NULL",
        "tlp": "'green'", "shared_with": "NULL", "promoted_to": "'[]'::jsonb",  # the topic's default scope
        "files": "'[]'::jsonb",  # no files posted with them
        "search_text": "' lich su ' || g || ' cap nhat ban va cho he thong ' || (g % 97) || ' '",
    }


def seed_messages(topic_slug: str, count: int) -> dict:
    from django.db import connection

    from chat.models import Message, Topic
    from hub.models import User

    topic = Topic.objects.get(slug=topic_slug)
    have = Message.objects.filter(topic=topic).count()
    missing = max(0, count - have)
    if missing:
        authors = list(User.objects.filter(username__startswith="bench-").order_by("id").values_list("id", flat=True))
        first, span = authors[0], len(authors)
        exprs = message_columns(topic_id=topic.pk, first_author=first, authors=span, count=missing)
        columns = [f.column for f in Message._meta.concrete_fields if not f.primary_key and f.column]
        unknown = [c for c in columns if c not in exprs]
        if unknown:
            raise SystemExit(f"chat_message has columns this seeder does not know: {unknown}")
        sql = (f"INSERT INTO {Message._meta.db_table} ({', '.join(columns)}) "
               f"SELECT {', '.join(exprs[c] for c in columns)} FROM generate_series(1, {missing}) AS g")
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.execute(f"ANALYZE {Message._meta.db_table}")
    ids = Message.objects.filter(topic=topic).order_by("id").values_list("id", flat=True)
    return {"messages": have + missing, "messages_added": missing, "first_id": ids.first(), "last_id": ids.last()}


def seed_tickets(count: int) -> dict:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from hub.models import Centre, User
    from requests.models import PRIORITY_RANK, Category, Priority, Status, Ticket

    have = Ticket.objects.count()
    missing = max(0, count - have)
    if missing:
        centres = list(Centre.objects.order_by("code"))
        users = list(User.objects.filter(username__startswith="bench-").order_by("id"))
        categories, priorities, statuses = list(Category.values), list(Priority.values), list(Status.values)
        now = timezone.now()
        batch = []
        for n in range(have, have + missing):
            requester = users[n % len(users)]
            assert requester.centre_id is not None  # bench users belong to centres (bench.seed_users)
            priority = priorities[n % len(priorities)]
            created = now - timedelta(minutes=count - n)
            batch.append(Ticket(
                reference=f"BENCH-{n:07d}", title=f"Yêu cầu hỗ trợ số {n}", description="Cần hỗ trợ kỹ thuật.",
                description_html="<p>Cần hỗ trợ kỹ thuật.</p>", category=categories[n % len(categories)],
                priority=priority, priority_rank=PRIORITY_RANK[priority], status=statuses[n % len(statuses)],
                requesting_centre_id=requester.centre_id, requested_by=requester,
                target_centre=centres[(n * 7) % len(centres)] if n % 5 else None,
                due_at=created + timedelta(days=3), created_at=created, updated_at=created,
                search_text=f" bench-{n:07d} yeu cau ho tro so {n} can ho tro ky thuat ",
            ))
            if len(batch) == 5000:
                Ticket.objects.bulk_create(batch)
                batch = []
        if batch:
            Ticket.objects.bulk_create(batch)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    return {"tickets": have + missing, "tickets_added": missing}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()

    import django

    django.setup()
    out: dict = {}
    t0 = time.perf_counter()
    out.update(seed_messages(args.topic, args.messages))
    out["messages_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        out.update(seed_tickets(args.tickets))
    except Exception as exc:  # the tickets app is young: report, and still measure history
        out["tickets_error"] = f"{type(exc).__name__}: {exc}"[:500]
    out["tickets_s"] = time.perf_counter() - t1
    print(json.dumps(out))


if __name__ == "__main__":
    main()

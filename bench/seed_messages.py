"""Store N messages in a topic in one go, as if a client had been offline while they were posted.

    DJANGO_SETTINGS_MODULE=hub.settings python -m bench.seed_messages --count 10000 --topic SLUG

Rows are built the way `chat.services.post_message` builds them (rendered HTML, search text, no
audience) but inserted with `bulk_create`: the catch-up benchmark measures reading them back, and
posting 10,000 messages one by one would measure posting instead. Prints `{"after": A, "last": L}`:
the id before the first new message, and the last new id.
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import transaction

    from chat.models import Message, Topic
    from chat.rendering import render_body
    from chat.text import search_text
    from hub.models import User

    topic = Topic.objects.get(slug=args.topic)
    authors = list(User.objects.filter(username__startswith="bench-").order_by("username")[:50])
    if not authors:
        raise SystemExit("no bench users: run bench.seed_users first")
    rows = []
    for i in range(args.count):
        body = f"Nhật ký sự cố #{i}: đã chặn địa chỉ 203.0.113.{i % 250} trên tường lửa **biên**."
        message = Message(topic=topic, author=authors[i % len(authors)], body=body, html=render_body(body).html,
                          client_id=None, search_text=search_text(body))
        message.set_audience(None)
        rows.append(message)
    with transaction.atomic():
        before = Message.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first() or 0
        Message.objects.bulk_create(rows, batch_size=1000)
        last = Message.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first()
    print(json.dumps({"after": before, "last": last}))


if __name__ == "__main__":
    main()

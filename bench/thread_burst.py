"""Posting throughput with replies mixed in, in-process: `threads` database threads (the server's
HUB_WS_DB_THREADS is 4) each posting plain, plain, then a reply to one thread's root, `rounds`
times, on PostgreSQL — the database side of `hub-uvicorn-mixed-1`'s saturating burst, without the
fan-out. Prints posts/s, CPU per post and the root's count (which must equal its replies).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_probe_<you> \\
        .venv/bin/python -m bench.thread_burst [threads=4] [rounds=60]

The database is dropped and recreated (bench.thread_probe). One process: its threads share the
GIL, so on a small machine this is bounded by the CPU per post as much as by the topic's lock.
"""

from __future__ import annotations

import sys
import threading
import time


def main(argv: list[str]) -> None:
    from bench.thread_probe import fresh_database

    fresh_database()
    from django.db import connections

    from chat.selectors import get_topic
    from chat.services import create_topic, post_message
    from hub.models import Centre, User

    count, rounds = (int(argv[0]) if argv else 4), (int(argv[1]) if len(argv) > 1 else 60)
    centres = [Centre.objects.create(code=c, name_vi=c, name_en=c) for c in ("HT", "DN", "QT")]
    people = [User.objects.create(username=f"{centres[i % 3].code.lower()}.eng{i}", centre=centres[i % 3])
              for i in range(11)]
    create_topic(slug="probe", name_vi="Probe", name_en="Probe")
    topic = get_topic("probe")
    assert topic is not None
    root, _ = post_message(topic, by=people[0], body="Gốc của luồng")
    for person in people[1:10]:
        post_message(topic, by=person, body="tham gia", reply_to=root.pk)
    barrier = threading.Barrier(count + 1)

    def run(k: int) -> None:
        mine, me = get_topic("probe"), people[1 + k % 9]  # as each socket holds it
        assert mine is not None
        barrier.wait()
        try:
            for i in range(rounds):
                post_message(mine, by=me, body=f"tin nhắn {i}")
                post_message(mine, by=me, body=f"tin nhắn {i}b")
                post_message(mine, by=me, body=f"trả lời {i}", reply_to=root.pk)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for worker in workers:
        worker.start()
    barrier.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    posts = count * rounds * 3
    root.refresh_from_db()
    print(f"{posts} posts in {wall:.2f} s: {posts / wall:.0f} posts/s, CPU {cpu * 1000 / posts:.2f} ms/post, "
          f"root's count {root.reply_count} (its replies: {9 + count * rounds})")


if __name__ == "__main__":
    main(sys.argv[1:])

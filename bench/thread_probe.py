"""What a threaded reply costs against a plain message, in-process (issue 26's "threads did not slow
the topic fan-out"): queries before, inside and after the topic's row lock, how long the lock is
held, and CPU and wall time per post, alternating plain posts and replies so that a busy machine
disturbs both alike.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hub_probe_<you> \\
        .venv/bin/python -m bench.thread_probe [--posts 200] [--participants 10] [--profile reply]

The database is dropped, recreated and migrated (PostgreSQL only). The channel layer is the
in-memory one unless REDIS_URL is set. The topic is loaded as a socket loads it
(`chat.selectors.get_topic`), the thread has `--participants` people (its root's author and
repliers), each with a "reply" notification recorded per reply, as in `hub-uvicorn-mixed-1`; each
reply is followed by its author toggling 👍 on the root ("reaction": it takes no topic lock, so its
statements count as "before"; its message read is counted too).
Prints one JSON object: per kind, the median and mean of each figure.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def _recreate(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def fresh_database() -> None:
    """Drop and recreate DATABASE_URL's PostgreSQL database, set Django up on it and migrate it: what
    the in-process probes (this one and bench/thread_burst.py) start from."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (it is dropped and recreated)")
    _recreate(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class LockWindow:
    """Counts each post's queries by where they ran: before the topic's `FOR UPDATE`, between it and
    COMMIT (the window every other sender of the topic waits out), and after (hooks, later
    transactions); times the window from the lock's query to the first after-commit hook."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.before = self.inside = self.after = 0
        self.locked_at: float | None = None
        self.held: float | None = None
        self.inside_sql: list[str] = []

    def _released(self) -> None:
        assert self.locked_at is not None
        self.held = time.perf_counter() - self.locked_at

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        from django.db import connection, transaction

        if self.locked_at is None and "FOR UPDATE" in sql and 'FROM "chat_topic" WHERE' in sql:
            self.locked_at = time.perf_counter()
            self.inside += 1
            self.inside_sql.append(sql)
            result = execute(sql, params, many, context)
            transaction.on_commit(self._released)  # the transaction's first hook: runs right after COMMIT
            return result
        if self.locked_at is None:
            self.before += 1
        elif self.held is None and connection.in_atomic_block:
            self.inside += 1
            self.inside_sql.append(sql)
        else:
            self.after += 1
        return execute(sql, params, many, context)


@contextmanager
def watching(window: LockWindow) -> Iterator[LockWindow]:
    from django.db import connection

    window.reset()
    with connection.execute_wrapper(window):
        yield window


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200, help="posts of each kind (alternating)")
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--show-sql", action="store_true", help="print one reply's queries inside the lock")
    parser.add_argument("--profile", choices=("plain", "reply", "reaction"),
                        help="cProfile (CPU time) that kind's posts; print the top functions (cumulative) to stderr")
    args = parser.parse_args(argv)
    fresh_database()
    from chat.models import Message
    from chat.selectors import get_topic
    from chat.services import create_topic, post_message, toggle_reaction
    from hub.models import Centre, User

    centres = [Centre.objects.create(code=c, name_vi=c, name_en=c) for c in ("HT", "DN", "QT")]
    people = [User.objects.create(username=f"{centres[i % 3].code.lower()}.eng{i}", centre=centres[i % 3])
              for i in range(max(args.participants, 2) + 1)]
    create_topic(slug="probe", name_vi="Probe", name_en="Probe")
    topic = get_topic("probe")
    assert topic is not None
    root, _ = post_message(topic, by=people[0], body="Gốc của luồng")
    for person in people[1:args.participants]:
        post_message(topic, by=person, body="tham gia", reply_to=root.pk)
    outsider = people[-1]  # posts the plain messages; repliers rotate among the participants
    # After-commit hand-overs to the event loop: each one may leave as its own layer message (one
    # more write to every socket), several frames in one leave together.
    from hub.realtime import publisher

    handed = [0]
    run_publisher = publisher._run_publisher

    def counted(items: Any) -> None:
        handed[0] += 1
        run_publisher(items)

    publisher._run_publisher = counted
    window = LockWindow()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
    figures: dict[str, dict[str, list[float]]] = {"plain": {}, "reply": {}, "reaction": {}}

    def record(kind: str, post: Callable[[Any], object]) -> None:
        topic_now = get_topic("probe")  # as the socket holds it, read before the post
        assert topic_now is not None
        handed[0] = 0
        profiling = profiler if kind == args.profile else None
        with watching(window):
            wall, cpu = time.perf_counter(), time.process_time()
            if profiling is not None:
                profiling.enable()
            post(topic_now)
            if profiling is not None:
                profiling.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        row = figures[kind]
        for name, value in (("queries_before_lock", window.before), ("queries_in_lock", window.inside),
                            ("queries_after_commit", window.after), ("lock_held_ms", (window.held or 0) * 1000),
                            ("handovers", handed[0]), ("cpu_ms", cpu * 1000), ("wall_ms", wall * 1000)):
            row.setdefault(name, []).append(value)

    shown = False
    for i in range(args.posts):
        replier = people[1 + i % (args.participants - 1)]

        def plain(t: Any, i: int = i) -> object:
            return post_message(t, by=outsider, body=f"tin nhắn {i}")

        def reply(t: Any, i: int = i, r: User = replier) -> object:
            return post_message(t, by=r, body=f"trả lời {i}", reply_to=root.pk)

        def react(t: Any, r: User = replier) -> object:  # the bench's 👍 on the root (its service, not HTTP)
            return toggle_reaction(Message.objects.select_related("topic").get(pk=root.pk), by=r, emoji="👍")

        record("plain", plain)
        record("reply", reply)
        if args.show_sql and not shown:
            shown = True
            print("\n".join(window.inside_sql), file=sys.stderr)
        record("reaction", react)
    out: dict[str, Any] = {
        kind: {name: {"median": round(statistics.median(values), 3), "mean": round(statistics.fmean(values), 3)}
               for name, values in row.items()} for kind, row in figures.items()}
    from notify.models import Notification

    out["notifications"] = Notification.objects.count()
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

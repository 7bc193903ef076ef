"""A threaded reply holds the topic's lock hardly longer than a plain message (issue 26, "threads and
reactions did not slow the topic fan-out"). Every message of a topic is committed under the topic's
row lock (chat.services._insert_message), so whatever a reply does inside it, every other sender of
the topic waits for. Who took part in the thread and whom its reply notifies is read before the
lock; inside it a reply adds two writes: its root's count and the notifications
(docs/benchmarks.md, "Issue 26")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from chat.models import Message
from chat.services import post_message, toggle_reaction
from notify.models import Notification, TopicLevel, TopicSetting

pytestmark = pytest.mark.django_db(transaction=True)


class LockWindow:
    """The statements of one post's transaction, before the topic's lock and from it until COMMIT.
    The lock is the transaction's read of its topic row (`SELECT … FOR UPDATE`; SQLite locks the
    whole database at the first write instead); the reads before the transaction are not counted."""

    def __init__(self) -> None:
        self.before: list[str] = []
        self.inside: list[str] = []
        self._began = self._committed = self.paused = False

    def _released(self) -> None:
        self._committed = True

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if connection.in_atomic_block and not self._committed and not self.paused:
            if not self._began:
                self._began = True
                transaction.on_commit(self._released)  # the transaction's first hook
            statement = sql.split(None, 1)[0] + (" " + sql.split('"', 2)[1] if '"' in sql else "")
            (self.inside if self.inside or statement == "SELECT chat_topic" else self.before).append(statement)
        return execute(sql, params, many, context)


def in_transaction(post: Callable[[], object], window: LockWindow | None = None) -> LockWindow:
    """What `post` ran in its transaction: `.before` the topic's lock, and `.inside` it ("SELECT
    chat_topic", "INSERT chat_message"…)."""
    window = window or LockWindow()
    with connection.execute_wrapper(window):
        post()
    assert window._committed, "the post committed"
    return window


# A plain message's statements under the topic's lock: the lock and the INSERT, which on PostgreSQL
# reads the topic's previous message id itself (chat.services._store_message); elsewhere a SELECT
# of it comes first.
PLAIN_INSIDE = (["SELECT chat_topic", "INSERT chat_message"] if connection.vendor == "postgresql"
                else ["SELECT chat_topic", "SELECT chat_message", "INSERT chat_message"])


@pytest.fixture
def thread(make_user, make_topic):
    """A channel with a thread of ten participants (its root's author and nine repliers, of three
    centres), one of whom follows the channel for mentions only, and one person outside the thread."""
    topic = make_topic("phat-trien-phan-mem")
    people = [make_user(f"{code.lower()}.eng{i}", centre=code) for i, code in enumerate(["HT", "DN", "QB"] * 4)]
    root = post_message(topic, by=people[0], body="Có ai tích hợp VNeID chưa?")[0]
    for person in people[1:10]:
        post_message(topic, by=person, body="tham gia", reply_to=root.pk)
    TopicSetting.objects.create(user=people[3], topic=topic, level=TopicLevel.MENTIONS)
    return {"topic": topic, "root": root, "people": people}


def test_a_reply_holds_the_topic_lock_for_two_writes_more_than_a_plain_message(thread):
    topic, root, people = thread["topic"], thread["root"], thread["people"]
    plain = in_transaction(lambda: post_message(topic, by=people[11], body="tin nhắn thường"))
    assert (plain.before, plain.inside) == ([], PLAIN_INSIDE)
    before = Notification.objects.count()
    reply = in_transaction(lambda: post_message(topic, by=people[1], body="trả lời", reply_to=root.pk))
    assert reply.inside == [*plain.inside, "UPDATE chat_message", "INSERT notify_notification"]
    # Its root's row is locked first: a reaction or an edit of the root is waited for outside the topic's lock.
    assert reply.before == ["SELECT chat_message"]
    # …and still every other participant is notified (the mentions-only follower too: a reply in a
    # thread they took part in is addressed to them), counted exactly.
    assert Notification.objects.count() - before == 9
    root.refresh_from_db()
    newest = Message.objects.filter(thread_root=root).latest("id")
    assert (root.reply_count, root.last_reply_at) == (10, newest.created_at)


def test_what_a_reply_does_in_its_transaction_does_not_grow_with_its_thread(thread, make_user):
    topic, root, people = thread["topic"], thread["root"], thread["people"]
    first = in_transaction(lambda: post_message(topic, by=people[1], body="một", reply_to=root.pk))
    for i in range(20):
        post_message(topic, by=make_user(f"qt.eng{i}", centre="QT"), body="thêm", reply_to=root.pk)
    later = in_transaction(lambda: post_message(topic, by=people[2], body="hai", reply_to=root.pk))
    assert (later.before, later.inside) == (first.before, first.inside)


def test_a_reply_committed_between_the_reading_and_the_lock_is_counted_and_its_author_notified(
        thread, make_user, monkeypatch):
    """Who took part is read before the transaction: when another reply commits in between (here:
    posted right after the reading), the root's count has moved when the reply locks its root, and
    what changed is read again then — still before the topic's lock."""
    topic, root, people = thread["topic"], thread["root"], thread["people"]
    newcomer = make_user("qt.engineer", centre="QT")
    from chat.selectors import thread_state as read
    from hub.realtime.publisher import Broadcast, broadcast_together_on_commit
    raced: list[Message] = []
    readings = 0
    window = LockWindow()

    def reading_then_a_reply(root_id: int, *, after: int = 0) -> Any:
        nonlocal readings
        state = read(root_id, after=after)
        readings += 1
        if readings == 1:  # the later reply's reading: the newcomer's reply commits right after it
            window.paused = True
            raced.append(post_message(topic, by=newcomer, body="tôi cũng vậy", reply_to=root.pk)[0])
            window.paused = False
        return state

    frames: list[dict[str, Any]] = []

    def recorded(broadcasts: list[Broadcast]) -> None:
        frames.extend(dict(frame) for _groups, frame, _audience in broadcasts)
        broadcast_together_on_commit(broadcasts)

    monkeypatch.setattr("chat.services.thread_state", reading_then_a_reply)
    monkeypatch.setattr("chat.services.broadcast_together_on_commit", recorded)
    in_transaction(lambda: raced.append(post_message(topic, by=people[1], body="trả lời sau cùng",
                                                     reply_to=root.pk)[0]), window)
    reply = raced[1]
    # The root's lock found the count moved: who replied since is read then, before the topic's lock.
    assert window.before[:3] == ["SELECT chat_message", "SELECT chat_message", "SELECT hub_user"]
    # …in one statement: the newcomer with their level for the topic and their channel for mentions
    # (notify.services.mention_channels; what follows is the topic's centres, not loaded in this test).
    assert not {"SELECT notify_topicsetting", "SELECT notify_preference"} & set(window.before)
    assert window.inside[len(PLAIN_INSIDE):] == ["UPDATE chat_message", "INSERT notify_notification"]
    root.refresh_from_db()
    assert (root.reply_count, root.last_reply_at) == (11, reply.created_at)
    assert [f["reply_count"] for f in frames if f["type"] == "thread.updated"] == [10, 11]
    notified = set(Notification.objects.filter(message=reply, verb="reply").values_list("user__username", flat=True))
    assert notified == {p.username for p in people[:10] if p != people[1]} | {"qt.engineer"}
    # The newcomer's own reply notified the thread as it stood, without the later reply's author twice.
    assert Notification.objects.filter(message=raced[0], verb="reply").count() == 10


@pytest.mark.services
def test_a_reply_waiting_for_its_root_does_not_hold_up_the_topic(thread):
    """A reaction (or an edit) holds its message's row until it commits. A reply to that message
    waits for it — but before taking the topic's lock, so the topic's other messages go on
    (PostgreSQL: SQLite locks the whole database for any write, so it proves nothing here)."""
    from tests.services import require

    require(None if connection.vendor == "postgresql" else "needs PostgreSQL (second pass of make test)")
    topic, root, people = thread["topic"], thread["root"], thread["people"]
    held, release = threading.Event(), threading.Event()

    def react_and_hold() -> None:
        try:
            with transaction.atomic():
                toggle_reaction(Message.objects.select_related("topic").get(pk=root.pk), by=people[5], emoji="👍")
                held.set()  # the root's row stays locked until this transaction ends
                release.wait(15)
        finally:
            connections.close_all()

    def reply() -> None:
        try:
            post_message(topic, by=people[1], body="trả lời khi gốc đang bị khoá", reply_to=root.pk)
        finally:
            connections.close_all()

    reacting, replying = threading.Thread(target=react_and_hold), threading.Thread(target=reply)
    reacting.start()
    assert held.wait(10)
    replying.start()
    time.sleep(1)  # the reply is waiting for the root's row by now
    started = time.monotonic()
    post_message(topic, by=people[11], body="không phải chờ")
    waited = time.monotonic() - started
    release.set()
    reacting.join(20)
    replying.join(20)
    assert waited < 5, f"a plain message waited {waited:.1f} s behind a reply waiting for its root"
    root.refresh_from_db()
    assert root.reply_count == 10 and root.reactions.count() == 1

"""The daily message rollup (reports.models.MessageDay) equals counting the rows after every kind of
write that changes what it counts — kept by the database's triggers in the write's own transaction
(reports/rollups.py) — and the dashboard's message figures read from it are the same numbers as the
rows give. Runs on SQLite and PostgreSQL (each has its own triggers)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection, transaction

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _raw() -> Counter:
    """The rollup's definition, counted from the rows: messages without an audience, not deleted,
    per local day, topic and author."""
    from chat.models import Message

    out: Counter = Counter()
    for created_at, topic_id, author_id in Message.objects.filter(
            deleted_at__isnull=True, audience__isnull=True).values_list("created_at", "topic_id", "author_id"):
        out[(created_at.astimezone(TZ).date(), topic_id, author_id)] += 1
    return out


def _rollup() -> Counter:
    from reports.models import MessageDay

    return Counter({(row.day, row.topic_id, row.author_id): row.n for row in MessageDay.objects.all() if row.n})


def _assert_equal(note: str) -> None:
    assert _rollup() == _raw(), note


@pytest.fixture
def people(make_user):
    return {"ht": make_user("ht.engineer", "HT"), "qb": make_user("qb.engineer", "QB"),
            "admin": make_user("admin", None, "hub_admin")}


@pytest.fixture
def topics(db):
    from chat.models import Topic

    return [Topic.objects.create(slug=f"kenh-{i}", name_vi=f"Kênh {i}", name_en=f"Channel {i}") for i in range(2)]


def test_rollup_follows_every_kind_of_write(people, topics, django_capture_on_commit_callbacks):
    from chat.models import Message
    from chat.services import delete_message, post_message

    with django_capture_on_commit_callbacks(execute=False):
        posted = [post_message(topics[i % 2], by=people["ht" if i % 3 else "qb"], body=f"tin {i}")[0]
                  for i in range(7)]
    _assert_equal("post_message")
    assert sum(_rollup().values()) == 7

    with django_capture_on_commit_callbacks(execute=False):
        delete_message(posted[0], by=people["ht"] if posted[0].author == people["ht"] else people["qb"])
    _assert_equal("delete_message")
    assert sum(_rollup().values()) == 6

    # Undeleted (a repair by SQL), moved to another day, another topic, another author.
    Message.objects.filter(pk=posted[0].pk).update(deleted_at=None)
    _assert_equal("undelete")
    Message.objects.filter(pk=posted[1].pk).update(created_at=datetime(2024, 2, 29, 23, 30, tzinfo=TZ))
    Message.objects.filter(pk=posted[2].pk).update(created_at=datetime(2024, 2, 29, 16, 59, tzinfo=ZoneInfo("UTC")))
    _assert_equal("created_at moved (local day boundary: 16:59 UTC is 23:59 in Hà Nội)")
    assert _rollup()[(datetime(2024, 2, 29).date(), posted[1].topic_id, posted[1].author_id)] >= 1
    Message.objects.filter(pk=posted[3].pk).update(topic=topics[0] if posted[3].topic_id == topics[1].pk
                                                    else topics[1])
    Message.objects.filter(pk=posted[4].pk).update(author=people["admin"])
    _assert_equal("topic and author changed")

    # An audience of its own takes it out of the rollup (counted from its rows), and back.
    restricted = Message.objects.get(pk=posted[5].pk)
    restricted.set_audience({"centres": ["HT"], "roles": None, "users": None})
    restricted.save()
    _assert_equal("audience set")
    restricted.set_audience(None)
    restricted.save()
    _assert_equal("audience cleared")
    # A save() of every column that changes nothing counted changes nothing.
    before = _rollup()
    again = Message.objects.get(pk=posted[6].pk)
    again.body = "sửa nội dung"
    again.save()
    assert _rollup() == before

    # Written with an audience from the start, in bulk, and deleted for good.
    with django_capture_on_commit_callbacks(execute=False):
        post_message(topics[0], by=people["ht"], body="chỉ HT",
                     audience=_audience({"centres": ["HT"], "roles": None, "users": None}))
    Message.objects.bulk_create([Message(topic=topics[1], author=people["qb"], body=f"b{i}", html="")
                                 for i in range(5)])
    _assert_equal("audience at posting, bulk insert")
    Message.objects.filter(pk__in=[posted[6].pk, posted[3].pk]).delete()
    _assert_equal("hard delete")


def _audience(meta):
    from hub.realtime.audience import Audience

    return Audience.from_meta(meta)


def test_a_rolled_back_write_leaves_the_rollup_as_it_was(people, topics):
    from chat.models import Message

    Message.objects.create(topic=topics[0], author=people["ht"], body="giữ", html="")
    before = _rollup()
    with pytest.raises(RuntimeError), transaction.atomic():
        Message.objects.create(topic=topics[0], author=people["ht"], body="bỏ", html="")
        raise RuntimeError
    assert _rollup() == before == _raw()


def test_deleting_a_topic_cascades_into_the_rollup(people, topics):
    from chat.models import Message

    for i in range(3):
        Message.objects.create(topic=topics[1], author=people["qb"], body=f"x{i}", html="")
    Message.objects.create(topic=topics[0], author=people["qb"], body="y", html="")
    topics[1].delete()
    _assert_equal("topic deleted")
    assert sum(_rollup().values()) == 1


def test_rebuild_command_recomputes_from_the_rows(people, topics):
    from chat.models import Message
    from reports.models import MessageDay

    for i in range(4):
        Message.objects.create(topic=topics[i % 2], author=people["ht"], body=f"z{i}", html="")
    MessageDay.objects.all().update(n=999)  # damaged by hand
    call_command("rebuild_report_rollups", verbosity=0)
    _assert_equal("rebuilt")


def test_the_triggers_are_installed(db):
    """SQLite drops a table's triggers when a migration rebuilds it: a later migration of chat_message
    must install them again (reports.rollups.install_triggers)."""
    names = {"reports_message_day_ins", "reports_message_day_upd", "reports_message_day_del"}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'chat_message'::regclass")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'chat_message'")
        found = {row[0] for row in cursor.fetchall()}
    assert names <= found


def test_message_counts_from_the_rollup_equal_the_rows(network):
    """The dashboard's message figures for whole local days (read from the rollup) are what counting
    the rows gives for the same period shifted by a second (not whole days: counted from the rows)."""
    from reports.selectors import message_counts

    users = network.users
    start, end = datetime(2025, 2, 1, tzinfo=TZ), datetime(2025, 4, 1, tzinfo=TZ)
    for viewer in (users["qb"], users["ht"], users["ht_sec"], users["admin"], None):
        for centre in (None, "HT", "QB"):
            whole = message_counts(viewer, start, end, centre)
            rows = message_counts(viewer, start - timedelta(seconds=1), end, centre)
            assert whole == rows, (viewer, centre)
    _topics, counts = message_counts(users["ht"], datetime(2025, 3, 1, tzinfo=TZ), datetime(2025, 4, 1, tzinfo=TZ))
    security = network.topics["security"].pk
    # HT sees its own audience message; the deleted one and February's are not counted.
    assert counts == {(security, "HT"): 3, (security, "QB"): 1}

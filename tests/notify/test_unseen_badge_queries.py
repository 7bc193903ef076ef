"""The bell's badge and the notification list read a fixed number of queries whatever the number of
unseen mentions in direct conversations: each conversation is checked once, and the reader's history
cutoffs are read once for all the messages (chat.selectors.may_read_messages) — still by the
conversation's history rule, so a mention from before someone was re-added is neither listed nor
counted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.services import add_members, leave_conversation, post_message, start_conversation
from notify.selectors import unseen_count

pytestmark = pytest.mark.django_db


def queries_of(call):
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, len(queries)


def test_conversation_mentions_cost_the_badge_and_the_list_the_same_queries_at_2_and_20(cast, api_client):
    topic, _ = start_conversation(by=cast.ht_engineer, members=["dn.engineer", "dn.manager"])
    client = api_client(cast.dn_engineer)
    client.get("/api/v1/notifications")  # the token's first use is not what is measured

    def mention(n):
        for i in range(n):
            post_message(topic, by=cast.ht_engineer, body=f"@dn.engineer @dn.manager lượt {i}: kiểm tra cổng 443")

    def listed():
        page = client.get("/api/v1/notifications").json()
        return page["unseen"], len(page["results"])

    mention(2)
    badge_at_2 = queries_of(lambda: unseen_count(cast.dn_engineer))
    list_at_2 = queries_of(listed)
    mention(18)
    badge_at_20 = queries_of(lambda: unseen_count(cast.dn_engineer))
    list_at_20 = queries_of(listed)
    assert (badge_at_2[0], list_at_2[0]) == (2, (2, 2)) and (badge_at_20[0], list_at_20[0]) == (20, (20, 20))
    assert badge_at_20[1] == badge_at_2[1], (badge_at_2, badge_at_20)
    assert list_at_20[1] == list_at_2[1], (list_at_2, list_at_20)

    # The history rule still decides: re-added without the history, DN's manager no longer reads the
    # twenty mentions from before; one written after is counted.
    leave_conversation(topic, by=cast.dn_manager)
    assert unseen_count(cast.dn_manager) == 0
    add_members(topic, by=cast.ht_engineer, usernames=["dn.manager"], history=False)
    assert unseen_count(cast.dn_manager) == 0
    post_message(topic, by=cast.ht_engineer, body="@dn.manager chào mừng trở lại")
    assert unseen_count(cast.dn_manager) == 1
    assert api_client(cast.dn_manager).get("/api/v1/notifications").json()["unseen"] == 1

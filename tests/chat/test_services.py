"""Domain rules of topic channels, through the services every entry point calls."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Mention, Message, MessageRevision, Topic
from chat.services import create_topic, delete_message, edit_message, mark_topic_read, post_message
from hub.errors import HubError
from hub.realtime.audience import Audience

pytestmark = pytest.mark.django_db


def test_create_topic_is_idempotent_on_slug_and_keeps_restrictions(make_user):
    make_user("ht.security", centre="HT", role="security_officer")
    first = create_topic(slug="ung-cuu-su-co", name_vi="Ứng cứu sự cố", name_en="Incident response",
                         allowed_roles=["security_officer"], allowed_centres=["HT"])
    again = create_topic(slug="ung-cuu-su-co", name_vi="Khác", name_en="Other")
    assert again.pk == first.pk and again.name_vi == "Ứng cứu sự cố"
    assert first.allowed_roles == ["security_officer"]
    assert list(first.allowed_centres.values_list("code", flat=True)) == ["HT"]
    assert first.kind == Topic.Kind.CHANNEL


@pytest.mark.parametrize("kwargs", [
    {"slug": "Không hợp lệ"}, {"slug": ""}, {"kind": "forum"}, {"allowed_roles": ["pilot"]},
    {"allowed_centres": ["XX"]},
])
def test_create_topic_rejects_bad_input_and_stores_nothing(kwargs, make_user):
    make_user("ht.engineer")
    spec = {"slug": "mot-chu-de", "name_vi": "Một", "name_en": "One", **kwargs}
    with pytest.raises(HubError) as raised:
        create_topic(**spec)
    assert raised.value.code == "invalid"
    assert not Topic.objects.exists()


def test_post_message_stores_body_as_written_and_rendered_html(make_user, make_topic):
    author = make_user("dn.engineer", centre="DN")
    topic = make_topic()
    message, created = post_message(topic, by=author, body="**Khẩn**: vá `CVE-2024-3400`", client_id="c1")
    assert created
    stored = Message.objects.get(pk=message.pk)
    assert stored.body == "**Khẩn**: vá `CVE-2024-3400`"
    assert stored.html == "<p><strong>Khẩn</strong>: vá <code>CVE-2024-3400</code></p>"
    assert stored.client_id == "c1" and stored.audience is None


def test_repeated_client_id_returns_the_first_message_and_stores_one(make_user, make_topic):
    author = make_user("dn.engineer", centre="DN")
    topic = make_topic()
    first, created_first = post_message(topic, by=author, body="một lần", client_id="retry-1")
    second, created_second = post_message(topic, by=author, body="một lần", client_id="retry-1")
    assert (created_first, created_second) == (True, False)
    assert second.pk == first.pk
    assert Message.objects.count() == 1


def test_same_client_id_from_different_authors_are_different_messages(make_user, make_topic):
    topic = make_topic()
    a, b = make_user("a.engineer"), make_user("b.engineer")
    post_message(topic, by=a, body="x", client_id="same")
    post_message(topic, by=b, body="y", client_id="same")
    assert Message.objects.count() == 2


def test_client_id_reused_in_another_topic_is_a_conflict(make_user, make_topic):
    author = make_user("dn.engineer", centre="DN")
    post_message(make_topic("mot"), by=author, body="x", client_id="k")
    with pytest.raises(HubError) as raised:
        post_message(make_topic("hai"), by=author, body="y", client_id="k")
    assert raised.value.code == "conflict" and Message.objects.count() == 1


@pytest.mark.parametrize("body, code", [
    ("", "invalid"), ("   \n\t ", "invalid"), (None, "invalid"), (42, "invalid"), ("a\x00b", "invalid"),
    ("\ud800 lone surrogate", "invalid"), ("ả" * 8193, "too_large"),
])
def test_bad_bodies_are_refused_and_store_nothing(body, code, make_user, make_topic):
    author = make_user("qt.engineer", centre="QT")
    with pytest.raises(HubError) as raised:
        post_message(make_topic(), by=author, body=body)
    assert raised.value.code == code
    assert not Message.objects.exists()


def test_body_of_exactly_the_limit_is_accepted(make_user, make_topic, settings):
    settings.HUB_MAX_BODY_BYTES = 100
    author = make_user("qt.engineer", centre="QT")
    post_message(make_topic(), by=author, body="ồ" * 33 + "a")  # 3 bytes × 33 + 1 = 100
    with pytest.raises(HubError) as raised:
        post_message(make_topic(), by=author, body="ồ" * 34)
    assert raised.value.code == "too_large"


@pytest.mark.parametrize("client_id", [123, "x" * 65])
def test_bad_client_ids_are_refused(client_id, make_user, make_topic):
    with pytest.raises(HubError) as raised:
        post_message(make_topic(), by=make_user("qt.engineer"), body="hi", client_id=client_id)
    assert raised.value.code == "invalid" and not Message.objects.exists()


def test_posting_to_a_topic_one_may_not_see_is_forbidden(make_user, make_topic):
    topic = make_topic("bi-mat", allowed_roles=["security_officer"])
    with pytest.raises(HubError) as raised:
        post_message(topic, by=make_user("ht.engineer"), body="hi")
    assert raised.value.code == "forbidden" and not Message.objects.exists()


def test_audience_is_stored_with_the_message(make_user, make_topic):
    author = make_user("ht.security", role="security_officer")
    audience = Audience(centres=frozenset({"HT", "DN"}), roles=frozenset({"security_officer"}))
    message, _ = post_message(make_topic(), by=author, body="TLP:AMBER", audience=audience)
    message.refresh_from_db()
    assert Audience.from_meta(message.audience) == audience
    assert message.audience_centres == ",DN,HT," and message.audience_roles == ",security_officer,"


def test_mentions_are_stored_for_known_users_and_centres_only(make_user, make_topic):
    make_user("hue.security", centre="HUE", role="security_officer")
    make_user("ht.engineer", centre="HT")
    author = make_user("dn.engineer", centre="DN")
    message, _ = post_message(make_topic(), by=author,
                              body="@hue.security, @HT xem giúp; @khong.ton.tai thì không, `@DN` trong code không")
    mentions = {(m.user.username if m.user else None, m.centre.code if m.centre else None)
                for m in Mention.objects.filter(message=message)}
    assert mentions == {("hue.security", None), (None, "HT")}


def test_edit_keeps_the_previous_version_and_only_author_or_admin_may(make_user, make_topic):
    author = make_user("dn.engineer", centre="DN")
    other = make_user("ht.engineer", centre="HT")
    admin = make_user("admin", centre=None, role="hub_admin")
    message, _ = post_message(make_topic(), by=author, body="phiên bản 1")
    with pytest.raises(HubError) as raised:
        edit_message(message, by=other, body="sửa trộm")
    assert raised.value.code == "forbidden"
    edit_message(message, by=author, body="phiên bản 2")
    edit_message(message, by=admin, body="phiên bản 3")
    message.refresh_from_db()
    assert message.body == "phiên bản 3" and message.edited_at is not None
    assert list(MessageRevision.objects.filter(message=message).values_list("body", "changed_by__username")) == [
        ("phiên bản 1", "dn.engineer"), ("phiên bản 2", "admin")]


def test_delete_leaves_a_tombstone_and_keeps_the_text_for_audit(make_user, make_topic):
    author = make_user("dn.engineer", centre="DN")
    message, _ = post_message(make_topic(), by=author, body="sẽ xoá")
    with pytest.raises(HubError):
        delete_message(message, by=make_user("ht.engineer"))
    delete_message(message, by=author)
    message.refresh_from_db()
    assert message.deleted_at is not None and message.body == "" and message.html == ""
    revision = MessageRevision.objects.get(message=message)
    assert (revision.action, revision.body) == ("delete", "sẽ xoá")
    with pytest.raises(HubError) as raised:
        edit_message(message, by=author, body="hồi sinh")
    assert raised.value.code == "conflict"


def test_read_marker_moves_forward_only_and_not_past_the_newest(make_user, make_topic):
    reader, author = make_user("qt.engineer", centre="QT"), make_user("dn.engineer", centre="DN")
    topic = make_topic()
    ids = [post_message(topic, by=author, body=f"m{i}")[0].id for i in range(3)]
    assert mark_topic_read(topic, by=reader, up_to=ids[1]) == ids[1]
    assert mark_topic_read(topic, by=reader, up_to=ids[0]) == ids[1]
    assert mark_topic_read(topic, by=reader, up_to=ids[2] + 1000) == ids[2]
    for bad in (-1, "5", True, None):
        with pytest.raises(HubError):
            mark_topic_read(topic, by=reader, up_to=bad)


def test_posting_does_not_query_per_mentioned_centre_member(make_user, make_topic):
    """A centre mention resolves its members in one query, not one per person."""
    for i in range(15):
        make_user(f"ht.person{i}", centre="HT")
    author = make_user("dn.engineer", centre="DN")
    topic = make_topic()
    with CaptureQueriesContext(connection) as queries:
        post_message(topic, by=author, body="@HT chú ý")
    assert len(queries) < 30


def test_a_taken_client_id_inside_a_callers_transaction_leaves_it_usable(make_user, make_topic):
    """An alert's summary is posted inside the raise's transaction, without a savepoint on PostgreSQL
    (issue 27): a client_id already taken is answered by the INSERT, and the caller's transaction
    goes on."""
    from django.db import transaction

    topic, author = make_topic(), make_user("qt.engineer")
    with transaction.atomic():
        first, _ = post_message(topic, by=author, body="một lần", client_id="in-tx")
        again, created = post_message(topic, by=author, body="lần hai", client_id="in-tx")
        assert (again.pk, created) == (first.pk, False)
        later, created_later = post_message(topic, by=author, body="tiếp", client_id="in-tx-2")
    assert created_later and later.prev_id == first.pk
    bodies = Message.objects.filter(topic=topic).order_by("id").values_list("body", flat=True)
    assert list(bodies) == ["một lần", "tiếp"]

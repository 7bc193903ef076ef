"""A conversation becomes a tracked alert or request in one gesture: the new item quotes the promoted
messages (author, centre, time, link), names who promoted them and starts with the indicators found in
their text; the messages link to what they became, live and in history; a second promotion to the same
kind is a 409 with the existing link; and promoting never shows a message to anyone who could not
already read it (refused, or promoted without quoting the text)."""

import pytest
from asgiref.sync import sync_to_async

from alerts.models import Alert
from chat.models import Message
from chat.services import post_message
from hub.lib.jsonutil import timestamp
from requests.models import Ticket
from tests.chat.conftest import next_frame, open_topic

pytestmark = pytest.mark.django_db

SCAN = "Đà Nẵng đang thấy quét cổng từ 203.0.113.7, C2 là dichvucong-gov[.]vn (CVE-2024-3400)."


@pytest.fixture
def crew(make_user, make_topic):
    topic = make_topic("an-toan-thong-tin", default_tlp="amber")
    people = {
        "dn": make_user("dn.security", centre="DN", role="security_officer", display_name="Trần Văn Đà"),
        "hts": make_user("ht.security", centre="HT", role="security_officer"),
        "ht": make_user("ht.engineer", centre="HT"),
        "qb": make_user("qb.engineer", centre="QB"),
        "qbm": make_user("qb.manager", centre="QB", role="manager"),
    }
    return topic, people


def promote(client, message, **payload):
    return client.post(f"/api/v1/topics/{message.topic.slug}/messages/{message.pk}/promote", payload,
                       content_type="application/json")


def test_a_message_becomes_an_alert_that_quotes_it(crew, api_client):
    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    reply, _ = post_message(topic, by=p["ht"], body="Hà Tĩnh cũng thấy **203.0.113[.]7** từ 08:00.")
    draft = api_client(p["hts"]).get(f"/api/v1/topics/{topic.slug}/messages/{scan.pk}/promote",
                                      {"to": "alert", "include": str(reply.pk)}).json()
    assert draft["fields"]["tlp"] == "amber" and draft["too_wide"] == []
    assert draft["fields"]["indicators"] == [{"type": "ipv4", "value": "203.0.113.7"},
                                             {"type": "domain", "value": "dichvucong-gov.vn"},
                                             {"type": "cve", "value": "CVE-2024-3400"}]
    response = promote(api_client(p["hts"]), scan, to="alert", include=[reply.pk], severity="high")
    assert response.status_code == 201, response.content
    alert = response.json()["alert"]
    assert alert["title"] == SCAN and alert["severity"] == "high" and alert["tlp"] == "amber"
    assert alert["raised_by"]["username"] == "ht.security" and alert["centre"] == "HT"
    assert [(i["type"], i["value"]) for i in alert["indicators"]] == [
        ("ipv4", "203.0.113.7"), ("domain", "dichvucong-gov.vn"), ("cve", "CVE-2024-3400")]
    origin = alert["promoted_from"]
    assert origin["kind"] == "conversation" and origin["topic"]["slug"] == topic.slug and origin["quoted"]
    assert origin["promoted_by"]["username"] == "ht.security"
    quoted = origin["messages"]
    assert [(q["id"], q["author"]["display_name"], q["centre"]) for q in quoted] == [
        (scan.pk, "Trần Văn Đà", "DN"), (reply.pk, "ht.engineer", "HT")]
    assert quoted[0]["body"] == SCAN and quoted[0]["url"] == f"/topics/{topic.slug}/#m-{scan.pk}"
    assert quoted[0]["created_at"] == timestamp(scan.created_at)
    assert alert["entries"][0]["data"]["promoted_from"]["messages"][0]["id"] == scan.pk

    history = api_client(p["qb"]).get(f"/api/v1/topics/{topic.slug}/messages").json()["results"]
    links = {m["id"]: m["promoted_to"] for m in history}
    assert links[scan.pk] == links[reply.pk] == [{"kind": "alert", "id": alert["id"]}]


def test_one_message_becomes_one_alert_and_one_request_and_never_two_of_a_kind(crew, api_client):
    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    alert = promote(api_client(p["hts"]), scan, to="alert").json()["alert"]
    again = promote(api_client(p["hts"]), scan, to="alert")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "already_promoted" and error["promoted_to"] == {"kind": "alert", "id": alert["id"]}
    # The sentence names the kind in the reader's language, not by its code.
    assert error["detail"] == f"Tin nhắn {scan.pk} đã được chuyển thành cảnh báo #{alert['id']}."
    ticket = promote(api_client(p["ht"]), scan, to="ticket", title="Nhờ DN gửi log tường lửa")
    assert ticket.status_code == 201, ticket.content
    ticket = ticket.json()["ticket"]
    assert (ticket["requesting_centre"], ticket["target_centre"], ticket["tlp"]) == ("HT", "DN", "amber")
    assert ticket["category"] == "security" and ticket["promoted_from"]["messages"][0]["body"] == SCAN
    assert Message.objects.get(pk=scan.pk).promoted_to == [{"kind": "alert", "id": alert["id"]},
                                                           {"kind": "ticket", "id": ticket["id"]}]
    assert Message.objects.get(pk=scan.pk).version == 2  # each promotion a change of its wire form
    assert promote(api_client(p["ht"]), scan, to="ticket").status_code == 409
    assert Alert.objects.count() == 1 and Ticket.objects.count() == 1


def test_only_who_could_raise_the_alert_promotes_to_one(crew, api_client):
    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    response = promote(api_client(p["ht"]), scan, to="alert")
    assert response.status_code == 403
    assert not Alert.objects.exists() and Message.objects.get(pk=scan.pk).promoted_to == []


def test_a_restricted_message_is_never_shown_wider(crew, api_client):
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SCAN, tlp="red", shared_with=["HT"])
    client = api_client(p["hts"])
    draft = client.get(f"/api/v1/topics/{topic.slug}/messages/{secret.pk}/promote", {"to": "alert"}).json()
    assert (draft["fields"]["tlp"], draft["fields"]["shared_with"]) == ("red", ["DN"])
    # Wider than the message's readers (DN and HT): refused, naming what to narrow, nothing stored.
    for wider in ({"tlp": "green"}, {"tlp": "amber", "shared_with": []}, {"tlp": "red", "shared_with": ["DN", "QB"]}):
        response = promote(client, secret, to="alert", **wider)
        assert response.status_code == 403, (wider, response.content)
        assert "QB" in response.json()["error"]["detail"] and response.json()["error"]["fields"][0] == "tlp"
    assert not Alert.objects.exists()
    # The prefilled marking is within them: TLP:RED shared with DN.
    response = promote(client, secret, to="alert")
    assert response.status_code == 201, response.content
    assert api_client(p["qbm"]).get(f"/api/v1/alerts/{response.json()['alert']['id']}").status_code == 404


def test_without_quoting_the_text_a_wider_item_keeps_only_who_when_and_where(crew, api_client):
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SCAN, tlp="red", shared_with=["HT"])
    client = api_client(p["hts"])
    response = promote(client, secret, to="alert", tlp="green", quote=False)
    assert response.status_code == 400 and response.json()["error"]["fields"] == ["title"]
    response = promote(client, secret, to="alert", tlp="green", quote=False, title="Quét cổng từ bên ngoài")
    assert response.status_code == 201, response.content
    alert = response.json()["alert"]
    assert SCAN not in response.content.decode() and "203.0.113.7" not in response.content.decode()
    assert alert["indicators"] == [] and alert["description"] == ""
    (quoted,) = alert["promoted_from"]["messages"]
    assert "body" not in quoted and quoted["centre"] == "DN" and alert["promoted_from"]["quoted"] is False


def test_included_messages_come_from_the_same_topic_and_must_be_readable(crew, api_client, make_topic):
    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    other, _ = post_message(make_topic("phat-trien-phan-mem"), by=p["dn"], body="khác")
    hidden, _ = post_message(topic, by=p["dn"], body="chỉ DN", shared_with=[])
    for include in ([other.pk], [hidden.pk]):
        response = promote(api_client(p["hts"]), scan, to="alert", include=include)
        assert response.status_code == 404 and response.json()["error"]["fields"] == ["include"], include
    assert not Alert.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_link_reaches_every_socket_of_the_topic_live(crew, api_client):
    topic, p = crew
    scan, _ = await sync_to_async(post_message)(topic, by=p["dn"], body=SCAN)
    watcher = await open_topic(p["qb"], topic.slug)
    try:
        response = await sync_to_async(lambda: promote(api_client(p["hts"]), scan, to="alert"))()
        assert response.status_code == 201
        frame = await next_frame(watcher, "message.updated")
        assert frame["message"]["id"] == scan.pk
        assert frame["message"]["promoted_to"] == [{"kind": "alert", "id": response.json()["alert"]["id"]}]
    finally:
        await watcher.disconnect()


# --- never looser, never wider later (chat.promotion, "Never marked looser", "Never wider later") ---------


def test_an_item_is_never_marked_looser_than_the_messages_it_quotes(crew, api_client):
    topic, p = crew
    red, _ = post_message(topic, by=p["dn"], body=SCAN, tlp="red")  # TLP:RED in a topic everyone reads
    client = api_client(p["hts"])
    for to, looser in (("alert", {"tlp": "green"}), ("alert", {"tlp": "amber"}),
                       ("ticket", {"tlp": "amber", "target_centre": "DN"})):
        response = promote(client, red, to=to, title="Quét cổng", **looser)
        assert response.status_code == 400, (to, looser, response.content)
        error = response.json()["error"]
        assert error["fields"] == ["tlp"] and "TLP:RED" in error["detail"], error
    assert not Alert.objects.exists() and not Ticket.objects.exists()
    assert Message.objects.get(pk=red.pk).promoted_to == []
    # The prefilled marking is the floor itself; without the text the floor does not apply.
    draft = client.get(f"/api/v1/topics/{topic.slug}/messages/{red.pk}/promote", {"to": "alert"}).json()
    assert draft["fields"]["tlp"] == "red" and draft["too_wide"] == []
    assert promote(client, red, to="alert").json()["alert"]["tlp"] == "red"
    kept_out = promote(client, red, to="ticket", tlp="amber", target_centre="DN", quote=False, title="Quét cổng")
    assert kept_out.status_code == 201, kept_out.content


def test_the_record_keeps_which_messages_it_quotes_never_their_text(crew, api_client):
    from alerts.models import AlertEvent

    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    response = promote(api_client(p["hts"]), scan, to="alert", title="Quét cổng", description="xem trích dẫn")
    alert = Alert.objects.get(pk=response.json()["alert"]["id"])
    raised = AlertEvent.objects.get(alert=alert, kind=AlertEvent.Kind.RAISED)
    assert SCAN not in str(alert.origin) and SCAN not in str(raised.data)
    assert alert.origin is not None and [q["id"] for q in alert.origin["messages"]] == [scan.pk]
    # What every recipient shares — the list, the frame's shape, the timeline — is the reference only.
    listed = api_client(p["hts"]).get("/api/v1/alerts").json()["results"]
    assert listed[0]["promoted_from"]["messages"] == [{"id": scan.pk}]
    entries = api_client(p["hts"]).get(f"/api/v1/alerts/{alert.pk}").json()["entries"]
    assert entries[0]["data"]["promoted_from"]["messages"] == [{"id": scan.pk}]


def test_a_quote_is_the_live_message_as_its_reader_may_read_it_now(crew, api_client):
    from chat.services import delete_message, edit_message

    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SCAN)
    alert_id = promote(api_client(p["hts"]), scan, to="alert").json()["alert"]["id"]
    edit_message(scan, by=p["dn"], body="Đà Nẵng: đã chặn 203.0.113.7.")
    (quote,) = api_client(p["hts"]).get(f"/api/v1/alerts/{alert_id}").json()["promoted_from"]["messages"]
    assert quote["readable"] and quote["body"] == "Đà Nẵng: đã chặn 203.0.113.7."
    delete_message(scan, by=p["dn"])
    seen = api_client(p["hts"]).get(f"/api/v1/alerts/{alert_id}", HTTP_ACCEPT_LANGUAGE="en").json()["promoted_from"]
    assert seen["messages"] == [{"id": scan.pk, "readable": False, "placeholder": "a deleted message"}]
    assert "203.0.113.7" not in str(seen)


def test_quotes_from_a_conversation_cost_the_same_queries_for_2_and_12_messages(crew):
    """Each quote's topic is checked once per topic and the reader's history cutoff read once for all
    the quotes (chat.selectors.may_read_messages), by the conversation's history rule: someone added
    later without the history reads none of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.promotion import origin_of, promoted_from
    from chat.services import add_members, start_conversation

    _, p = crew
    topic, _ = start_conversation(by=p["hts"], members=["dn.security"])
    said = [post_message(topic, by=p["dn"], body=f"Lượt {i}: quét cổng từ 203.0.113.{i}")[0] for i in range(14)]
    # What an item promoted from them keeps (only which messages: promoted_from reads nothing else).
    origins = {2: origin_of(p["hts"], topic, said[:2], True), 12: origin_of(p["hts"], topic, said[2:], True)}
    add_members(topic, by=p["hts"], usernames=["ht.engineer"], history=False)

    def read(n, viewer):
        with CaptureQueriesContext(connection) as queries:
            seen = promoted_from(origins[n], viewer)
        return seen, len(queries)

    (at_2, cost_2), (at_12, cost_12) = read(2, p["hts"]), read(12, p["hts"])
    assert [q["readable"] for q in at_2["messages"] + at_12["messages"]] == [True] * 14
    assert at_12["topic"]["slug"] == topic.slug
    assert cost_12 == cost_2, (cost_2, cost_12)
    (late_2, late_cost_2), (late_12, late_cost_12) = read(2, p["ht"]), read(12, p["ht"])
    assert [q["readable"] for q in late_2["messages"] + late_12["messages"]] == [False] * 14
    assert late_12["topic"] is None and "203.0.113" not in str(late_12)
    assert late_cost_12 == late_cost_2, (late_cost_2, late_cost_12)


@pytest.mark.parametrize("where", ["conversation", "request thread"])
@pytest.mark.parametrize("to", ["alert", "ticket"])
def test_a_conversation_or_a_request_thread_promotes_or_is_refused_never_a_server_error(crew, api_client, to,
                                                                                       where):
    """A direct conversation's messages are read by its members alone, a request thread's by the
    request's readers: promoting them with their text to an item read by others is refused as too
    wide (403), and without the text it is made; a conversation's was a 500 (its membership rule was
    asked of an unsaved stand-in person)."""
    from chat.services import start_conversation
    from requests.services import create_ticket

    _, p = crew
    if where == "conversation":
        topic, _ = start_conversation(by=p["hts"], members=["dn.security"])
    else:
        ticket = create_ticket(by=p["dn"], title="Quét cổng", description="…", category="security",
                               target_centre="HT")
        assert ticket.thread is not None
        topic = ticket.thread
    said, _ = post_message(topic, by=p["dn"], body=SCAN)
    extra = {"severity": "high"} if to == "alert" else {"target_centre": "DN"}
    draft = api_client(p["hts"]).get(f"/api/v1/topics/{topic.slug}/messages/{said.pk}/promote", {"to": to})
    assert draft.status_code == 200, draft.content
    quoted = promote(api_client(p["hts"]), said, to=to, title="Quét cổng", **extra)
    if where == "request thread" and to == "ticket":  # a request between the same two centres: theirs
        assert quoted.status_code == 201, quoted.content
        return
    assert quoted.status_code == 403, quoted.content
    unquoted = promote(api_client(p["hts"]), said, to=to, title="Quét cổng", quote=False, **extra)
    assert unquoted.status_code == 201, unquoted.content

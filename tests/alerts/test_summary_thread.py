"""The discussion under an alert's summary follows the alert's marking: when the alert's TLP is raised,
every reply in the summary's thread is narrowed with the summary — by id, in the channel's history,
in search, in `sync`, in the thread page and on the sockets — and its TLP is at least the alert's;
when the alert is loosened, a reply written for fewer people stays as narrow as it was
(chat.services.remark_thread; docs/alerts.md, "Who sees an alert")."""

import pytest
from asgiref.sync import sync_to_async

from alerts.services import update_alert
from chat.models import Message
from tests.alerts.conftest import raise_as
from tests.chat.conftest import next_frame, nothing_but_background, open_topic

SLUG = "an-toan-thong-tin"
JSON = "application/json"


def summary_of(alert) -> Message:
    return Message.objects.get(client_id=f"alert-{alert.pk}")


def reply(client, root_id: int, body: str, **extra) -> int:
    answer = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": body, "reply_to": root_id, **extra},
                         content_type=JSON)
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def reads(client, message_id: int, word: str) -> dict[str, bool]:
    """Where a person finds a message: by id, in the channel's history, in search."""
    history = client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
    found = client.get("/api/v1/search", {"q": word}).json()["results"]
    return {"by id": client.get(f"/api/v1/topics/{SLUG}/messages/{message_id}").status_code == 200,
            "history": any(m["id"] == message_id for m in history),
            "search": any(m["id"] == message_id for m in found)}


NOWHERE = {"by id": False, "history": False, "search": False}
EVERYWHERE = {"by id": True, "history": True, "search": True}


@pytest.mark.django_db
def test_replies_to_a_summary_are_narrowed_when_the_alert_is_raised_to_red(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary = summary_of(alert)
    qb, dn, ht = api_client(cast.qb_manager), api_client(cast.dn_manager), api_client(cast.ht_manager)
    first = reply(qb, summary.pk, "zebrafoo địa chỉ nội bộ 10.1.2.3", also_channel=True)
    second = reply(dn, first, "zebrafoo đã chặn")  # a reply to a reply: the same thread
    assert reads(dn, first, "zebrafoo") == EVERYWHERE

    update_alert(alert, by=cast.ht_security, changes={"tlp": "red"})  # RED, HT only

    assert dn.get(f"/api/v1/topics/{SLUG}/messages/{summary.pk}").status_code == 404
    for client in (dn, qb):  # the one who wrote it too: it now reaches exactly who the alert reaches
        assert reads(client, first, "zebrafoo") == NOWHERE
        assert client.get(f"/api/v1/topics/{SLUG}/messages/{second}").status_code == 404
        assert client.get(f"/api/v1/topics/{SLUG}/messages", {"thread": summary.pk}).status_code == 404
    assert reads(ht, first, "zebrafoo") == EVERYWHERE
    thread = ht.get(f"/api/v1/topics/{SLUG}/messages", {"thread": summary.pk}).json()["results"]
    assert [(m["id"], m["tlp"], m["shared_with"]) for m in thread] == [(first, "red", ["HT"]), (second, "red", ["HT"])]
    # A reply written after the change takes the thread's marking as before.
    third = reply(ht, summary.pk, "zebrafoo sau khi nâng mức")
    assert reads(dn, third, "zebrafoo") == NOWHERE
    # Loosened again, the replies keep the marking they had: narrowing is never undone by widening.
    update_alert(alert, by=cast.ht_security, changes={"tlp": "green"})
    assert dn.get(f"/api/v1/topics/{SLUG}/messages/{summary.pk}").status_code == 200
    assert reads(dn, first, "zebrafoo") == NOWHERE


@pytest.mark.django_db
def test_loosening_the_alert_never_widens_its_replies(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="amber", shared_with=["DN"], title="Chỉ HT và DN")
    summary = summary_of(alert)
    narrow = reply(api_client(cast.dn_manager), summary.pk, "quokkabar chi tiết cho HT và DN", also_channel=True)
    update_alert(alert, by=cast.ht_security, changes={"tlp": "red"})  # RED, HT and DN
    qb = api_client(cast.qb_manager)
    assert reads(qb, narrow, "quokkabar") == NOWHERE

    update_alert(alert, by=cast.ht_security, changes={"tlp": "green"})

    assert qb.get(f"/api/v1/topics/{SLUG}/messages/{summary.pk}").status_code == 200  # the summary follows
    assert reads(qb, narrow, "quokkabar") == NOWHERE  # the reply keeps the narrower marking it had
    kept = api_client(cast.dn_manager).get(f"/api/v1/topics/{SLUG}/messages/{narrow}").json()
    assert (kept["tlp"], kept["shared_with"]) == ("red", ["DN", "HT"])


@pytest.mark.django_db(transaction=True)
async def test_sync_and_sockets_follow_the_narrowed_thread(cast):
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")

    def setup():
        from chat.selectors import get_topic
        from chat.services import post_message

        summary = summary_of(alert)
        topic = get_topic(SLUG)
        assert topic is not None
        answer, _ = post_message(topic, by=cast.qb_manager, body="yakbaz chi tiết", reply_to=summary.pk)
        return answer

    answer = await sync_to_async(setup)()
    dn = await open_topic(cast.dn_manager, SLUG)
    ht = await open_topic(cast.ht_manager, SLUG)
    try:
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "red"})
        # HT hears the summary and the reply re-marked; DN hears neither.
        updated = [(await next_frame(ht, "message.updated"))["message"] for _ in range(2)]
        assert sorted((m["id"], m["tlp"]) for m in updated) == sorted(
            [(answer.thread_root_id, "red"), (answer.pk, "red")])
        assert await nothing_but_background(dn)
        # A later change of the reply (a reaction) reaches only those who may read it now.
        from chat.services import toggle_reaction

        await sync_to_async(toggle_reaction)(answer, by=cast.ht_manager, emoji="👀")
        assert (await next_frame(ht, "message.reactions"))["id"] == answer.pk
        assert await nothing_but_background(dn)
        # Catching up: DN's sync brings neither the summary nor the reply.
        await dn.send_json_to({"type": "sync", "after": 0})
        synced = []
        while (frame := await next_frame(dn, "message", "sync.done"))["type"] == "message":
            synced.append(frame["message"]["id"])
        assert answer.pk not in synced and answer.thread_root_id not in synced
    finally:
        for socket in (dn, ht):
            await socket.disconnect()

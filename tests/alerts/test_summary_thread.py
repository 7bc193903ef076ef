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
from tests.chat.conftest import BACKGROUND, next_frame, nothing_but_background, open_topic

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


async def quiet(socket) -> list[dict]:
    """Every frame but the background ones (presence, typing, receipts) until the socket is quiet."""
    frames = []
    while not await socket.receive_nothing(timeout=0.5):
        frame = await socket.receive_json_from(timeout=1)
        if frame["type"] not in BACKGROUND:
            frames.append(frame)
    return frames


def summary_and_reply(alert, by) -> tuple[int, int]:
    """The alert's summary and a reply under it by `by`: their ids."""
    from chat.selectors import get_topic
    from chat.services import post_message

    summary = summary_of(alert)
    topic = get_topic(SLUG)
    assert topic is not None
    answer, _ = post_message(topic, by=by, body="yakbaz chi tiết", reply_to=summary.pk)
    return summary.pk, answer.pk


@pytest.mark.django_db(transaction=True)
async def test_who_loses_the_summary_and_its_thread_is_told_to_take_them_off_the_page(cast):
    """Raised to AMBER shared with QB (HT's and QB's officers and managers), the alert leaves DN: the
    DN manager's open page is told `message.withdrawn` for the summary and its reply — their ids, no
    content — and nothing else; HT's gets them re-marked and no withdrawal; a hub admin reads
    everything and loses nothing."""
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.qb_manager)
    dn = await open_topic(cast.dn_manager, SLUG)
    ht = await open_topic(cast.ht_manager, SLUG)
    admin = await open_topic(cast.admin, SLUG)
    try:
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "amber", "shared_with": ["QB"]})

        assert sorted(await quiet(dn), key=lambda f: f["id"]) == [
            {"type": "message.withdrawn", "topic": SLUG, "id": summary},
            {"type": "message.withdrawn", "topic": SLUG, "id": answer}]
        for socket in (ht, admin):
            frames = await quiet(socket)
            assert sorted((f["type"], f["message"]["id"], f["message"]["shared_with"]) for f in frames) == [
                ("message.updated", summary, ["HT", "QB"]), ("message.updated", answer, ["HT", "QB"])]
    finally:
        for socket in (dn, ht, admin):
            await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_tlp_change_withdraws_only_from_whom_its_audience_no_longer_admits(cast):
    """GREEN → AMBER narrows the summary to officers and managers: DN's engineer loses it, DN's
    manager does not. AMBER → AMBER+STRICT reaches the same people: nobody is told anything went."""
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.qb_manager)
    engineer = await open_topic(cast.dn_engineer, SLUG)
    manager = await open_topic(cast.dn_manager, SLUG)
    try:
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "amber"})
        assert sorted(f["id"] for f in await quiet(engineer) if f["type"] == "message.withdrawn") == [summary, answer]
        assert {f["type"] for f in await quiet(manager)} == {"message.updated"}

        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "amber+strict"})
        assert await quiet(engineer) == []
        assert {(f["type"], f["message"]["tlp"]) for f in await quiet(manager)} == {
            ("message.updated", "amber+strict")}
    finally:
        for socket in (engineer, manager):
            await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_client_that_was_away_learns_on_sync_what_it_may_no_longer_show(cast, api_client):
    """A page that had the summary and its reply, away while the alert was raised to RED (HT only),
    reconnects with `changed_since`: its sync says `message.withdrawn` for both (only ids: every
    message's `prev_id` names its predecessor anyway, docs/chat.md), and a page load no longer shows
    them; HT's page, still a reader, gets them as `message.updated` and no withdrawal. Bounded by
    HUB_SYNC_MAX like the rest of a sync: the newest ones."""
    from django.utils import timezone

    from hub.lib.jsonutil import timestamp

    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.qb_manager)
    since = timestamp(timezone.now())
    await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "red"})

    async def sync(user, **extra) -> list[dict]:
        socket = await open_topic(user, SLUG)
        try:
            await socket.send_json_to({"type": "sync", "after": answer, "changed_since": since, **extra})
            frames = []
            while (frame := await next_frame(socket, "message.withdrawn", "message.updated", "message",
                                             "sync.done"))["type"] != "sync.done":
                frames.append(frame)
            return frames
        finally:
            await socket.disconnect()

    assert await sync(cast.dn_manager) == [{"type": "message.withdrawn", "topic": SLUG, "id": summary},
                                           {"type": "message.withdrawn", "topic": SLUG, "id": answer}]
    assert sorted((f["type"], f["message"]["id"]) for f in await sync(cast.ht_manager)) == [
        ("message.updated", summary), ("message.updated", answer)]
    assert {f["type"] for f in await sync(cast.admin)} == {"message.updated"}  # a hub admin loses nothing

    def history(user) -> list[int]:
        return [m["id"] for m in api_client(user).get(f"/api/v1/topics/{SLUG}/messages").json()["results"]]

    assert summary not in await sync_to_async(history)(cast.dn_manager)
    assert summary in await sync_to_async(history)(cast.ht_manager)


@pytest.mark.django_db(transaction=True)
async def test_a_sync_withdraws_at_most_hub_sync_max_the_newest(cast, settings):
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.qb_manager)
    _, later = await sync_to_async(summary_and_reply)(alert, cast.ht_manager)
    settings.HUB_SYNC_MAX = 2
    from django.utils import timezone

    from hub.lib.jsonutil import timestamp

    since = timestamp(timezone.now())
    await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "red"})
    socket = await open_topic(cast.dn_manager, SLUG)
    try:
        await socket.send_json_to({"type": "sync", "after": later, "changed_since": since})
        withdrawn = []
        while (frame := await next_frame(socket, "message.withdrawn", "sync.done"))["type"] != "sync.done":
            withdrawn.append(frame["id"])
        assert withdrawn == [answer, later]
    finally:
        await socket.disconnect()


def now_stamp() -> str:
    from django.utils import timezone

    from hub.lib.jsonutil import timestamp

    return timestamp(timezone.now())


async def taken_off_on_sync(user, after: int, since: str) -> list[int]:
    """The ids a returning client is told to take off its page: withdrawn, or tombstoned as deleted."""
    socket = await open_topic(user, SLUG)
    try:
        await socket.send_json_to({"type": "sync", "after": after, "changed_since": since})
        ids = []
        while (frame := await next_frame(socket, "message.withdrawn", "message.deleted", "sync.done"))["type"] \
                != "sync.done":
            ids.append(frame["id"] if frame["type"] == "message.withdrawn" else frame["message"]["id"])
        return ids
    finally:
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_reply_narrowed_then_deleted_is_still_withdrawn_on_sync(cast):
    """DN's manager had the GREEN alert's summary and HT's reply on their page and went away; the
    alert was raised to RED (HT only), then HT's manager deleted the reply. Its tombstone reaches only
    its new audience, so DN's sync withdraws both: deleted messages count too."""
    from chat.services import delete_message

    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.ht_manager)
    since = now_stamp()

    def narrow_then_delete():
        update_alert(alert, by=cast.ht_security, changes={"tlp": "red"})
        delete_message(Message.objects.get(pk=answer), by=cast.ht_manager)

    await sync_to_async(narrow_then_delete)()
    assert await taken_off_on_sync(cast.dn_manager, answer, since) == [summary, answer]


@pytest.mark.django_db(transaction=True)
async def test_a_sync_withdraws_what_was_narrowed_not_what_the_person_never_could_read(cast, settings):
    """A sync withdraws the messages whose marking narrowed since `changed_since` and that the person
    may not read now — not every unreadable message that changed. With HUB_SYNC_MAX 2, two of HT's own
    TLP:RED posts (never DN's to see) got a reaction while DN's manager was away and the alert was
    raised to RED: DN's sync names the summary and its reply, and nothing of HT's."""
    from chat.selectors import get_topic
    from chat.services import post_message, toggle_reaction

    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary, answer = await sync_to_async(summary_and_reply)(alert, cast.qb_manager)

    def ht_only_posts() -> list[int]:
        topic = get_topic(SLUG)
        assert topic is not None
        return [post_message(topic, by=cast.ht_manager, body=f"nội bộ HT {i}", tlp="red", shared_with=["HT"])[0].pk
                for i in range(2)]

    private = await sync_to_async(ht_only_posts)()
    settings.HUB_SYNC_MAX = 2
    since = now_stamp()

    def meanwhile():
        for pk in private:
            toggle_reaction(Message.objects.get(pk=pk), by=cast.ht_security, emoji="👍")
        update_alert(alert, by=cast.ht_security, changes={"tlp": "red"})

    await sync_to_async(meanwhile)()
    assert await taken_off_on_sync(cast.dn_manager, private[-1], since) == [summary, answer]


@pytest.mark.django_db(transaction=True)
async def test_a_message_narrowed_while_a_sync_reads_is_not_sent_back_after_its_withdrawal(cast, monkeypatch):
    """The sync reads the GREEN summary for DN's manager; before its answer is sent the alert is raised
    to RED and the live `message.withdrawn` reaches the socket. Live frames wait while a sync is read
    and answered: the withdrawal comes after the summary it withdraws, before `sync.done`, and nothing
    of the summary follows it."""
    import time

    from chat import consumers

    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green", title="Sự cố thử nghiệm")
    summary = await sync_to_async(lambda: summary_of(alert).pk)()
    socket = await open_topic(cast.dn_manager, SLUG)
    read = consumers.message_after

    def read_then_narrow(*args, **kwargs):
        rows = read(*args, **kwargs)  # the summary, GREEN: DN's manager may read it…
        update_alert(alert, by=cast.ht_security, changes={"tlp": "red"})  # …and now HT only
        time.sleep(1.0)  # the live withdrawal has reached the socket before the answer is sent
        return rows

    monkeypatch.setattr(consumers, "message_after", read_then_narrow)
    try:
        await socket.send_json_to({"type": "sync", "after": summary - 1})
        shown = []
        while (frame := await next_frame(socket, "message", "message.updated", "message.withdrawn",
                                         "sync.done"))["type"] != "sync.done":
            shown.append((frame["type"], frame["id"] if "id" in frame else frame["message"]["id"]))
        about_summary = [kind for kind, pk in shown if pk == summary]
        assert about_summary == ["message", "message.withdrawn"], shown
    finally:
        await socket.disconnect()


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
        # HT hears the summary and the reply re-marked; DN only that both are withdrawn from it.
        updated = [(await next_frame(ht, "message.updated"))["message"] for _ in range(2)]
        assert sorted((m["id"], m["tlp"]) for m in updated) == sorted(
            [(answer.thread_root_id, "red"), (answer.pk, "red")])
        assert sorted(f["id"] for f in await quiet(dn)) == sorted([answer.thread_root_id, answer.pk])
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

"""Who sees a ticket HT → DN: HT, DN, watchers and hub admins — tried here from every path as QB, a
centre with nothing to do with it. Every answer to QB is the same 404 a missing ticket gets, so QB
cannot even learn that the ticket exists."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from requests import services
from requests.models import Comment, Ticket, TicketEvent
from requests.selectors import can_view_ticket, visible_tickets

NO_SUCH_TICKET = "Không có yêu cầu hỗ trợ này."

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def secret(people, new_ticket, media_root):
    """A ticket HT → DN with a public and an internal comment, each with a file."""
    ticket = new_ticket(title="Phân tích mã độc trên máy chủ thư điện tử", target="DN")
    ticket = services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")
    public = services.add_comment(ticket, by=people.ht_engineer, body="Mẫu mã độc đính kèm")
    internal = services.add_comment(ticket, by=people.dn_engineer, body="Nội bộ: liên hệ NCSC", internal=True)
    services.add_attachment(ticket, by=people.ht_engineer, upload=SimpleUploadedFile("mau.txt", b"hash"),
                            comment_id=public.pk)
    services.add_attachment(ticket, by=people.dn_engineer, upload=SimpleUploadedFile("noibo.txt", b"ncsc"),
                            comment_id=internal.pk)
    return ticket


def test_the_selector_lets_in_exactly_the_two_centres_watchers_and_admins(people, secret):
    seen = {u.username: can_view_ticket(u, secret) for u in vars(people).values() if hasattr(u, "username")}
    assert seen == {"ht.engineer": True, "ht.manager": True, "dn.engineer": True, "dn.security": True,
                    "dn.manager": True, "qb.engineer": False, "qb.manager": False, "admin": True}
    for username, ok in seen.items():
        user = getattr(people, username.replace(".", "_"))
        assert visible_tickets(user).filter(pk=secret.pk).exists() is ok, username


def test_an_unrelated_centre_sees_nothing_anywhere(people, secret, api_client):
    qb = api_client(people.qb_manager)
    attachments = list(secret.attachments.all())
    counts = (Comment.objects.count(), TicketEvent.objects.count(), secret.attachments.count())
    requests = [
        ("get", f"/api/v1/tickets/{secret.pk}", None),
        ("get", f"/api/v1/tickets/{secret.reference}", None),
        ("patch", f"/api/v1/tickets/{secret.pk}", {"title": "x"}),
        ("post", f"/api/v1/tickets/{secret.pk}/transition", {"to": "in_progress"}),
        ("post", f"/api/v1/tickets/{secret.pk}/comments", {"body": "xin chào"}),
        ("post", f"/api/v1/tickets/{secret.pk}/comments", {"body": "xin chào", "internal": True}),
        ("post", f"/api/v1/tickets/{secret.pk}/assign", {"username": "qb.manager"}),
        ("post", f"/api/v1/tickets/{secret.pk}/watchers", {}),
        ("delete", f"/api/v1/tickets/{secret.pk}/watchers/ht.engineer", None),
        *[("get", f"/api/v1/tickets/{secret.pk}/attachments/{a.pk}", None) for a in attachments],
    ]
    for method, url, body in requests:
        response = getattr(qb, method)(url, body, content_type=JSON) if body is not None else getattr(qb, method)(url)
        assert response.status_code == 404, (method, url)
        # the same answer as for a ticket that does not exist (in the caller's language: Vietnamese)
        assert response.json() == {"error": {"code": "not_found", "detail": NO_SUCH_TICKET}}, (method, url)
    upload = qb.post(f"/api/v1/tickets/{secret.pk}/attachments", {"file": SimpleUploadedFile("a.txt", b"a")})
    assert upload.status_code == 404
    assert (Comment.objects.count(), TicketEvent.objects.count(), secret.attachments.count()) == counts
    # Neither the list nor search nor any filter reveals it.
    for query in ["", "?q=ma doc", f"?q={secret.reference}", "?centre=HT", "?centre=DN", "?status=accepted",
                  "?category=security"]:
        assert qb.get(f"/api/v1/tickets{query}").json()["results"] == [], query


def test_the_requesting_centre_does_not_see_internal_notes_or_their_files(people, secret, api_client):
    ht = api_client(people.ht_manager).get(f"/api/v1/tickets/{secret.pk}").json()
    assert [c["body"] for c in ht["comments"]] == ["Mẫu mã độc đính kèm"]
    assert [a["name"] for a in ht["attachments"]] == ["mau.txt"]
    assert not any(e["internal"] for e in ht["history"])
    assert "NCSC" not in str(ht) and "noibo" not in str(ht)
    internal_file = secret.attachments.get(internal=True)
    assert api_client(people.ht_manager).get(
        f"/api/v1/tickets/{secret.pk}/attachments/{internal_file.pk}").status_code == 404
    dn = api_client(people.dn_security).get(f"/api/v1/tickets/{secret.pk}").json()
    assert len(dn["comments"]) == 2 and len(dn["attachments"]) == 2
    admin = api_client(people.admin).get(f"/api/v1/tickets/{secret.pk}").json()
    assert len(admin["comments"]) == 2


def test_a_watcher_from_another_centre_sees_the_ticket_but_not_internal_notes(people, secret, api_client):
    services.add_watcher(secret, by=people.ht_manager, username="qb.engineer")
    qb = api_client(people.qb_engineer)
    body = qb.get(f"/api/v1/tickets/{secret.pk}").json()
    assert [c["body"] for c in body["comments"]] == ["Mẫu mã độc đính kèm"]
    assert [t["id"] for t in qb.get("/api/v1/tickets?q=ma doc").json()["results"]] == [secret.pk]
    assert body["allowed_transitions"] == []  # watching gives sight, not a say
    # Their colleague still sees nothing.
    assert api_client(people.qb_manager).get(f"/api/v1/tickets/{secret.pk}").status_code == 404


def test_any_centre_requests_are_public_only_while_new(people, new_ticket, api_client):
    ticket = new_ticket(target=None)
    qb, dn = api_client(people.qb_manager), api_client(people.dn_manager)
    assert qb.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert [t["id"] for t in dn.get("/api/v1/tickets").json()["results"]] == [ticket.pk]
    dn.post(f"/api/v1/tickets/{ticket.pk}/transition", {"to": "accepted"}, content_type=JSON)
    assert qb.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    assert qb.get("/api/v1/tickets").json()["results"] == []


def test_a_user_without_a_centre_sees_only_what_they_watch(people, secret, make_user, api_client):
    loner = make_user("khach", centre=None)
    assert api_client(loner).get("/api/v1/tickets").json()["results"] == []
    services.add_watcher(secret, by=people.ht_manager, username="khach")
    assert [t["id"] for t in api_client(loner).get("/api/v1/tickets").json()["results"]] == [secret.pk]


def test_the_discussion_thread_is_seen_by_exactly_the_tickets_viewers(people, secret, api_client):
    from chat.selectors import can_view_topic, visible_topics

    topic = secret.thread
    assert topic.kind == "ticket"
    for username, ok in [("ht.engineer", True), ("dn.manager", True), ("admin", True), ("qb.manager", False)]:
        user = getattr(people, username.replace(".", "_"))
        assert can_view_topic(user, topic) is ok, username
        assert (topic in visible_topics(user, kind="ticket")) is ok, username
    denied = api_client(people.qb_manager).get(f"/api/v1/topics/{topic.slug}/messages")
    assert denied.status_code in (403, 404)
    allowed = api_client(people.dn_engineer).post(f"/api/v1/topics/{topic.slug}/messages",
                                                  {"body": "Bàn tiếp ở đây"}, content_type=JSON)
    assert allowed.status_code == 201
    # Watching the ticket opens its thread too.
    services.add_watcher(secret, by=people.ht_engineer, username="qb.manager")
    assert can_view_topic(people.qb_manager, topic) is True


def test_a_ticket_topic_without_a_ticket_is_seen_by_nobody_but_admins(people):
    from chat.selectors import can_view_topic
    from chat.services import create_topic

    orphan = create_topic(slug="ticket-khong-ton-tai", name_vi="x", name_en="x", kind="ticket")
    assert Ticket.objects.filter(thread=orphan).count() == 0
    assert can_view_topic(people.ht_manager, orphan) is False


def test_messages_of_the_thread_are_not_found_by_an_unrelated_centres_search(people, secret, api_client):
    from chat.services import post_message

    post_message(secret.thread, by=people.dn_engineer, body="Địa chỉ máy chủ bị nhiễm: mailgw-07")
    for username, found in [("dn.manager", 1), ("ht.engineer", 1), ("qb.manager", 0), ("qb.engineer", 0)]:
        client = api_client(getattr(people, username.replace(".", "_")))
        response = client.get("/api/v1/search?q=may chu bi nhiem")
        assert response.status_code == 200
        assert len(response.json()["results"]) == found, username


def test_the_list_filter_and_the_rule_agree_for_every_state(people, new_ticket):
    """`visible_tickets` (the list's SQL) and `audience_of` / `can_view_ticket` (sockets, details) are
    two forms of one rule: held to each other for every status that matters (new, accepted), target
    (a centre, any), TLP, watchers (none, one from elsewhere) and viewer. States are set directly, so
    combinations the services refuse are covered too: the forms must agree on any row."""
    from itertools import product

    from hub.models import Centre
    from hub.sharing import Tlp

    dn = Centre.objects.get(code="DN")
    viewers = [u for u in vars(people).values() if hasattr(u, "username")]
    tickets = []
    for status, target, tlp, watched in product(["new", "accepted"], [dn, None], Tlp.values, [False, True]):
        ticket = new_ticket(title=f"{status} {target} {tlp} {watched}")
        Ticket.objects.filter(pk=ticket.pk).update(status=status, target_centre=target, tlp=tlp)
        if watched:
            ticket.watchers.add(people.qb_engineer)
        tickets.append(Ticket.objects.select_related("requesting_centre", "target_centre").get(pk=ticket.pk))
    disagreements = []
    for viewer in viewers:
        listed = set(visible_tickets(viewer).values_list("pk", flat=True))
        disagreements += [(viewer.username, t.title) for t in tickets if (t.pk in listed) != can_view_ticket(viewer, t)]
    assert disagreements == []
    # Not vacuous: the watcher from QB sees the watched AMBER ones and not the party-only ones.
    watched_ones = [t for t in tickets if t.status == "accepted" and t.target_centre_id and "True" in t.title]
    assert {t.tlp for t in watched_ones if can_view_ticket(people.qb_engineer, t)} == {"clear", "green", "amber"}


def test_a_history_line_is_read_with_its_item_on_the_page_and_in_every_notification(people, new_ticket, media_root,
                                                                                     api_client):
    """`may_read_event` — who may be told of a change, in the hub, by email, by webhook — is the rule
    the request's page shows its history by: a line about a comment or a file only with that item
    (its TLP, its sharing scope, internal), for each person who sees the request."""
    from requests.selectors import may_read_event

    ticket = new_ticket(title="Rà soát", target="DN")
    services.add_watcher(ticket, by=people.ht_engineer, username="qb.manager")
    services.add_comment(ticket, by=people.ht_engineer, body="công khai")
    red = services.add_comment(ticket, by=people.dn_engineer, body="chỉ hai trung tâm", tlp="red")
    services.add_comment(ticket, by=people.dn_engineer, body="chỉ DN", shared_with=["DN"])
    note = services.add_comment(ticket, by=people.dn_engineer, body="nội bộ", internal=True)
    for comment, name in ((red, "do.txt"), (note, "noibo.txt"), (None, "chung.txt")):
        services.add_attachment(ticket, by=people.dn_engineer if comment else people.ht_engineer,
                                comment_id=comment.pk if comment else None, upload=SimpleUploadedFile(name, b"x"))
    services.add_attachment(ticket, by=people.ht_engineer, tlp="amber+strict",
                            upload=SimpleUploadedFile("strict.txt", b"x"))
    events = list(TicketEvent.objects.filter(ticket=ticket))
    told: dict[str, set[int]] = {}
    for user in (people.ht_engineer, people.dn_engineer, people.dn_manager, people.qb_manager, people.admin):
        page = {line["id"] for line in api_client(user).get(f"/api/v1/tickets/{ticket.pk}").json()["history"]}
        told[user.username] = {e.pk for e in events if may_read_event(user, ticket, e)}
        assert told[user.username] == page, user.username
    # Eight items on top of the request: QB's watcher reads the two public ones, HT all but DN's
    # scoped comment and the internal note with its file, DN all eight.
    assert len(told["admin"]) - len(told["qb.manager"]) == 6
    assert len(told["dn.engineer"]) == len(told["admin"]) and len(told["ht.engineer"]) == len(told["admin"]) - 3

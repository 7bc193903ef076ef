"""Links between requests and to alerts, splitting a request, and request templates (issue 26 §4)."""

from __future__ import annotations

from typing import Any

import pytest

from requests import services
from requests.models import Comment, Ticket, TicketEvent, TicketLink, TicketTemplate

pytestmark = pytest.mark.django_db

JSON = "application/json"


def raise_alert(by, **fields):
    from alerts.services import raise_alert as raise_

    data: dict[str, Any] = {"title": "Dò quét cổng dịch vụ công từ 203.0.113.7", "severity": "high", "tlp": "green"}
    data.update(fields)
    return raise_(by=by, **data)


# --- links ------------------------------------------------------------------------------------------


def test_a_link_between_requests_is_shown_on_both_each_from_its_side(people, new_ticket, api_client):
    cause = new_ticket(target="DN", title="Máy chủ DNS bị cấu hình sai")
    effect = new_ticket(target="DN", title="Cổng dịch vụ công không truy cập được")
    dn = api_client(people.dn_engineer)
    response = dn.post(f"/api/v1/tickets/{effect.pk}/links", {"kind": "caused_by", "ticket": cause.reference},
                       content_type=JSON)
    assert response.status_code == 200, response.json()
    [link] = response.json()["links"]
    assert (link["kind"], link["direction"], link["ticket"]["reference"]) == ("caused_by", "out", cause.reference)
    [back] = dn.get(f"/api/v1/tickets/{cause.pk}").json()["links"]
    assert (back["direction"], back["ticket"]["id"]) == ("in", effect.pk)
    assert back["label"] == "gây ra"  # "causes", in the caller's language (Vietnamese by default)
    # Both histories say so; linking twice changes nothing.
    assert TicketEvent.objects.filter(kind="link_added", ticket__in=[cause, effect]).count() == 2
    again = dn.post(f"/api/v1/tickets/{effect.pk}/links", {"kind": "caused_by", "ticket": cause.pk}, content_type=JSON)
    assert len(again.json()["links"]) == 1 and TicketLink.objects.count() == 1
    # Removing it is recorded on both too.
    removed = dn.delete(f"/api/v1/tickets/{cause.pk}/links/{back['id']}")
    assert removed.status_code == 200 and removed.json()["links"] == []
    assert TicketEvent.objects.filter(kind="link_removed").count() == 2


def test_links_are_shown_only_to_those_who_may_read_both_ends(people, new_ticket, api_client):
    mine = new_ticket(target="DN", by=people.ht_engineer)
    theirs = new_ticket(target="DN", by=people.qb_engineer)
    secret = raise_alert(people.dn_security, tlp="red")
    public = raise_alert(people.dn_security, tlp="clear", title="Cảnh báo chung")
    dn = api_client(people.dn_manager)
    for body in ({"kind": "related_to", "ticket": theirs.pk}, {"kind": "caused_by", "alert": secret.pk},
                 {"kind": "related_to", "alert": public.pk}):
        assert dn.post(f"/api/v1/tickets/{mine.pk}/links", body, content_type=JSON).status_code == 200
    assert len(dn.get(f"/api/v1/tickets/{mine.pk}").json()["links"]) == 3
    ht_view = api_client(people.ht_engineer).get(f"/api/v1/tickets/{mine.pk}").json()
    assert [(link["alert"] or {}).get("id") for link in ht_view["links"]] == [public.pk]
    # Nor do the history lines naming them reach HT.
    named = [e for e in ht_view["history"] if e["kind"] == "link_added"]
    assert [e["after"].get("alert") for e in named] == [public.pk]
    # The alert's page lists the requests linked to it that the viewer may read.
    on_alert = api_client(people.dn_engineer).get(f"/api/v1/alerts/{public.pk}").json()["requests"]
    assert [r["ticket"]["reference"] for r in on_alert] == [mine.reference]
    assert api_client(people.qb_engineer).get(f"/api/v1/alerts/{public.pk}").json()["requests"] == []


def test_a_link_names_only_what_the_caller_may_read(people, new_ticket, api_client):
    mine = new_ticket(target="DN", by=people.ht_engineer)
    theirs = new_ticket(target="DN", by=people.qb_engineer)
    secret = raise_alert(people.dn_security, tlp="red")
    ht = api_client(people.ht_engineer)
    assert ht.post(f"/api/v1/tickets/{mine.pk}/links", {"kind": "related_to", "ticket": theirs.pk},
                   content_type=JSON).json()["error"]["fields"] == ["ticket"]
    assert ht.post(f"/api/v1/tickets/{mine.pk}/links", {"kind": "caused_by", "alert": secret.pk},
                   content_type=JSON).json()["error"]["fields"] == ["alert"]
    assert ht.post(f"/api/v1/tickets/{mine.pk}/links", {"kind": "blocks", "ticket": mine.pk},
                   content_type=JSON).status_code == 400
    assert api_client(people.qb_engineer).post(f"/api/v1/tickets/{mine.pk}/links", {
        "kind": "related_to", "ticket": theirs.pk}, content_type=JSON).status_code == 404
    assert not TicketLink.objects.exists()


# --- split ------------------------------------------------------------------------------------------


def test_chosen_comments_start_a_new_linked_request_with_history_on_both(people, new_ticket, api_client, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    source = new_ticket(target="DN", title="Hỗ trợ cổng dịch vụ công")
    keep = services.add_comment(source, by=people.ht_engineer, body="Lỗi đăng nhập SSO")
    move = services.add_comment(source, by=people.dn_engineer, body="Ngoài ra: chứng thư số sắp hết hạn", tlp="amber")
    services.add_attachment(source, by=people.dn_engineer, comment_id=move.pk,
                            upload=SimpleUploadedFile("cert.txt", b"notAfter=2026-12-31", content_type="text/plain"))
    note = services.add_comment(source, by=people.dn_engineer, body="Nội bộ", internal=True)
    dn = api_client(people.dn_engineer)
    refused = dn.post(f"/api/v1/tickets/{source.pk}/split", {"comments": [move.pk, note.pk], "title": "Gia hạn"},
                      content_type=JSON)
    assert refused.status_code == 400 and refused.json()["error"]["fields"] == ["comments"]
    response = dn.post(f"/api/v1/tickets/{source.pk}/split",
                       {"comments": [move.pk], "title": "Gia hạn chứng thư số cổng dịch vụ công"}, content_type=JSON)
    assert response.status_code == 201, response.json()
    new = response.json()
    assert (new["requesting_centre"], new["target_centre"], new["requested_by"]["username"]) == ("HT", "DN",
                                                                                                  "ht.engineer")
    assert [c["body"] for c in new["comments"]] == ["Ngoài ra: chứng thư số sắp hết hạn"]
    assert new["comments"][0]["author"]["username"] == "dn.engineer"
    assert [a["name"] for a in new["comments"][0]["attachments"]] == ["cert.txt"]
    assert api_client(people.ht_engineer).get(new["attachments"][0]["url"]).status_code == 200
    assert [(link["kind"], link["ticket"]["id"]) for link in new["links"]] == [("split_from", source.pk)]
    created = TicketEvent.objects.get(ticket_id=new["id"], kind="created")
    assert isinstance(created.after, dict) and created.after["split_from"]["ticket"] == source.pk
    split = TicketEvent.objects.get(ticket=source, kind="split")
    assert isinstance(split.after, dict) and split.after["ticket"] == new["id"]
    # The originals stay where they were written.
    assert set(Comment.objects.filter(ticket=source).values_list("pk", flat=True)) == {keep.pk, move.pk, note.pk}
    back = dn.get(f"/api/v1/tickets/{source.pk}").json()["links"]
    assert [(link["label"], link["ticket"]["id"]) for link in back] == [("tách thành", new["id"])]


def test_a_split_is_as_tight_as_its_tightest_comment_and_only_for_the_two_sides(people, new_ticket, api_client):
    source = new_ticket(target="DN")
    red = services.add_comment(source, by=people.ht_engineer, body="Mật khẩu tạm thời", tlp="red")
    services.add_watcher(source, by=people.ht_engineer, username="qb.engineer")
    assert api_client(people.qb_engineer).post(f"/api/v1/tickets/{source.pk}/split", {
        "comments": [red.pk], "title": "Tách"}, content_type=JSON).status_code == 403
    new = api_client(people.ht_engineer).post(f"/api/v1/tickets/{source.pk}/split", {
        "comments": [red.pk], "title": "Đổi mật khẩu"}, content_type=JSON).json()
    assert new["tlp"] == "red"
    assert api_client(people.qb_engineer).get(f"/api/v1/tickets/{new['id']}").status_code == 404


# --- templates ----------------------------------------------------------------------------------------


TEMPLATE = {"name": "Đăng ký thi chứng chỉ", "category": "training", "priority": "normal", "target_centre": "DN",
            "title": "Đăng ký thi chứng chỉ CNTT – {centre} – {year}",
            "description": "Đầu mối: {requester} ({centre_name}). {unknown} giữ nguyên.",
            "checklist": ["Danh sách thí sinh", "Ảnh 3×4"], "tlp": "green", "shared": True}


def test_a_centres_managers_keep_its_templates(people, api_client):
    manager = api_client(people.dn_manager)
    response = manager.post("/api/v1/ticket-templates", TEMPLATE, content_type=JSON)
    assert response.status_code == 201, response.json()
    template = response.json()
    assert template["centre"] == "DN" and template["can_edit"] is True
    changed = manager.patch(f"/api/v1/ticket-templates/{template['id']}", {"priority": "high"}, content_type=JSON)
    assert changed.json()["priority"] == "high"
    # Others may use it, not change it.
    for who in (people.dn_engineer, people.ht_manager):
        client = api_client(who)
        assert client.get("/api/v1/ticket-templates").json()[0]["can_edit"] is False
        assert client.patch(f"/api/v1/ticket-templates/{template['id']}", {"name": "x"},
                            content_type=JSON).status_code == 403
        assert client.post("/api/v1/ticket-templates", {**TEMPLATE, "centre": "DN"},
                           content_type=JSON).status_code == 403
    assert manager.post("/api/v1/ticket-templates", TEMPLATE, content_type=JSON).status_code == 400  # same name
    assert manager.post("/api/v1/ticket-templates", {**TEMPLATE, "name": "Khác", "category": "nope"},
                        content_type=JSON).json()["error"]["fields"] == ["category"]
    assert manager.delete(f"/api/v1/ticket-templates/{template['id']}").status_code == 204
    assert not TicketTemplate.objects.exists()


def test_opening_a_request_from_a_template_fills_it_in_for_the_requester(people, api_client):
    template = api_client(people.dn_manager).post("/api/v1/ticket-templates", TEMPLATE, content_type=JSON).json()
    ht = api_client(people.ht_engineer)
    listed = ht.get("/api/v1/ticket-templates?centre=dn").json()
    assert listed[0]["filled"]["title"].startswith("Đăng ký thi chứng chỉ CNTT – HT – 20")
    response = ht.post("/api/v1/tickets", {"template": template["id"]}, content_type=JSON)
    assert response.status_code == 201, response.json()
    ticket = response.json()
    assert (ticket["category"], ticket["target_centre"]) == ("training", "DN")
    assert ticket["title"] == listed[0]["filled"]["title"]
    assert people.ht_engineer.get_display_name() in ticket["description"]
    assert "{unknown} giữ nguyên" in ticket["description"]
    assert ticket["description"].endswith("- [ ] Danh sách thí sinh\n- [ ] Ảnh 3×4")
    created = TicketEvent.objects.get(ticket_id=ticket["id"], kind="created")
    assert isinstance(created.after, dict) and created.after["template"]["name"] == "Đăng ký thi chứng chỉ"
    # What the requester gives wins over the template.
    own = ht.post("/api/v1/tickets", {"template": template["id"], "title": "Thi đợt 2", "priority": "high"},
                  content_type=JSON).json()
    assert (own["title"], own["priority"]) == ("Thi đợt 2", "high")
    assert ht.post("/api/v1/tickets", {"template": 999}, content_type=JSON).json()["error"]["fields"] == ["template"]
    assert Ticket.objects.count() == 2


def test_a_template_is_its_centres_unless_shared_and_carries_a_tlp(people, api_client):
    """The visibility rule (requests.selectors.template_q) on every read path — the list, one
    template, opening a request from it — and its TLP as the request's default and floor."""
    dn_manager = api_client(people.dn_manager)
    own = dn_manager.post("/api/v1/ticket-templates", {**TEMPLATE, "name": "Nội bộ DN", "shared": False,
                                                       "tlp": "amber+strict", "target_centre": "HT"},
                          content_type=JSON)
    assert own.status_code == 201, own.json()
    own_id = own.json()["id"]
    assert (own.json()["tlp"], own.json()["shared"]) == ("amber+strict", False)
    shared = dn_manager.post("/api/v1/ticket-templates", TEMPLATE, content_type=JSON).json()
    assert (shared["tlp"], shared["shared"]) == ("green", True)
    # DN's people see both; HT's see only the shared one, and cannot read or use the other.
    assert {t["id"] for t in api_client(people.dn_engineer).get("/api/v1/ticket-templates").json()} == {
        own_id, shared["id"]}
    ht = api_client(people.ht_engineer)
    assert [t["id"] for t in ht.get("/api/v1/ticket-templates").json()] == [shared["id"]]
    assert ht.get(f"/api/v1/ticket-templates/{own_id}").status_code == 404
    refused = ht.post("/api/v1/tickets", {"template": own_id, "category": "training"}, content_type=JSON)
    assert refused.status_code == 400 and refused.json()["error"]["fields"] == ["template"]
    assert {t["id"] for t in api_client(people.admin).get("/api/v1/ticket-templates").json()} == {own_id,
                                                                                                  shared["id"]}
    # The template's TLP is the request's default …
    opened = api_client(people.dn_engineer).post("/api/v1/tickets", {"template": own_id}, content_type=JSON)
    assert opened.status_code == 201, opened.json()
    assert opened.json()["tlp"] == "amber+strict"
    assert ht.post("/api/v1/tickets", {"template": shared["id"]}, content_type=JSON).json()["tlp"] == "green"
    # … and its floor: a looser marking is refused, a tighter one taken.
    looser = api_client(people.dn_engineer).post("/api/v1/tickets", {"template": own_id, "tlp": "amber"},
                                                 content_type=JSON)
    assert looser.status_code == 400 and looser.json()["error"]["fields"] == ["tlp"]
    assert ht.post("/api/v1/tickets", {"template": shared["id"], "tlp": "red"}, content_type=JSON).json()[
        "tlp"] == "red"
    # AMBER+STRICT and RED stay with their centre: sharing one is refused, in either order of change.
    answer = dn_manager.patch(f"/api/v1/ticket-templates/{own_id}", {"shared": True}, content_type=JSON)
    assert answer.status_code == 400 and answer.json()["error"]["fields"] == ["shared", "tlp"]
    answer = dn_manager.patch(f"/api/v1/ticket-templates/{shared['id']}", {"tlp": "red"}, content_type=JSON)
    assert answer.status_code == 400 and answer.json()["error"]["fields"] == ["shared", "tlp"]
    assert TicketTemplate.objects.get(pk=shared["id"]).tlp == "green"
    # Unsharing first, then marking it RED, is allowed; HT no longer sees it.
    assert dn_manager.patch(f"/api/v1/ticket-templates/{shared['id']}", {"shared": False, "tlp": "red"},
                            content_type=JSON).json()["tlp"] == "red"
    assert ht.get("/api/v1/ticket-templates").json() == []
    bad = dn_manager.patch(f"/api/v1/ticket-templates/{own_id}", {"tlp": "purple"}, content_type=JSON)
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == ["tlp"]

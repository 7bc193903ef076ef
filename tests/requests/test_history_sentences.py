"""A request's history reads as sentences in the viewer's language, with people's and centres' names
and translated labels — never raw JSON or usernames (issue 23)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from requests import services

pytestmark = pytest.mark.django_db


def texts(client, ticket, language: str) -> list[str]:
    client.cookies["django_language"] = language
    return [e["text"] for e in client.get(f"/api/v1/tickets/{ticket.pk}").json()["history"]]


def test_every_history_entry_is_a_sentence_with_names_and_labels(people, new_ticket, api_client, media_root):
    for user, name in ((people.ht_engineer, "Lan"), (people.dn_manager, "Bình"), (people.dn_engineer, "Minh"),
                       (people.dn_security, "Châu")):
        user.display_name = name
        user.save()
    ticket = new_ticket(target="DN", priority="high")
    services.update_ticket(ticket, by=people.ht_engineer, changes={"category": "software"})
    services.transition_ticket(ticket, by=people.dn_manager, to="accepted")
    services.assign_ticket(ticket, by=people.dn_manager, username="dn.engineer")
    services.add_watcher(ticket, by=people.dn_engineer, username="dn.security")
    comment = services.add_comment(ticket, by=people.ht_engineer, body="Log đính kèm")
    upload = SimpleUploadedFile("nhat-ky.txt", b"log line\n", content_type="text/plain")
    services.add_attachment(ticket, by=people.ht_engineer, upload=upload,
                            comment_id=comment.pk)
    services.transition_ticket(ticket, by=people.dn_engineer, to="in_progress")
    services.transition_ticket(ticket, by=people.dn_engineer, to="resolved", note="Đã vá")
    client = api_client(people.dn_manager)
    ht, dn_manager, dn_engineer = "Lan", "Bình", "Minh"
    with translation.override("en"):
        dn = people.dn_manager.centre.name

    english = texts(client, ticket, "en")
    assert english[0] == f"{ht} (HT) opened the request for {dn}: Information security, priority High, TLP:AMBER."
    assert f"{ht} (HT) changed the category from “Information security” to “Software development”." in english
    assert f"{dn_manager} (DN) moved the request from “New” to “Accepted”." in english
    assert f"{dn_manager} (DN) assigned the request to {dn_engineer}." in english
    assert f"{ht} (HT) attached “nhat-ky.txt”." in english
    assert f"{dn_engineer} (DN) moved the request from “In progress” to “Resolved”. Note: Đã vá" in english
    assert f"{dn_engineer} (DN) added Châu as a watcher." in english
    for text in english:
        assert "{" not in text and ".engineer" not in text and ".security" not in text and "_" not in text

    vietnamese = texts(client, ticket, "vi")
    assert f"{dn_manager} (DN) chuyển yêu cầu từ “Mới” sang “Đã tiếp nhận”." in vietnamese
    assert f"{dn_manager} (DN) giao yêu cầu cho {dn_engineer}." in vietnamese
    assert all("{" not in t and " the " not in t for t in vietnamese)


def test_merges_splits_and_links_are_sentences_naming_the_other_request(people, new_ticket, api_client):
    """Merges, splits and links name the other request by its reference (the page links it); every
    kind of history line has a sentence (none is left for the page to word)."""
    for user, name in ((people.ht_engineer, "Lan"), (people.dn_engineer, "Minh")):
        user.display_name = name
        user.save()
    ticket = new_ticket(target="DN")
    cause = new_ticket(target="DN", title="Tường lửa chặn nhầm")
    services.link_ticket(ticket, by=people.dn_engineer, kind="caused_by", to_ticket=cause.pk)
    services.link_ticket(ticket, by=people.dn_engineer, kind="related_to", to_ticket=cause.reference)
    links = ticket.links.order_by("id")
    services.unlink_ticket(ticket, by=people.dn_engineer, link_id=links.last().pk)
    comment = services.add_comment(ticket, by=people.ht_engineer, body="Thêm: cần gia hạn tên miền.")
    new = services.split_ticket(ticket, by=people.ht_engineer, comments=[comment.pk], title="Gia hạn tên miền")
    duplicate = new_ticket(target="DN", title="Trùng lặp", by=people.qb_engineer)
    services.merge_ticket(duplicate, by=people.dn_engineer, into=ticket.pk)
    client = api_client(people.dn_engineer)

    english = texts(client, ticket, "en")
    assert f"Minh (DN) noted that this request is caused by {cause.reference}." in english
    assert f"Minh (DN) linked this request with {cause.reference} (related)." in english
    assert f"Minh (DN) removed the link with {cause.reference}." in english
    assert f"Lan (HT) split 1 comment off into a new request, {new.reference}." in english
    assert f"Minh (DN) merged the duplicate {duplicate.reference} into this request. 1 watcher joined." in english
    assert None not in english
    assert f"Minh (DN) noted that {ticket.reference} is caused by this request." in texts(client, cause, "en")
    assert f"It was split off from {ticket.reference}." in " ".join(texts(client, new, "en"))
    assert texts(client, duplicate, "en")[-1] == (
        f"Minh (DN) merged this request into {ticket.reference}; it is read-only now.")

    vietnamese = texts(client, ticket, "vi")
    assert f"Minh (DN) ghi nhận yêu cầu này do {cause.reference} gây ra." in vietnamese
    assert f"Minh (DN) gộp yêu cầu trùng {duplicate.reference} vào yêu cầu này. " \
           "1 người theo dõi đã được chuyển sang." in vietnamese
    assert f"Lan (HT) tách 1 bình luận thành yêu cầu mới {new.reference}." in vietnamese


def test_a_request_opened_before_markings_were_recorded_names_no_empty_marking(people, new_ticket):
    from requests import history
    from requests.models import TicketEvent

    people.ht_engineer.display_name = "Lan"
    people.ht_engineer.save()
    event = TicketEvent(ticket=new_ticket(target="DN"), actor=people.ht_engineer, kind=TicketEvent.Kind.CREATED,
                        after={"status": "new", "priority": "high", "category": "software", "target_centre": "DN"})
    with translation.override("en"):
        text = history.sentence(event, history._Names([event]))
    assert text is not None and text.endswith("Software development, priority High.") and "—" not in text


def test_times_in_sentences_read_like_the_times_on_the_page(people, new_ticket):
    """A deadline in a sentence is the short local form the page writes around it (vi-VN
    "14:00 26/11/2026"), not Django's long "14:00 Ngày 26 tháng 11 năm 2026"."""
    from requests import history
    from requests.models import TicketEvent

    event = TicketEvent(ticket=new_ticket(target="DN"), actor=people.ht_engineer, kind=TicketEvent.Kind.FIELD,
                        field="due_at", before="2026-11-26T07:00:00+00:00", after="2026-11-27T02:30:00+00:00")
    with translation.override("vi"):
        vietnamese = history.sentence(event, history._Names([event]))
    with translation.override("en"):
        english = history.sentence(event, history._Names([event]))
    assert vietnamese is not None and "14:00 26/11/2026" in vietnamese and "09:30 27/11/2026" in vietnamese
    assert "Ngày" not in vietnamese
    assert english is not None and "11/26/2026 2 p.m." in english and "11/27/2026 9:30 a.m." in english

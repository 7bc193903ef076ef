"""A ticket's history is complete: every action leaves one event saying who, when, before and after —
and the API shows it in order."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from requests import services

pytestmark = pytest.mark.django_db


def test_a_tickets_whole_life_is_in_its_history(people, new_ticket, api_client, media_root):
    ticket = new_ticket(target="DN", priority="normal")
    services.update_ticket(ticket, by=people.ht_engineer, changes={"category": "software",
                                                                   "description": "Chi tiết hơn"})
    services.transition_ticket(ticket, by=people.dn_manager, to="accepted")
    services.assign_ticket(ticket, by=people.dn_manager, username="dn.engineer")
    services.add_watcher(ticket, by=people.dn_engineer)
    services.transition_ticket(ticket, by=people.dn_engineer, to="in_progress")
    services.transition_ticket(ticket, by=people.dn_engineer, to="waiting_for_requester", note="Cần log")
    comment = services.add_comment(ticket, by=people.ht_engineer, body="Log đính kèm")
    # The requester's public comment is their answer: the request goes back to in_progress by itself.
    services.add_attachment(ticket, by=people.ht_engineer, upload=SimpleUploadedFile("log.txt", b"..."),
                            comment_id=comment.pk)
    services.add_comment(ticket, by=people.dn_engineer, body="Nội bộ: đã tìm ra nguyên nhân", internal=True)
    services.update_ticket(ticket, by=people.dn_engineer, changes={"priority": "high"})
    services.transition_ticket(ticket, by=people.dn_engineer, to="resolved", note="Đã vá")
    services.remove_watcher(ticket, by=people.dn_engineer)
    services.transition_ticket(ticket, by=people.ht_manager, to="closed", note="Cảm ơn")

    history = api_client(people.dn_manager).get(f"/api/v1/tickets/{ticket.pk}").json()["history"]
    rows = [(e["actor"]["username"], e["kind"], e["field"], e["before"], e["after"], e["note"]) for e in history]
    due_change = next(e for e in history if e["field"] == "due_at")
    comment_events = [e["after"] for e in history if e["kind"] == "comment"]
    attachment_event = next(e for e in history if e["kind"] == "attachment")
    assert rows == [
        ("ht.engineer", "created", None, None,
         {"status": "new", "priority": "normal", "category": "security", "target_centre": "DN", "tlp": "amber"},
         ""),
        ("ht.engineer", "field", "description", "Cần **rà soát** lỗ hổng.", "Chi tiết hơn", ""),
        ("ht.engineer", "field", "category", "security", "software", ""),
        ("dn.manager", "transition", "status", "new", "accepted", ""),
        ("dn.manager", "assigned", "assignee", None, "dn.manager", ""),
        ("dn.manager", "assigned", "assignee", "dn.manager", "dn.engineer", ""),
        ("dn.engineer", "watcher_added", "watchers", None, "dn.engineer", ""),
        ("dn.engineer", "transition", "status", "accepted", "in_progress", ""),
        ("dn.engineer", "transition", "status", "in_progress", "waiting_for_requester", "Cần log"),
        ("ht.engineer", "comment", None, None, comment_events[0], ""),
        ("ht.engineer", "transition", "status", "waiting_for_requester", "in_progress", ""),
        ("ht.engineer", "attachment", None, None, attachment_event["after"], ""),
        ("dn.engineer", "comment", None, None, comment_events[1], ""),
        ("dn.engineer", "field", "priority", "normal", "high", ""),
        ("dn.engineer", "field", "due_at", due_change["before"], due_change["after"], ""),
        ("dn.engineer", "transition", "status", "in_progress", "resolved", "Đã vá"),
        ("dn.engineer", "watcher_removed", "watchers", "dn.engineer", None, ""),
        ("ht.manager", "transition", "status", "resolved", "closed", "Cảm ơn"),
    ]
    assert attachment_event["after"]["name"] == "log.txt"
    assert due_change["after"] < due_change["before"]  # high priority is due sooner than normal
    times = [e["created_at"] for e in history]
    assert times == sorted(times)
    # The requesting side sees the same history minus the internal note.
    ht_history = api_client(people.ht_manager).get(f"/api/v1/tickets/{ticket.pk}").json()["history"]
    assert len(ht_history) == len(history) - 1
    assert all(not e["internal"] for e in ht_history)

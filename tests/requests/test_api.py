"""`/api/v1/tickets…` as a client sees it: creating, listing, reading, editing, assigning, watching,
commenting — and every bad request answered with a clear 4xx that changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from requests.models import Comment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

JSON = "application/json"


def create(client, **fields):
    data = {"title": "Đề nghị hỗ trợ đào tạo chứng chỉ CNTT cơ bản", "category": "training", "priority": "normal",
            "target_centre": "DN", "description": "Theo Thông tư 03/2014/TT-BTTTT."}
    data.update(fields)
    return client.post("/api/v1/tickets", data, content_type=JSON)


# --- creating ---------------------------------------------------------------------------------------


def test_creating_a_ticket_gives_a_reference_due_time_thread_and_history(people, api_client, settings):
    from chat.models import Topic
    from worktime.selectors import add_working_minutes

    settings.REQUESTS_SLA_MINUTES = {**settings.REQUESTS_SLA_MINUTES, "urgent": (30, 360)}
    client = api_client(people.ht_engineer)
    response = create(client, priority="urgent", description="Xem <script>alert(1)</script> **gấp**")
    assert response.status_code == 201
    body = response.json()
    year = timezone.localtime().year
    assert body["reference"] == f"HT-{year}-0001"
    assert (body["status"], body["requesting_centre"], body["target_centre"]) == ("new", "HT", "DN")
    ticket = Ticket.objects.get(pk=body["id"])
    # Its SLA clocks: the urgent targets in the target centre's working time (tests/requests/test_sla.py).
    assert ticket.due_at == add_working_minutes(ticket.target_centre, ticket.created_at, 360)
    assert ticket.first_response_due == add_working_minutes(ticket.target_centre, ticket.created_at, 30)
    assert body["sla"]["resolution_due"] == body["due_at"] and body["sla"]["paused"] is False
    assert "<script>" not in body["description_html"] and "<strong>gấp</strong>" in body["description_html"]
    assert [w["username"] for w in body["watchers"]] == ["ht.engineer"]
    assert [(e["kind"], e["actor"]["username"]) for e in body["history"]] == [("created", "ht.engineer")]
    # Its own discussion thread: a chat topic of kind "ticket" that links back to the ticket.
    topic = Topic.objects.get(slug=body["thread"])
    assert topic.kind == "ticket" and ticket.thread_id == topic.pk
    assert f"/tickets/{ticket.pk}/" in topic.description
    assert body["thread_url"] == f"/topics/{topic.slug}/"
    # Numbers run per requesting centre and year.
    assert create(client).json()["reference"] == f"HT-{year}-0002"
    assert create(api_client(people.dn_engineer), target_centre="HT").json()["reference"] == f"DN-{year}-0001"


def test_a_request_for_any_centre_has_no_target(people, api_client):
    body = create(api_client(people.ht_engineer), target_centre=None).json()
    assert body["target_centre"] is None


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"category": "gardening"}, "category"),
        ({"priority": "whenever"}, "priority"),
        ({"target_centre": "XX"}, "target_centre"),
        ({"target_centre": "HT"}, "target_centre"),  # not to one's own centre
        ({"title": None}, "title"),
        ({"description": "a\x00b"}, "description"),
    ],
)
def test_invalid_tickets_are_400_naming_the_field_and_create_nothing(fields, field, people, api_client):
    response = create(api_client(people.ht_engineer), **fields)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Ticket.objects.count() == 0


def test_missing_fields_and_non_json_are_400(people, api_client):
    client = api_client(people.ht_engineer)
    assert client.post("/api/v1/tickets", {"title": "x"}, content_type=JSON).status_code == 400
    assert client.post("/api/v1/tickets", "not json", content_type=JSON).status_code == 400
    assert Ticket.objects.count() == 0


def test_only_people_of_a_centre_can_request(people, api_client):
    response = create(api_client(people.admin))
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.post("/api/v1/tickets", {}, content_type=JSON).status_code == 401


# --- reading ----------------------------------------------------------------------------------------


def test_detail_by_id_or_reference(people, new_ticket, api_client):
    ticket = new_ticket()
    client = api_client(people.dn_engineer)
    assert client.get(f"/api/v1/tickets/{ticket.pk}").json()["id"] == ticket.pk
    assert client.get(f"/api/v1/tickets/{ticket.reference.lower()}").json()["id"] == ticket.pk
    missing = client.get("/api/v1/tickets/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def make_many(people, count: int):
    from requests.services import create_ticket

    specs = [("security", "urgent", "DN", "Sự cố an toàn thông tin trên cổng"),
             ("software", "low", "QB", "Chia sẻ mã nguồn phần mềm một cửa"),
             ("training", "high", None, "Tổ chức thi chứng chỉ ứng dụng CNTT")]
    tickets = []
    for i in range(count):
        category, priority, target, title = specs[i % len(specs)]
        tickets.append(create_ticket(by=people.ht_engineer, title=f"{title} #{i}", category=category,
                                     priority=priority, target_centre=target))
    return tickets


def refs(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [t["reference"] for t in response.json()["results"]]


def test_list_filters(people, api_client):
    tickets = make_many(people, 6)
    Ticket.objects.filter(pk=tickets[1].pk).update(status="in_progress", assignee=people.qb_engineer)
    Ticket.objects.filter(pk=tickets[0].pk).update(due_at=timezone.now() - timedelta(hours=1))
    Ticket.objects.filter(pk=tickets[3].pk).update(due_at=timezone.now() - timedelta(hours=1), status="closed")
    client = api_client(people.ht_manager)
    by_ref = {t.pk: t.reference for t in tickets}
    assert set(refs(client.get("/api/v1/tickets"))) == set(by_ref.values())
    assert refs(client.get("/api/v1/tickets?status=in_progress")) == [tickets[1].reference]
    assert set(refs(client.get("/api/v1/tickets?status=in_progress,closed"))) == {tickets[1].reference,
                                                                                   tickets[3].reference}
    assert set(refs(client.get("/api/v1/tickets?category=software"))) == {tickets[1].reference, tickets[4].reference}
    assert set(refs(client.get("/api/v1/tickets?priority=urgent"))) == {tickets[0].reference, tickets[3].reference}
    assert set(refs(client.get("/api/v1/tickets?centre=qb"))) == {tickets[1].reference, tickets[4].reference}
    assert len(refs(client.get("/api/v1/tickets?centre=HT"))) == 6  # requesting OR target centre
    assert refs(client.get("/api/v1/tickets?assignee=qb.engineer")) == [tickets[1].reference]
    assert len(refs(client.get("/api/v1/tickets?assignee=none"))) == 5
    # Overdue means late AND still open: the closed late one is not overdue.
    assert refs(client.get("/api/v1/tickets?overdue=true")) == [tickets[0].reference]
    assert len(refs(client.get("/api/v1/tickets?overdue=false"))) == 5
    assert client.get(f"/api/v1/tickets/{tickets[0].pk}").json()["overdue"] is True


def test_a_watcher_lists_the_tickets_they_watch_and_nothing_else_of_that_centre(people, make_user, api_client):
    tickets = make_many(people, 3)  # HT asks DN, QB and "any centre"
    Ticket.objects.filter(pk=tickets[2].pk).update(status="accepted", target_centre=people.dn_engineer.centre)
    watcher = make_user("hue.engineer", centre="HUE")
    hue = api_client(watcher)
    assert refs(hue.get("/api/v1/tickets")) == []
    tickets[0].watchers.add(watcher)
    assert refs(hue.get("/api/v1/tickets")) == [tickets[0].reference]
    # A centre filter narrows what the caller may see; it never widens it.
    assert refs(hue.get("/api/v1/tickets?centre=dn")) == [tickets[0].reference]
    assert refs(hue.get("/api/v1/tickets?centre=HT")) == [tickets[0].reference]
    assert refs(hue.get("/api/v1/tickets?centre=QB")) == []
    assert refs(hue.get("/api/v1/tickets?centre=HUE")) == []


def test_the_list_answers_exactly_the_documented_schema(people, api_client):
    """The list skips ninja's response validation (hub.lib.api_support.trusted_json) for speed; this is
    what keeps its answer and its OpenAPI schema the same thing."""
    from requests.api import PersonOut, TicketPageOut, TicketSummaryOut

    tickets = make_many(people, 3)  # with a target centre and without; threads on all
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=people.dn_engineer)
    response = api_client(people.ht_manager).get("/api/v1/tickets?limit=2")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    TicketPageOut.model_validate(body)
    assert set(body) == set(TicketPageOut.model_fields)
    for item in body["results"]:
        assert set(item) == set(TicketSummaryOut.model_fields)
        assert set(item["requested_by"]) == set(PersonOut.model_fields)
    assert body["next"]
    last = api_client(people.ht_manager).get(f"/api/v1/tickets?limit=2&cursor={body['next']}").json()
    TicketPageOut.model_validate(last)
    assert last["next"] is None
    shapes = {(t["target_centre"] is None, t["assignee"] is None) for t in body["results"] + last["results"]}
    assert shapes == {(False, False), (False, True), (True, True)}
    # Datetimes as every other endpoint writes them (Django's encoder: milliseconds, "Z").
    assert body["results"][0]["created_at"].endswith("Z") and len(body["results"][0]["created_at"]) == 24  # ms


def test_search_ignores_accents_and_case(people, api_client):
    tickets = make_many(people, 3)
    client = api_client(people.ht_engineer)
    for q in ["an toan", "AN TOÀN", "an toàn thông", "su co"]:
        assert refs(client.get(f"/api/v1/tickets?q={q}")) == [tickets[0].reference], q
    assert set(refs(client.get("/api/v1/tickets?q=chung chi"))) == {tickets[2].reference}
    assert refs(client.get(f"/api/v1/tickets?q={tickets[1].reference.lower()}")) == [tickets[1].reference]
    assert refs(client.get("/api/v1/tickets?q=đắk lắk")) == []


def test_sorting_and_cursor_pagination_walk_every_ticket_once(people, api_client):
    tickets = make_many(people, 7)
    client = api_client(people.ht_engineer)
    for sort in ["-updated_at", "created_at", "due_at", "-priority", "priority", "-due_at"]:
        seen: list[int] = []
        url: str | None = f"/api/v1/tickets?sort={sort}&limit=3"
        while url:
            body = client.get(url).json()
            seen += [t["id"] for t in body["results"]]
            url = f"/api/v1/tickets?sort={sort}&limit=3&cursor={body['next']}" if body["next"] else None
        assert sorted(seen) == sorted(t.pk for t in tickets), sort
        assert len(seen) == len(set(seen))
    ranks = [t["priority"] for t in client.get("/api/v1/tickets?sort=-priority&limit=50").json()["results"]]
    order = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    assert ranks == sorted(ranks, key=order.__getitem__)


@pytest.mark.parametrize("query, field", [("status=open", "status"), ("category=x", "category"),
                                          ("priority=meh", "priority"), ("sort=title", "sort"),
                                          ("overdue=perhaps", "overdue"), ("limit=0", None), ("limit=201", None),
                                          ("cursor=%%%", None), ("centre=XYZ", "centre")])
def test_bad_list_parameters_are_400(query, field, people, api_client):
    response = api_client(people.ht_engineer).get(f"/api/v1/tickets?{query}")
    assert response.status_code == 400
    if field:
        assert field in response.json()["error"]["detail"]


def test_a_page_costs_the_same_queries_whatever_its_size(people, api_client, django_assert_num_queries):
    tickets = make_many(people, 30)
    for t in tickets:  # assignees and watchers make sure related rows are really loaded
        Ticket.objects.filter(pk=t.pk).update(assignee=people.dn_engineer)
    client = api_client(people.ht_manager)
    client.get("/api/v1/tickets?limit=1")  # the token's first use records last_used_at
    # token lookup, the centres, the caller's watched tickets, the page, then its people and threads
    with django_assert_num_queries(6):
        assert len(client.get("/api/v1/tickets?limit=2").json()["results"]) == 2
    with django_assert_num_queries(6):
        assert len(client.get("/api/v1/tickets?limit=30&q=phan mem").json()["results"]) == 10
    with django_assert_num_queries(6):
        assert len(client.get("/api/v1/tickets?limit=200").json()["results"]) == 30
    with django_assert_num_queries(6):  # a centre filter reads the centres the summaries need anyway
        assert len(client.get("/api/v1/tickets?limit=200&centre=HT").json()["results"]) == 30


def test_detail_costs_the_same_queries_whatever_the_history(people, new_ticket, api_client,
                                                          django_assert_num_queries):
    from requests.services import add_comment

    ticket = new_ticket()
    client = api_client(people.dn_engineer)
    client.get(f"/api/v1/tickets/{ticket.pk}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/tickets/{ticket.pk}")
    for i in range(10):
        add_comment(ticket, by=people.dn_engineer, body=f"Ghi chú {i}", internal=i % 2 == 0)
    with django_assert_num_queries(len(few)):
        assert len(client.get(f"/api/v1/tickets/{ticket.pk}").json()["comments"]) == 10


# --- editing, assigning, watching -----------------------------------------------------------------------


def test_editing_records_before_and_after(people, new_ticket, api_client, settings):
    ticket = new_ticket(priority="low")
    client = api_client(people.dn_engineer)
    response = client.patch(f"/api/v1/tickets/{ticket.pk}", {"title": "Rà soát lỗ hổng", "priority": "high"},
                            content_type=JSON)
    assert response.status_code == 200
    body = response.json()
    changes = {e["field"]: (e["before"], e["after"]) for e in body["history"] if e["kind"] == "field"}
    assert changes["title"] == ("Hỗ trợ kiểm tra an toàn thông tin cổng dịch vụ công", "Rà soát lỗ hổng")
    assert changes["priority"] == ("low", "high")
    assert "due_at" in changes
    ticket.refresh_from_db()
    from worktime.selectors import add_working_minutes

    assert ticket.due_at == add_working_minutes(ticket.target_centre, ticket.created_at,
                                                settings.REQUESTS_SLA_MINUTES["high"][1])
    assert ticket.version == 2
    # Searching follows the new title.
    assert refs(client.get("/api/v1/tickets?q=ra soat lo hong")) == [ticket.reference]


def test_edits_that_are_not_allowed_change_nothing(people, new_ticket, api_client):
    ticket = new_ticket()
    dn, ht = api_client(people.dn_manager), api_client(people.ht_engineer)
    cases = [
        (dn, {"target_centre": "QB"}, 403),  # only the requesting side redirects
        (ht, {"priority": "soon"}, 400),
        (ht, {"title": ""}, 400),
        (ht, {"target_centre": "HT"}, 400),
        (ht, {"title": "Mới", "version": 7}, 409),
    ]
    for client, data, status in cases:
        assert client.patch(f"/api/v1/tickets/{ticket.pk}", data, content_type=JSON).status_code == status, data
    ticket.refresh_from_db()
    assert (ticket.version, ticket.target_centre.code, ticket.priority) == (1, "DN", "normal")
    assert TicketEvent.objects.filter(ticket=ticket).count() == 1
    redirected = ht.patch(f"/api/v1/tickets/{ticket.pk}", {"target_centre": "QB"}, content_type=JSON)
    assert redirected.status_code == 200 and redirected.json()["target_centre"] == "QB"


def test_assignment_rules(people, new_ticket, api_client):
    from requests.services import transition_ticket

    ticket = new_ticket()
    transition_ticket(ticket, by=people.dn_manager, to="accepted")  # the manager accepted: assigned to them
    url = f"/api/v1/tickets/{ticket.pk}/assign"
    # A manager of the target centre reassigns to anyone of that centre ...
    response = api_client(people.dn_manager).post(url, {"username": "dn.security"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["assignee"]["username"] == "dn.security"
    last = response.json()["history"][-1]
    assert (last["kind"], last["before"], last["after"]) == ("assigned", "dn.manager", "dn.security")
    # ... but not to someone of another centre, nor to nobody-known.
    assert api_client(people.dn_manager).post(url, {"username": "qb.engineer"}, content_type=JSON).status_code == 403
    assert api_client(people.dn_manager).post(url, {"username": "ghost"}, content_type=JSON).status_code == 400
    # Engineers do not reassign others' work, and the requesting side does not assign at all.
    assert api_client(people.dn_engineer).post(url, {"username": "dn.engineer"}, content_type=JSON).status_code == 403
    assert api_client(people.ht_manager).post(url, {"username": "dn.engineer"}, content_type=JSON).status_code == 403
    ticket.refresh_from_db()
    assert ticket.assignee.username == "dn.security"
    # Once unassigned, any of the target's staff may take it for themselves.
    assert api_client(people.dn_manager).post(url, {"username": None}, content_type=JSON).status_code == 200
    taken = api_client(people.dn_engineer).post(url, {"username": "dn.engineer"}, content_type=JSON)
    assert taken.status_code == 200 and taken.json()["assignee"]["username"] == "dn.engineer"
    assert api_client(people.admin).post(url, {"username": "dn.manager"}, content_type=JSON).status_code == 200


def test_watchers(people, new_ticket, api_client):
    ticket = new_ticket()
    url = f"/api/v1/tickets/{ticket.pk}/watchers"
    # A QB engineer cannot see the ticket, so cannot watch it by themselves ...
    assert api_client(people.qb_engineer).post(url, {}, content_type=JSON).status_code == 404
    # ... until a side of the ticket adds them; then they see it.
    added = api_client(people.ht_manager).post(url, {"username": "qb.engineer"}, content_type=JSON)
    assert added.status_code == 200
    assert {w["username"] for w in added.json()["watchers"]} == {"ht.engineer", "qb.engineer"}
    qb = api_client(people.qb_engineer)
    assert qb.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    # A watcher cannot add others (they are not a side of the ticket) but may leave.
    assert qb.post(url, {"username": "qb.manager"}, content_type=JSON).status_code == 403
    assert api_client(people.ht_manager).post(url, {"username": "nobody"}, content_type=JSON).status_code == 400
    left = qb.delete(f"{url}/me")
    assert left.status_code == 204
    assert qb.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    kinds = [(e.kind, e.after or e.before) for e in TicketEvent.objects.filter(ticket=ticket, field="watchers")]
    assert kinds == [("watcher_added", "qb.engineer"), ("watcher_removed", "qb.engineer")]
    # The target's staff watch by themselves.
    mine = api_client(people.dn_security).post(url, {}, content_type=JSON)
    assert "dn.security" in {w["username"] for w in mine.json()["watchers"]}


# --- comments -------------------------------------------------------------------------------------------


def test_public_and_internal_comments(people, new_ticket, api_client):
    ticket = new_ticket()
    url = f"/api/v1/tickets/{ticket.pk}/comments"
    public = api_client(people.ht_engineer).post(url, {"body": "Cảm ơn @dn.engineer, xem **file** đính kèm"},
                                                content_type=JSON)
    assert public.status_code == 201
    assert public.json()["internal"] is False and "<strong>file</strong>" in public.json()["html"]
    internal = api_client(people.dn_engineer).post(url, {"body": "Chỉ nội bộ: cần 2 ngày", "internal": True},
                                                  content_type=JSON)
    assert internal.status_code == 201 and internal.json()["internal"] is True
    # The requesting side may not write internal notes.
    denied = api_client(people.ht_manager).post(url, {"body": "x", "internal": True}, content_type=JSON)
    assert denied.status_code == 403
    # The target sees both; the requester only the public one, and no trace of the internal one.
    dn_view = api_client(people.dn_manager).get(f"/api/v1/tickets/{ticket.pk}").json()
    ht_view = api_client(people.ht_manager).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert [c["internal"] for c in dn_view["comments"]] == [False, True]
    assert [c["internal"] for c in ht_view["comments"]] == [False]
    assert [e["kind"] for e in dn_view["history"]].count("comment") == 2
    assert [e["kind"] for e in ht_view["history"]].count("comment") == 1
    assert "Chỉ nội bộ" not in str(ht_view)


@pytest.mark.parametrize("body, status", [
    ({"body": ""}, 400), ({"body": "  \n "}, 400), ({"body": None}, 400), ({}, 400), ({"body": "a\x00b"}, 400),
    ({"body": "x" * (16 * 1024 + 1)}, 413),
    ({"body": "ệ" * 6000}, 413),  # 6,000 characters but 18,000 bytes: the limit is in bytes
])
def test_bad_comments_are_refused_and_store_nothing(body, status, people, new_ticket, api_client, settings):
    settings.HUB_MAX_BODY_BYTES = 16 * 1024
    ticket = new_ticket()
    response = api_client(people.ht_engineer).post(f"/api/v1/tickets/{ticket.pk}/comments", body,
                                                  content_type=JSON)
    assert response.status_code == status
    assert Comment.objects.count() == 0
    assert not TicketEvent.objects.filter(kind="comment").exists()


def test_closed_tickets_take_no_more_comments(people, new_ticket, api_client):
    ticket = new_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(status="closed")
    response = api_client(people.ht_engineer).post(f"/api/v1/tickets/{ticket.pk}/comments", {"body": "Còn nữa"},
                                                  content_type=JSON)
    assert response.status_code == 409
    assert Comment.objects.count() == 0


def test_the_schema_documents_the_ticket_endpoints(people, api_client):
    paths = api_client(people.ht_engineer).get("/api/v1/schema").json()["paths"]
    for path in ["/api/v1/tickets", "/api/v1/tickets/{ident}", "/api/v1/tickets/{ident}/transition",
                 "/api/v1/tickets/{ident}/comments", "/api/v1/tickets/{ident}/assign",
                 "/api/v1/tickets/{ident}/watchers", "/api/v1/tickets/{ident}/attachments"]:
        assert path in paths, path


def test_empty_filter_parameters_mean_no_filter(people, api_client):
    """An HTML filter form submits every field, empty ones included."""
    tickets = make_many(people, 3)
    client = api_client(people.ht_engineer)
    empty = "/api/v1/tickets?status=&category=&priority=&centre=&assignee=&overdue=&q=&sort="
    assert len(refs(client.get(empty))) == len(tickets)


def test_the_vocabulary_names_everything_in_the_callers_language(people, api_client):
    client = api_client(people.ht_engineer)
    vi = client.get("/api/v1/ticket-vocabulary").json()
    client.cookies["django_language"] = "en"  # the caller's choice (Accept-Language alone is not one)
    en = client.get("/api/v1/ticket-vocabulary").json()
    assert {s["value"]: s["label"] for s in vi["statuses"]}["waiting_for_requester"] == "Chờ bên yêu cầu"
    assert {s["value"]: s["label"] for s in en["statuses"]}["waiting_for_requester"] == "Waiting for requester"
    assert {c["value"] for c in vi["categories"]} == {"security", "software", "training", "consulting",
                                                       "communications", "events", "other"}
    assert {"source": "resolved", "to": "closed", "parties": ["requester"], "note_required": False} in vi["moves"]
    assert vi["sla_minutes"]["urgent"] == {"first_response": 60, "resolution": 480}
    assert set(vi["sla_minutes"]) == {"low", "normal", "high", "urgent"}

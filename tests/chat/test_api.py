"""The topic HTTP API: topics with unread counts, history, posting, edits, search — all through the
caller's visibility."""

import pytest

from chat.models import Message, MessageRevision
from chat.services import post_message
from hub.realtime.audience import Audience

pytestmark = pytest.mark.django_db

SLUG = "an-toan-thong-tin"
JSON = "application/json"


@pytest.fixture
def world(make_user, make_topic):
    topic = make_topic(SLUG, name_vi="Sự cố an toàn thông tin", name_en="Information security incidents")
    secret = make_topic("doi-ung-cuu", allowed_roles=["security_officer"])
    people = {
        "dn": make_user("dn.engineer", centre="DN"),
        "ht": make_user("ht.engineer", centre="HT"),
        "hts": make_user("ht.security", centre="HT", role="security_officer"),
        "admin": make_user("admin", centre=None, role="hub_admin"),
    }
    return {"topic": topic, "secret": secret, **people}


def post(topic, author, body, **kw):
    return post_message(topic, by=author, body=body, **kw)[0]


# --- topics -------------------------------------------------------------------------------------------

def test_topics_list_only_visible_topics_with_unread_counts(world, api_client):
    for i in range(3):
        post(world["topic"], world["ht"], f"tin {i}")
    post(world["topic"], world["dn"], "của chính mình")  # own messages are never unread
    post(world["secret"], world["hts"], "nội bộ đội ứng cứu")
    body = api_client(world["dn"]).get("/api/v1/topics").json()
    assert body["next"] is None
    assert [t["slug"] for t in body["results"]] == [SLUG]
    topic = body["results"][0]
    assert topic["unread"] == 3 and topic["name_vi"] == "Sự cố an toàn thông tin"
    assert topic["latest_message_id"] == Message.objects.filter(topic=world["topic"]).latest("id").id
    security = api_client(world["hts"]).get("/api/v1/topics").json()["results"]
    assert {t["slug"]: t["unread"] for t in security} == {SLUG: 4, "doi-ung-cuu": 0}


def test_unread_counts_ignore_messages_outside_the_callers_audience(world, api_client):
    post(world["topic"], world["hts"], "TLP:AMBER", audience=Audience(roles=frozenset({"security_officer"})))
    post(world["topic"], world["hts"], "công khai")
    assert api_client(world["dn"]).get("/api/v1/topics").json()["results"][0]["unread"] == 1
    admin_view = api_client(world["admin"]).get("/api/v1/topics").json()["results"]
    assert {t["slug"]: t["unread"] for t in admin_view} == {SLUG: 2, "doi-ung-cuu": 0}


def test_read_endpoint_moves_the_marker(world, api_client):
    ids = [post(world["topic"], world["ht"], f"m{i}").id for i in range(3)]
    client = api_client(world["dn"])
    response = client.post(f"/api/v1/topics/{SLUG}/read", {"up_to": ids[0]}, content_type=JSON)
    assert response.json() == {"topic": SLUG, "up_to": ids[0], "unread": 2}
    assert client.post(f"/api/v1/topics/{SLUG}/read", {"up_to": -3}, content_type=JSON).status_code == 400


def test_restricted_and_unknown_topics_answer_403_and_404(world, api_client):
    client = api_client(world["dn"])
    for path in ("/api/v1/topics/doi-ung-cuu", "/api/v1/topics/doi-ung-cuu/messages"):
        response = client.get(path)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = client.post("/api/v1/topics/doi-ung-cuu/messages", {"body": "xin vào"}, content_type=JSON)
    assert response.status_code == 403
    assert client.get("/api/v1/topics/khong-co/messages").json()["error"]["code"] == "not_found"
    assert not Message.objects.exists()


def test_unauthenticated_calls_get_401(world, client):
    assert client.get("/api/v1/topics").status_code == 401
    assert client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "x"}, content_type=JSON).status_code == 401


# --- history -----------------------------------------------------------------------------------------

def test_history_after_and_before_walk_every_message_once_in_order(world, api_client):
    ids = [post(world["topic"], world["ht"], f"m{i}").id for i in range(7)]
    client = api_client(world["dn"])
    latest = client.get(f"/api/v1/topics/{SLUG}/messages?limit=3").json()
    assert [m["id"] for m in latest["results"]] == ids[4:]
    seen, page = [m["id"] for m in latest["results"]], latest
    while page["next"]:  # walking back with the cursor
        page = client.get(f"/api/v1/topics/{SLUG}/messages?limit=3&cursor={page['next']}").json()
        seen = [m["id"] for m in page["results"]] + seen
    assert seen == ids
    forward = client.get(f"/api/v1/topics/{SLUG}/messages?after={ids[1]}&limit=2").json()
    collected = [m["id"] for m in forward["results"]]
    while forward["next"]:
        forward = client.get(f"/api/v1/topics/{SLUG}/messages?limit=2&cursor={forward['next']}").json()
        collected += [m["id"] for m in forward["results"]]
    assert collected == ids[2:]
    before = client.get(f"/api/v1/topics/{SLUG}/messages?before={ids[3]}&limit=10").json()
    assert [m["id"] for m in before["results"]] == ids[:3] and before["next"] is None


def test_history_answers_exactly_the_documented_schema(world, api_client):
    """History skips ninja's response validation (hub.lib.api_support.trusted_json) for speed; this is
    what keeps its answer and its OpenAPI schema the same thing."""
    from chat.api import MessageOut, MessagePage
    from chat.services import delete_message
    from hub.lib.api_support import PersonOut

    post(world["topic"], world["ht"], "Xin chào @dn.engineer và **DN**")
    delete_message(post(world["topic"], world["ht"], "sẽ bị xoá"), by=world["ht"])
    post(world["topic"], world["dn"], "ok")
    response = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages?limit=2")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    MessagePage.model_validate(body)
    assert set(body) == set(MessagePage.model_fields) and body["next"]
    older = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages?limit=2&cursor={body['next']}").json()
    MessagePage.model_validate(older)
    for message in body["results"] + older["results"]:
        assert set(message) == set(MessageOut.model_fields)
        assert set(message["author"]) == set(PersonOut.model_fields)
    assert [m["deleted"] for m in older["results"] + body["results"]] == [False, True, False]


@pytest.mark.parametrize("query", ["after=1&before=5", "limit=0", "limit=201", "after=-1", "after=abc",
                                   "cursor=%%%", "cursor=WyJ4Il0"])
def test_bad_history_queries_get_400(query, world, api_client):
    response = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_history_hides_restricted_messages_and_shows_tombstones(world, api_client):
    hidden = post(world["topic"], world["hts"], "TLP:RED", audience=Audience(centres=frozenset({"HT"})))
    gone = post(world["topic"], world["ht"], "sẽ bị xoá")
    client = api_client(world["ht"])
    assert client.delete(f"/api/v1/topics/{SLUG}/messages/{gone.id}").status_code == 200
    results = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
    assert [(m["id"], m["deleted"], m["body"]) for m in results] == [(gone.id, True, "")]
    assert api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages/{hidden.id}").status_code == 404
    assert [m["id"] for m in client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"]] == [hidden.id, gone.id]


# --- posting -----------------------------------------------------------------------------------------

def test_post_returns_201_with_the_contracts_message_and_is_idempotent(world, api_client):
    client = api_client(world["dn"])
    first = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "Xin chào _các bạn_", "client_id": "k1"},
                        content_type=JSON)
    assert first.status_code == 201
    message = first.json()
    assert set(message) >= {"id", "topic", "author", "body", "html", "created_at", "client_id"}
    assert message["author"] == {"username": "dn.engineer", "display_name": "dn.engineer", "centre": "DN"}
    assert message["html"] == "<p>Xin chào <em>các bạn</em></p>" and message["client_id"] == "k1"
    again = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "Xin chào _các bạn_", "client_id": "k1"},
                        content_type=JSON)
    assert again.status_code == 201 and again.json() == message and again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1


@pytest.mark.parametrize("payload, status, code", [
    ({}, 400, "invalid"),
    ({"body": ""}, 400, "invalid"),
    ({"body": "   "}, 400, "invalid"),
    ({"body": ["x"]}, 400, "invalid"),
    ({"body": "x", "client_id": "c" * 65}, 400, "invalid"),
    ({"body": "ư" * 8193}, 413, "too_large"),  # 2 bytes each: one byte over 16 KiB
])
def test_bad_posts_get_errors_and_store_nothing(payload, status, code, world, api_client):
    response = api_client(world["dn"]).post(f"/api/v1/topics/{SLUG}/messages", payload, content_type=JSON)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Message.objects.exists()


def test_non_json_post_is_400(world, api_client):
    response = api_client(world["dn"]).post(f"/api/v1/topics/{SLUG}/messages", "{not json", content_type=JSON)
    assert response.status_code == 400 and not Message.objects.exists()


def test_flooding_over_http_gets_429(world, api_client, settings):
    settings.HUB_RATE_LIMIT_BURST = 2
    settings.HUB_RATE_LIMIT_PER_SECOND = 0.01
    client = api_client(world["dn"])
    statuses = [client.post(f"/api/v1/topics/{SLUG}/messages", {"body": f"m{i}"}, content_type=JSON).status_code
                for i in range(4)]
    assert statuses == [201, 201, 429, 429]
    assert Message.objects.count() == 2


# --- edit, delete, revisions ----------------------------------------------------------------------------

def test_edit_by_author_keeps_revisions_others_get_403(world, api_client):
    message = post(world["topic"], world["dn"], "bản 1")
    url = f"/api/v1/topics/{SLUG}/messages/{message.id}"
    assert api_client(world["ht"]).patch(url, {"body": "của tôi"}, content_type=JSON).status_code == 403
    author = api_client(world["dn"])
    edited = author.patch(url, {"body": "bản **2**"}, content_type=JSON).json()
    assert edited["body"] == "bản **2**" and edited["edited_at"] and edited["html"] == "<p>bản <strong>2</strong></p>"
    assert author.patch(url, {"body": ""}, content_type=JSON).status_code == 400
    admin = api_client(world["admin"])
    assert admin.delete(url).json()["deleted"] is True
    revisions = author.get(url + "/revisions").json()
    assert [(r["action"], r["body"], r["changed_by"]) for r in revisions] == [
        ("edit", "bản 1", "dn.engineer"), ("delete", "bản **2**", "admin")]
    assert api_client(world["ht"]).get(url + "/revisions").status_code == 403
    assert author.patch(url, {"body": "hồi sinh"}, content_type=JSON).status_code == 409
    assert MessageRevision.objects.count() == 2


# --- search ---------------------------------------------------------------------------------------------

def test_search_ignores_case_and_vietnamese_diacritics(world, api_client):
    hit = post(world["topic"], world["ht"], "Hướng dẫn An Toàn Thông Tin cho Đà Nẵng")
    post(world["topic"], world["ht"], "Lịch hội thảo tháng 9")
    client = api_client(world["dn"])
    for q in ("an toan", "AN TOÀN", "da nang", "Đà Nẵng", "huong dan thong"):
        results = client.get("/api/v1/search", {"q": q}).json()["results"]
        assert [m["id"] for m in results] == [hit.id], q
    assert client.get("/api/v1/search", {"q": "không có gì"}).json()["results"] == []


def test_search_covers_only_what_the_caller_may_see(world, api_client):
    post(world["secret"], world["hts"], "mã độc trong đội ứng cứu")
    post(world["topic"], world["hts"], "mã độc TLP:AMBER", audience=Audience(roles=frozenset({"security_officer"})))
    public = post(world["topic"], world["ht"], "mã độc công khai")
    deleted = post(world["topic"], world["ht"], "mã độc đã xoá")
    api_client(world["ht"]).delete(f"/api/v1/topics/{SLUG}/messages/{deleted.id}")
    assert [m["id"] for m in api_client(world["dn"]).get("/api/v1/search", {"q": "ma doc"}).json()["results"]] == [
        public.id]
    assert len(api_client(world["hts"]).get("/api/v1/search", {"q": "ma doc"}).json()["results"]) == 3


def test_search_by_topic_and_paginated_newest_first(world, api_client):
    ids = [post(world["topic"], world["ht"], f"sự cố số {i}").id for i in range(5)]
    client = api_client(world["hts"])
    post(world["secret"], world["hts"], "sự cố khác")
    page = client.get("/api/v1/search", {"q": "su co", "topic": SLUG, "limit": 3}).json()
    assert [m["id"] for m in page["results"]] == ids[:1:-1][:3]
    rest = client.get("/api/v1/search", {"q": "su co", "topic": SLUG, "limit": 3, "cursor": page["next"]}).json()
    assert [m["id"] for m in rest["results"]] == [ids[1], ids[0]] and rest["next"] is None


@pytest.mark.parametrize("params, status", [({"q": ""}, 400), ({"q": "  "}, 400), ({"q": "x" * 201}, 400),
                                            ({}, 400), ({"q": "a", "topic": "doi-ung-cuu"}, 403),
                                            ({"q": "a", "topic": "khong-co"}, 404)])
def test_bad_searches_get_errors(params, status, world, api_client):
    assert api_client(world["dn"]).get("/api/v1/search", params).status_code == status


def test_search_handles_query_syntax_characters_literally(world, api_client):
    hit = post(world["topic"], world["ht"], "lỗi CVE-2024-3400 (PAN-OS) & 'quote'")
    for q in ("CVE-2024-3400", "pan-os & !|", "'quote'", "(PAN"):
        assert [m["id"] for m in api_client(world["dn"]).get("/api/v1/search", {"q": q}).json()["results"]] == [
            hit.id], q
    assert api_client(world["dn"]).get("/api/v1/search", {"q": "!&|"}).status_code == 200


def test_openapi_documents_the_topic_endpoints(world, api_client):
    paths = api_client(world["dn"]).get("/api/v1/schema").json()["paths"]
    assert {"/api/v1/topics", "/api/v1/topics/{slug}/messages", "/api/v1/search"} <= set(paths)


def test_postgresql_searches_with_its_full_text_index(world):
    """On PostgreSQL the search is full-text over unaccent (indexed); elsewhere the folded column."""
    from django.db import connection

    from chat.selectors import search_messages

    post(world["topic"], world["ht"], "An toàn thông tin")
    sql = str(search_messages(world["dn"], "an toàn").query)
    if connection.vendor == "postgresql":
        # Few matches: their ids come from the index first (chat.selectors._search_condition).
        assert "chat_message\".\"id\" = ANY" in sql or "chat_message.id = ANY" in sql
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'chat_message_search_vector'")
            assert "gin (search_vector)" in cursor.fetchone()[0].lower()
            # Maintained by PostgreSQL from the body (a generated column): unaccented, punctuation as spaces.
            cursor.execute("SELECT is_generated, generation_expression FROM information_schema.columns "
                           "WHERE table_name = 'chat_message' AND column_name = 'search_vector'")
            generated, expression = cursor.fetchone()
            assert generated == "ALWAYS" and "chat_search_document(body)" in expression
            cursor.execute("SELECT chat_search_document('Đà Nẵng: CVE-2024-3400, lừa đảo!')::text")
            assert cursor.fetchone()[0] == "'2024':4 '3400':5 'cve':3 'da':1 'dao':7 'lua':6 'nang':2"
    else:
        assert "search_text" in sql


def test_a_search_reads_its_topics_once_and_plans_its_page_without_parallel_workers(world, api_client):
    """A search names each hit's topic from the topics the visibility rule read (no second read of
    chat_topic after the page), and on PostgreSQL its probe and page run in a transaction with
    parallel query off: the planner cannot see that their walks stop early, and starting parallel
    workers cost more than the walks (docs/benchmarks.md, "Search over years")."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post(world["topic"], world["ht"], "Mã độc mới trên máy chủ thư")
    post(world["topic"], world["dn"], "mã độc trong thư viện")
    client = api_client(world["dn"])
    with CaptureQueriesContext(connection) as captured:
        body = client.get("/api/v1/search", {"q": "ma doc"}).json()
    assert [(hit["topic"], hit["topic_name"], hit["topic_kind"]) for hit in body["results"]] == [
        (SLUG, "Sự cố an toàn thông tin", "channel")] * 2
    sql = [q["sql"] for q in captured.captured_queries]
    page = next(i for i, s in enumerate(sql) if s.startswith('SELECT "chat_message"."id"'))
    assert not [s for s in sql[page:] if 'FROM "chat_topic"' in s]
    if connection.vendor == "postgresql":
        probe = next(i for i, s in enumerate(sql) if "SELECT count(*) FROM (SELECT 1 FROM chat_message" in s)
        setting = sql.index("SET LOCAL max_parallel_workers_per_gather = 0")
        # Its own transaction; inside the test's, a savepoint — whose end does not end a SET LOCAL, so
        # the setting it found is put back for the rest of the caller's transaction.
        opened = max(i for i, s in enumerate(sql[:setting]) if s == "BEGIN" or s.startswith("SAVEPOINT"))
        closed = next(i for i, s in enumerate(sql) if i > page and (s == "COMMIT" or s.startswith("RELEASE SAVEPOINT")))
        assert opened < setting < probe < page < closed
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] != "0"


def test_search_answers_the_same_whichever_plan_its_match_count_chooses(world, api_client, monkeypatch):
    """On PostgreSQL a search whose words are common among the newest messages walks them backwards
    (`… IS TRUE`, no index), a rare one reads its matches' ids from the GIN index first: the same page
    either way, visibility included (docs/benchmarks.md, "Search over years")."""
    from django.db import connection

    from chat import selectors

    for i in range(6):
        post(world["topic"], world["dn"], f"Cảnh báo lừa đảo số {i} qua thư điện tử")
    client = api_client(world["dn"])
    rare = client.get("/api/v1/search", {"q": "lua dao thu", "limit": 4}).json()
    monkeypatch.setattr(selectors, "SEARCH_COMMON_MATCHES", 2)  # now "common"
    common = client.get("/api/v1/search", {"q": "lua dao thu", "limit": 4}).json()
    assert [m["id"] for m in common["results"]] == [m["id"] for m in rare["results"]]
    assert [m["body"] for m in rare["results"]] == [f"Cảnh báo lừa đảo số {i} qua thư điện tử" for i in (5, 4, 3, 2)]
    if connection.vendor == "postgresql":
        sql = str(selectors.search_messages(world["dn"], "lua dao thu").query)
        assert "IS TRUE" in sql and "search_vector" in sql


def test_search_words_are_prefixes_whichever_form_the_query_takes(world, api_client, monkeypatch):
    """A search word matches every word it starts ("lua" finds "lửa", "lừa" and "luật"). On PostgreSQL
    the query lists the whole words of the index that start it (chat_search_word, kept by triggers when a
    message is written and when an edit changes its body), or keeps the prefix when more than
    SEARCH_PREFIX_WORDS do, or for a word of other letters: the same messages in every form."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import selectors
    from chat.services import edit_message

    fire = post(world["topic"], world["ht"], "Bản vá cho tường lửa")
    scam = post(world["topic"], world["ht"], "Cảnh báo lừa đảo жуков")
    law = post(world["topic"], world["ht"], "Luật an ninh mạng")
    edited = post(world["topic"], world["ht"], "bản nháp")
    edit_message(edited, by=world["ht"], body="Zyxwvu qua VPN")
    expected = {"lua": [law, scam, fire], "luat an": [law], "tuong lua": [fire], "zyxw": [edited],
                "ban": [fire], "vpn zyxwvu": [edited], "жук": [scam], "жук lua": [scam], "lu tuong": [fire],
                "tuong vpn": [], "qqqq": [], "lua qqqq": []}
    client = api_client(world["dn"])

    def found() -> dict[str, list[int]]:
        return {q: [m["id"] for m in client.get("/api/v1/search", {"q": q}).json()["results"]] for q in expected}

    assert found() == {q: [m.id for m in hits] for q, hits in expected.items()}
    if connection.vendor == "postgresql":
        def params(words: list[str]) -> list:
            match = selectors._search_match(words)
            assert match is not None
            return match[1]

        (query,) = params(["lua"])
        whole = query.strip("()").split(" | ")
        assert {"'lua'", "'luat'"} <= set(whole) and all(w.startswith("'lua") for w in whole)
        assert params(["zyxw"]) == ["('zyxwvu')"]  # the edit's new word
        # A word no message has: nothing can match, and no message is read to find that out.
        assert selectors._search_match(["qqqq"]) is None and selectors._search_match(["lua", "qqqq"]) is None
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/search", {"q": "lua qqqq"}).json()["results"] == []
        assert not [q["sql"] for q in captured.captured_queries if "chat_message" in q["sql"]]
        assert selectors._search_match(["жук", "zyxw"]) == (
            "search_vector @@ (%s::tsquery && to_tsquery('simple', %s))", ["('zyxwvu')", "жук:*"])
    monkeypatch.setattr(selectors, "SEARCH_PREFIX_WORDS", 1)  # "lua" starts two words: it stays a prefix
    assert found() == {q: [m.id for m in hits] for q, hits in expected.items()}
    if connection.vendor == "postgresql":
        match = selectors._search_match(["lua"])
        assert match is not None and match[1] == ["'lua':*"]


def test_topics_list_is_cursor_paginated_and_filters_by_kind(world, api_client):
    from chat.models import Topic

    Topic.objects.create(slug="ticket-1", name_vi="Yêu cầu 1", name_en="Request 1", kind=Topic.Kind.TICKET)
    client = api_client(world["admin"])
    first = client.get("/api/v1/topics", {"limit": 1}).json()
    second = client.get("/api/v1/topics", {"limit": 1, "cursor": first["next"]}).json()
    assert [t["slug"] for t in first["results"] + second["results"]] == [SLUG, "doi-ung-cuu"]
    assert second["next"] is None
    assert [t["slug"] for t in client.get("/api/v1/topics", {"kind": "ticket"}).json()["results"]] == ["ticket-1"]
    assert len(client.get("/api/v1/topics", {"kind": "all"}).json()["results"]) == 3
    assert client.get("/api/v1/topics", {"kind": "forum"}).status_code == 400


def _cursor(values) -> str:
    from hub.lib.api_support import encode_cursor

    return encode_cursor(values)


@pytest.mark.parametrize("path", [
    f"/api/v1/topics/{SLUG}/messages?after=99999999999999999999999",
    f"/api/v1/topics/{SLUG}/messages?before=99999999999999999999999",
    f"/api/v1/topics/{SLUG}/messages?cursor=" + _cursor(["after", 10**30]),
    f"/api/v1/topics/{SLUG}/messages?cursor=" + _cursor(["before", "x"]),
    f"/api/v1/topics/{SLUG}/messages?cursor=" + _cursor(["sideways", 1]),
    "/api/v1/search?q=x&cursor=" + _cursor(["x"]),
    "/api/v1/search?q=x&cursor=" + _cursor([10**30]),
    "/api/v1/search?q=x&cursor=" + _cursor([True]),
])
def test_out_of_range_ids_and_forged_cursors_are_400_not_server_errors(path, world, api_client):
    response = api_client(world["dn"]).get(path)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_out_of_range_message_ids_are_404(world, api_client):
    client = api_client(world["dn"])
    assert client.get(f"/api/v1/topics/{SLUG}/messages/99999999999999999999999").status_code == 404
    assert client.post(f"/api/v1/topics/{SLUG}/read", {"up_to": 10**30}, content_type=JSON).status_code == 400


# --- the wire form from history and search -------------------------------------------------------------

def test_history_and_search_show_each_message_as_it_was_broadcast_mentions_included(world, api_client):
    """History and search load only what the wire form shows and the page's mentions in one query;
    what they return is exactly what `message_out` makes of the fully loaded message."""
    from chat.serializers import message_out

    plain = post(world["topic"], world["dn"], "tin thường về sự cố")
    person = post(world["topic"], world["dn"], "@ht.engineer xem sự cố này")
    centre = post(world["topic"], world["ht"], "@DN và @ht.engineer: sự cố đã xử lý")
    deleted = post(world["topic"], world["ht"], "sự cố bị xoá")
    Message.objects.filter(pk=deleted.pk).update(deleted_at=deleted.created_at)
    expected = [message_out(Message.objects.get(pk=m.pk)) for m in (plain, person, centre, deleted)]
    assert expected[1]["mentions"] == {"users": ["ht.engineer"], "centres": []}
    assert expected[2]["mentions"] == {"users": ["ht.engineer"], "centres": ["DN"]}
    client = api_client(world["dn"])
    assert client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"] == expected
    found = client.get("/api/v1/search", {"q": "sự cố"}).json()["results"]
    # newest first; deleted messages are not searched; each hit is the message plus where and why
    assert [_message_of(hit) for hit in found] == list(reversed(expected[:3]))


def _history_and_queries(client) -> tuple[list[dict], int]:
    """The topic's latest history page, and how many SQL queries answering it cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        results = client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
    return results, len(queries)


def test_a_history_page_costs_the_same_queries_however_many_mentions_it_holds(world, api_client):
    client = api_client(world["dn"])
    post(world["topic"], world["ht"], "một")
    _history_and_queries(client)  # warm
    results, few = _history_and_queries(client)
    assert len(results) == 1
    for i in range(20):
        post(world["topic"], world["ht"], f"@dn.engineer @DN tin {i}" if i % 2 else f"tin {i}")
    results, many = _history_and_queries(client)
    assert len(results) == 21 and many == few


def test_a_history_page_costs_the_same_queries_however_many_people_wrote_it(world, api_client):
    """Authors are read once per page (hub.selectors.people_by_id), not joined per message."""
    client = api_client(world["dn"])
    post(world["topic"], world["ht"], "một")
    _history_and_queries(client)  # warm
    _, one_author = _history_and_queries(client)
    for person in ("dn", "hts", "admin", "ht"):
        post(world["topic"], world[person], f"tin của {person}")
    results, four_authors = _history_and_queries(client)
    assert [m["author"]["username"] for m in results] == [
        "ht.engineer", "dn.engineer", "ht.security", "admin", "ht.engineer"]
    assert [m["author"]["centre"] for m in results] == ["HT", "DN", "HT", None, "HT"]
    assert four_authors == one_author


def test_search_across_topics_names_each_results_own_topic(world, api_client):
    from chat.serializers import message_out

    here = post(world["topic"], world["hts"], "lỗ hổng máy chủ thư")
    there = post(world["secret"], world["hts"], "lỗ hổng máy chủ web")
    found = api_client(world["hts"]).get("/api/v1/search", {"q": "lỗ hổng"}).json()["results"]
    assert [(m["id"], m["topic"]) for m in found] == [(there.pk, "doi-ung-cuu"), (here.pk, SLUG)]
    assert [_message_of(hit) for hit in found] == [message_out(Message.objects.get(pk=m.pk)) for m in (there, here)]
    assert [hit["topic_name"] for hit in found] == [world["secret"].name_vi, world["topic"].name_vi]


def _message_of(hit: dict) -> dict:
    """A search hit without what search adds to the message (docs/chat.md, "Search")."""
    return {k: v for k, v in hit.items() if k not in {"highlight", "topic_name", "topic_kind"}}


@pytest.mark.parametrize("centres", [[], ["HT"], ["QB", "DN", "HT"]])
def test_a_topic_is_read_with_its_allowed_centres_as_the_orm_prefetches_them(make_topic, centres):
    """`get_topic` (compiled queries) gives the topic `prefetch_related("allowed_centres")` gives,
    and reading its centres afterwards costs no query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.models import Topic
    from chat.selectors import get_topic, topic_centre_codes
    from chat.serializers import topic_out
    from hub.models import Centre
    from tests.factories import CentreFactory

    for code in ("HT", "DN", "QB", "QT"):  # QT: a centre the topic does not admit
        CentreFactory.create(code=code)
    made = make_topic("kenh-rieng", allowed_roles=["engineer"], allowed_centres=centres)
    expected = Topic.objects.prefetch_related("allowed_centres").get(pk=made.pk)
    topic = get_topic("kenh-rieng")
    assert topic is not None
    fields = [f.attname for f in Topic._meta.concrete_fields]
    assert [getattr(topic, f) for f in fields] == [getattr(expected, f) for f in fields]
    with CaptureQueriesContext(connection) as queries:
        assert list(topic.allowed_centres.all()) == list(expected.allowed_centres.all())
        assert topic_centre_codes(topic) == set(centres)
        assert topic_out(topic) == topic_out(expected)
    assert len(queries) == 0
    assert get_topic("khong-co") is None
    # Narrowing the loaded relation asks the database about this topic's centres, not all centres.
    assert set(topic.allowed_centres.filter(code__in=["HT", "QT"]).values_list("code", flat=True)) == (
        {"HT"} & set(centres))
    topic.allowed_centres.set(Centre.objects.filter(code="QT"))
    assert set(Topic.objects.get(pk=made.pk).allowed_centres.values_list("code", flat=True)) == {"QT"}

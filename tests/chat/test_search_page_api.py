"""Search across every topic the person may read (docs/chat.md, "Search"): highlighted matches made
safe by the server, filters by topic, author, centre and dates, paging — and nothing from a topic,
conversation or message the person may not read, whatever the filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chat.models import ConversationMember, Message, Topic
from chat.services import post_message
from chat.text import highlight, search_words

pytestmark = pytest.mark.django_db

SLUG = "an-toan-thong-tin"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def world(make_user, make_topic):
    return {
        "topic": make_topic(SLUG, name_vi="Sự cố an toàn thông tin", name_en="Information security incidents"),
        "dev": make_topic("phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software development"),
        "secret": make_topic("doi-ung-cuu", allowed_roles=["security_officer"]),
        "dn": make_user("dn.engineer", centre="DN"),
        "ht": make_user("ht.engineer", centre="HT"),
        "hts": make_user("ht.security", centre="HT", role="security_officer"),
        "qb": make_user("qb.engineer", centre="QB"),
    }


def post(topic, author, body, **kw) -> Message:
    return post_message(topic, by=author, body=body, **kw)[0]


def search(api_client, person, **params):
    response = api_client(person).get("/api/v1/search", params)
    assert response.status_code == 200, response.json()
    return response.json()


def test_highlight_marks_matching_words_and_escapes_everything_else():
    words = search_words("an toan da")
    out = highlight("Cảnh báo An toàn ở Đà Nẵng <script>alert(1)</script> & <b>x</b>", words)
    assert out == ("Cảnh báo <mark>An</mark> <mark>toàn</mark> ở <mark>Đà</mark> Nẵng &lt;script&gt;alert(1)"
                   "&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;")
    long = "mở đầu " * 60 + "mã độc Emotet " + "kết thúc " * 60
    cut = highlight(long, search_words("emotet"))
    assert "<mark>Emotet</mark>" in cut and cut.startswith("…") and cut.endswith("…") and len(cut) < 300


def test_search_answers_exactly_the_documented_schema(world, api_client):
    """Search skips ninja's response validation (hub.lib.api_support.trusted_json) for speed; this is
    what keeps its answer and its OpenAPI schema the same thing."""
    from chat.api import SearchHitOut, SearchPage
    from chat.services import delete_message
    from hub.lib.api_support import PersonOut

    post(world["topic"], world["ht"], "Mã độc ở @dn.engineer và **DN**")
    post(world["dev"], world["dn"], "mã độc trong thư viện")
    delete_message(post(world["topic"], world["ht"], "mã độc sẽ bị xoá"), by=world["ht"])
    response = api_client(world["dn"]).get("/api/v1/search", {"q": "ma doc", "limit": 1})
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    SearchPage.model_validate(body)
    assert set(body) == set(SearchPage.model_fields) and body["next"]
    older = api_client(world["dn"]).get("/api/v1/search", {"q": "ma doc", "limit": 1, "cursor": body["next"]}).json()
    SearchPage.model_validate(older)
    for hit in body["results"] + older["results"]:
        assert set(hit) == set(SearchHitOut.model_fields)
        assert set(hit["author"]) == set(PersonOut.model_fields)
    assert [h["topic_kind"] for h in body["results"] + older["results"]] == ["channel", "channel"]


def test_hits_carry_safe_highlights_and_their_topics_names(world, api_client):
    hit = post(world["topic"], world["ht"], "Phát hiện **mã độc** <img src=x onerror=alert(1)> tại Hà Tĩnh")
    (found,) = search(api_client, world["dn"], q="ma doc")["results"]
    assert found["id"] == hit.id and found["topic"] == SLUG and found["topic_kind"] == "channel"
    assert found["topic_name"] == "Sự cố an toàn thông tin"
    assert found["highlight"] == ("Phát hiện **<mark>mã</mark> <mark>độc</mark>** &lt;img src=x onerror=alert(1)&gt; "
                                  "tại Hà Tĩnh")
    english = api_client(world["dn"]).get("/api/v1/search", {"q": "ma doc"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["results"][0]["topic_name"] == "Information security incidents"


def test_filters_by_topic_author_centre_and_dates(world, api_client):
    old = post(world["topic"], world["ht"], "vá lỗ hổng VPN đợt một")
    Message.objects.filter(pk=old.pk).update(created_at=datetime(2026, 11, 2, 23, 30, tzinfo=HCM))
    by_dn = post(world["topic"], world["dn"], "vá lỗ hổng VPN ở Đà Nẵng")
    in_dev = post(world["dev"], world["ht"], "vá lỗ hổng thư viện")
    newest = post(world["topic"], world["hts"], "vá lỗ hổng VPN xong")
    ids = lambda **p: [m["id"] for m in search(api_client, world["hts"], q="va lo hong", **p)["results"]]  # noqa: E731
    assert ids() == [newest.id, in_dev.id, by_dn.id, old.id]
    assert ids(topic="phat-trien-phan-mem") == [in_dev.id]
    assert ids(author="dn.engineer") == [by_dn.id]
    assert ids(author="khong-ai") == []
    assert ids(centre="HT") == [newest.id, in_dev.id, old.id]
    assert ids(centre="ht", topic=SLUG) == [newest.id, old.id]
    # Days are the centres' days (Asia/Ho_Chi_Minh), `until` included: 23:30 on 2 November is the 2nd.
    assert ids(since="2026-11-01", until="2026-11-02") == [old.id]
    assert ids(until="2026-11-01") == []
    today = datetime.now(HCM).date()
    assert ids(since=today.isoformat()) == [newest.id, in_dev.id, by_dn.id]
    assert ids(since=(today + timedelta(days=1)).isoformat()) == []
    bad = api_client(world["hts"]).get("/api/v1/search", {"q": "va", "since": "2026-11-05", "until": "2026-11-01"})
    assert bad.status_code == 400 and bad.json()["error"]["detail"].startswith("until")
    assert api_client(world["hts"]).get("/api/v1/search", {"q": "va", "since": "hôm qua"}).status_code == 400
    last_day = api_client(world["hts"]).get("/api/v1/search", {"q": "va", "until": "9999-12-31"})
    assert last_day.status_code == 400 and last_day.json()["error"]["detail"].startswith("until")


def test_paging_goes_through_every_hit_once(world, api_client):
    ids = [post(world["topic"], world["ht"], f"báo cáo tuần {i}").id for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"q": "bao cao", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = search(api_client, world["dn"], **params)
        seen += [m["id"] for m in page["results"]]
        cursor = page["next"]
        if not cursor:
            break
    assert seen == ids[::-1]


def test_what_the_person_may_not_read_never_appears_whatever_the_filters(world, api_client):
    """A restricted channel, a conversation of others, a message shared with other centres, a
    deleted message: none is found, counted or named, by any filter."""
    post(world["secret"], world["hts"], "chiến dịch Emotet nội bộ đội ứng cứu")
    others = Topic.objects.create(slug="dm-others", name_vi="HT, QB", name_en="HT, QB", kind=Topic.Kind.DIRECT,
                                  default_tlp="amber")
    for person in (world["ht"], world["qb"]):
        ConversationMember.objects.create(topic=others, user=person)
    post(others, world["ht"], "Emotet trong trò chuyện riêng")
    post(world["topic"], world["ht"], "Emotet chỉ cho QB", shared_with=["QB"])
    gone = post(world["topic"], world["ht"], "Emotet đã xoá")
    api_client(world["ht"]).delete(f"/api/v1/topics/{SLUG}/messages/{gone.id}")
    public = post(world["topic"], world["ht"], "Emotet công khai")
    for filters in ({}, {"author": "ht.engineer"}, {"centre": "HT"}, {"since": "2020-01-01"}, {"topic": SLUG}):
        found = search(api_client, world["dn"], q="emotet", **filters)["results"]
        assert [m["id"] for m in found] == [public.id], filters
    # A restricted channel is refused; someone else's conversation does not exist (CONTRACT.md).
    for slug, status in (("doi-ung-cuu", 403), ("dm-others", 404)):
        assert api_client(world["dn"]).get("/api/v1/search", {"q": "emotet", "topic": slug}).status_code == status
    # Those who may read them do find them (the test is not vacuous).
    assert len(search(api_client, world["qb"], q="emotet")["results"]) == 3
    assert len(search(api_client, world["hts"], q="emotet")["results"]) == 3  # HT is the author's centre
    # A member who leaves a conversation no longer finds it.
    api_client(world["qb"]).post("/api/v1/topics/dm-others/leave")
    assert [m["topic"] for m in search(api_client, world["qb"], q="emotet")["results"]] == [SLUG, SLUG]


def test_the_search_page_offers_only_topics_and_conversations_the_person_may_read(world, client):
    mine = Topic.objects.create(slug="dm-mine", name_vi="DN, HT", name_en="DN, HT", kind=Topic.Kind.DIRECT)
    others = Topic.objects.create(slug="dm-theirs", name_vi="HT, QB", name_en="HT, QB", kind=Topic.Kind.DIRECT)
    for topic, people in ((mine, ("dn", "ht")), (others, ("ht", "qb"))):
        for key in people:
            ConversationMember.objects.create(topic=topic, user=world[key])
    client.force_login(world["dn"])
    page = client.get("/search/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="an-toan-thong-tin"' in html and 'value="phat-trien-phan-mem"' in html
    assert 'value="dm-mine"' in html
    assert 'value="doi-ung-cuu"' not in html and 'value="dm-theirs"' not in html
    assert "Tìm tin nhắn" in html
